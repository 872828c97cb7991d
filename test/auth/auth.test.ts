import { AuthStore } from '../../runtime/tracking/auth';
import { describeWithTool } from '../helpers/tools';
import { ensureUiBuilt } from '../ui/build';
import { storeAvailability, storeKinds } from '../tracking/helpers';
import { ADMIN, as, call, createUser, startAuthServer, type AuthTestServer, type Credentials } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

const LEVELS = ['READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'] as const;
type Level = (typeof LEVELS)[number];
const ALLOWED: Record<Level, Record<'read' | 'update' | 'delete' | 'manage', boolean>> = {
  READ: { read: true, update: false, delete: false, manage: false },
  EDIT: { read: true, update: true, delete: false, manage: false },
  MANAGE: { read: true, update: true, delete: true, manage: true },
  NO_PERMISSIONS: { read: false, update: false, delete: false, manage: false },
};
const ARTIFACTS = '/api/2.0/mlflow-artifacts';

function expectDenied(res: { status: number; body: any }): void {
  expect(res.status).toBe(403);
  expect(res.body).toEqual({ error_code: 'PERMISSION_DENIED', message: 'Permission denied' });
}

/** 200 when allowed, MLflow's 403 otherwise. */
function expectDecision(res: { status: number; body: any }, allowed: boolean, what: string): void {
  if (allowed) {
    if (res.status !== 200) throw new Error(`${what}: expected 200, got ${res.status} ${JSON.stringify(res.body)}`);
  } else {
    if (res.status !== 403) throw new Error(`${what}: expected 403, got ${res.status} ${JSON.stringify(res.body)}`);
    expectDenied(res);
  }
}

for (const kind of storeKinds()) {
  describeWithTool(`basic-auth on the ${kind} store`, storeAvailability(kind), () => {
    let server: AuthTestServer;
    let alice: Credentials;
    let bob: Credentials;
    beforeAll(async () => {
      server = await startAuthServer(kind);
      alice = await createUser(server, 'alice');
      bob = await createUser(server, 'bob');
    });
    afterAll(async () => ifStarted(server)?.stop());

    describe('authentication', () => {
      test('no, wrong or malformed credentials get 401 with a Basic challenge', async () => {
        const attempts: [string, Record<string, string>][] = [
          ['none', {}],
          ['wrong password', { authorization: `Basic ${Buffer.from('alice:not-her-password').toString('base64')}` }],
          ['unknown user', { authorization: `Basic ${Buffer.from('mallory:whatever-password').toString('base64')}` }],
          ['not Basic', { authorization: 'Bearer abc.def' }],
          ['no colon', { authorization: `Basic ${Buffer.from('alice').toString('base64')}` }],
        ];
        for (const [what, headers] of attempts) {
          for (const path of [
            '/api/2.0/mlflow/experiments/search?max_results=1',
            '/ajax-api/2.0/mlflow/experiments/get?experiment_id=0',
            '/get-artifact?run_id=x&path=y',
            `${ARTIFACTS}/artifacts?path=0`,
            '/api/2.0/mlflow/no-such-endpoint',
          ]) {
            const res = await fetch(`${server.url}${path}`, { headers });
            expect([what, path, res.status]).toEqual([what, path, 401]);
            expect(res.headers.get('www-authenticate')).toBe('Basic realm="mlflow"');
            const body = (await res.json()) as { error_code: string; message: string };
            expect(body.error_code).toBe('UNAUTHENTICATED');
            expect(body.message).toMatch(/^You are not authenticated/);
          }
        }
      });

      test('an authenticated user on an unknown API path gets 404 ENDPOINT_NOT_FOUND, not 403', async () => {
        for (const who of [alice, ADMIN]) {
          const res = await call(server.url, who, 'GET', '/no-such-endpoint');
          expect([who.username, res.status, res.body.error_code]).toEqual([who.username, 404, 'ENDPOINT_NOT_FOUND']);
        }
      });

      test('/health, /version, /metrics stay open; the web UI page challenges, as MLflow protects `/`, and its assets stay open', async () => {
        for (const path of ['/health', '/version', '/metrics']) {
          const res = await fetch(`${server.url}${path}`);
          await res.arrayBuffer();
          expect([path, res.status]).toEqual([path, 200]);
        }
        ensureUiBuilt();
        for (const path of ['/', '/index.html']) {
          const page = await fetch(`${server.url}${path}`, { headers: { accept: 'text/html' } });
          expect([path, page.status, page.headers.get('www-authenticate')]).toEqual([path, 401, 'Basic realm="mlflow"']);
        }
        const page = await fetch(`${server.url}/`, {
          headers: { authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}` },
        });
        expect(page.status).toBe(200);
        const asset = /(?:src|href)="\.?\/?(assets\/[^"]+)"/.exec(await page.text())?.[1];
        expect(asset).toBeDefined();
        // Read the body: an unread ~100 kB asset keeps its connection busy and server.close() waiting.
        const assetRes = await fetch(`${server.url}/${asset}`);
        expect(assetRes.status).toBe(200);
        expect((await assetRes.arrayBuffer()).byteLength).toBeGreaterThan(0);
      });

      test('a spoofed internal sub-request header is refused', async () => {
        const res = await fetch(`${server.url}/api/2.0/mlflow/experiments/search`, { headers: { 'x-mlops-internal': 'guess' } });
        expect(res.status).toBe(403);
      });

      test('verified credentials are cached: repeated requests do not re-run the KDF', async () => {
        const carol = await createUser(server, 'carol');
        const asCarol = as(server, carol);
        expect((await asCarol('GET', '/experiments/get', { experiment_id: '0' })).status).toBe(200);
        const before = server.auth.state.verifier.kdfRuns;
        for (let i = 0; i < 5; i++) expect((await asCarol('GET', '/experiments/get', { experiment_id: '0' })).status).toBe(200);
        expect(server.auth.state.verifier.kdfRuns).toBe(before);
      });

      test('a password change stops the old password at once, also when made by another replica', async () => {
        const dave = await createUser(server, 'dave');
        const asDave = as(server, dave);
        expect((await asDave('GET', '/experiments/get', { experiment_id: '0' })).status).toBe(200);
        const renewed = { username: 'dave', password: 'dave-second-password' };
        expect(
          (await asDave('PATCH', '/users/update-password', { username: 'dave', password: renewed.password, current_password: dave.password })).status,
        ).toBe(200);
        expect((await asDave('GET', '/experiments/get', { experiment_id: '0' })).status).toBe(401);
        expect((await call(server.url, renewed, 'GET', '/experiments/get', { experiment_id: '0' })).status).toBe(200);
        // Another replica (its own store and caches on the same database) changes the password: this
        // one still holds the verified credential and the user row, and drops both within the
        // read-cache TTL (1 s by default) without anyone telling it.
        const otherReplica = new AuthStore(server.context.connection.db);
        await otherReplica.updatePassword('dave', 'dave-third-password');
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expect((await call(server.url, renewed, 'GET', '/experiments/get', { experiment_id: '0' })).status).toBe(401);
        // A deleted user is out at once too.
        const third = { username: 'dave', password: 'dave-third-password' };
        expect((await call(server.url, third, 'GET', '/experiments/get', { experiment_id: '0' })).status).toBe(200);
        expect((await call(server.url, ADMIN, 'DELETE', '/users/delete', { username: 'dave' })).status).toBe(200);
        expect((await call(server.url, third, 'GET', '/experiments/get', { experiment_id: '0' })).status).toBe(401);
      });
    });

    describe('users', () => {
      test('create: admin only, with validated inputs', async () => {
        const admin = as(server, ADMIN);
        expectDenied(await as(server, alice)('POST', '/users/create', { username: 'eve', password: 'eve-password-123' }));
        const created = await admin('POST', '/users/create', { username: 'erin', password: 'erin-password-1' });
        expect(created.status).toBe(200);
        expect(created.body).toEqual({
          user: { id: expect.any(Number), username: 'erin', is_admin: false, experiment_permissions: [], registered_model_permissions: [] },
        });
        const bad: [unknown, string, RegExp][] = [
          [{ username: 'erin', password: 'erin-password-1' }, 'RESOURCE_ALREADY_EXISTS', /User \(username=erin\) already exists/],
          [{ username: 'frank', password: 'short' }, 'INVALID_PARAMETER_VALUE', /Password must be at least 12 characters/],
          [{ username: 'frank' }, 'INVALID_PARAMETER_VALUE', /Missing value for required parameter 'password'/],
          [{ password: 'frank-password-1' }, 'INVALID_PARAMETER_VALUE', /Missing value for required parameter 'username'/],
          [{ username: 'fr:ank', password: 'frank-password-1' }, 'INVALID_PARAMETER_VALUE', /may not contain ':'/],
          [{ username: 42, password: 'frank-password-1' }, 'INVALID_PARAMETER_VALUE', /Username cannot be empty|Invalid/],
          [{ username: ['x'], password: 'frank-password-1' }, 'INVALID_PARAMETER_VALUE', /parameter 'username'/],
          ['not json', 'INVALID_PARAMETER_VALUE', /Malformed JSON/],
        ];
        for (const [payload, code, message] of bad) {
          const res = await admin('POST', '/users/create', payload);
          expect([payload, res.status, res.body.error_code]).toEqual([payload, 400, code]);
          expect(res.body.message).toMatch(message);
        }
      });

      test('get: yourself or an admin; never a password hash', async () => {
        const self = await as(server, alice)('GET', '/users/get', { username: 'alice' });
        expect(self.status).toBe(200);
        expect(self.body.user.username).toBe('alice');
        expect(JSON.stringify(self.body)).not.toMatch(/scrypt|password/);
        expectDenied(await as(server, alice)('GET', '/users/get', { username: 'bob' }));
        expect((await as(server, ADMIN)('GET', '/users/get', { username: 'bob' })).body.user.username).toBe('bob');
        const missing = await as(server, ADMIN)('GET', '/users/get', { username: 'nobody' });
        expect([missing.status, missing.body.error_code]).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
        expect((await as(server, ADMIN)('GET', '/users/get')).status).toBe(400);
        expect((await as(server, alice)('GET', '/users/current')).body).toEqual({
          user: { id: expect.any(Number), username: 'alice', is_admin: false },
          is_basic_auth: true,
        });
      });

      test('update-password: yourself with your current password, or an admin without it', async () => {
        const grace = await createUser(server, 'grace');
        expectDenied(await as(server, alice)('PATCH', '/users/update-password', { username: 'grace', password: 'hijacked-password' }));
        const selfService: [Record<string, unknown>, RegExp][] = [
          [{ password: 'grace-new-password' }, /^Current password is required when changing your own password\.$/],
          [{ password: 'grace-new-password', current_password: 'not-it-at-all' }, /^Current password does not match\.$/],
          [{ password: grace.password, current_password: grace.password }, /^New password must differ from the current password\.$/],
          [{ password: 'short', current_password: grace.password }, /^Password must be at least 12 characters\.$/],
        ];
        for (const [payload, message] of selfService) {
          const res = await as(server, grace)('PATCH', '/users/update-password', { username: 'grace', ...payload });
          expect([payload, res.status, res.body.error_code]).toEqual([payload, 400, 'INVALID_PARAMETER_VALUE']);
          expect(res.body.message).toMatch(message);
        }
        expect(
          (await as(server, grace)('PATCH', '/users/update-password', { username: 'grace', password: 'grace-new-password', current_password: grace.password }))
            .status,
        ).toBe(200);
        expect((await as(server, ADMIN)('PATCH', '/users/update-password', { username: 'grace', password: 'grace-admin-set-pw' })).status).toBe(200);
        expect((await call(server.url, { username: 'grace', password: 'grace-admin-set-pw' }, 'GET', '/users/current')).status).toBe(200);
        const missing = await as(server, ADMIN)('PATCH', '/users/update-password', { username: 'nobody', password: 'whatever-password' });
        expect([missing.status, missing.body.error_code]).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
      });

      test('update-admin and delete: admins only', async () => {
        const heidi = await createUser(server, 'heidi');
        expectDenied(await as(server, heidi)('PATCH', '/users/update-admin', { username: 'heidi', is_admin: true }));
        expect((await as(server, ADMIN)('PATCH', '/users/update-admin', { username: 'heidi', is_admin: 'maybe' })).status).toBe(400);
        expect((await as(server, ADMIN)('PATCH', '/users/update-admin', { username: 'heidi' })).status).toBe(400);
        expect((await as(server, ADMIN)('PATCH', '/users/update-admin', { username: 'heidi', is_admin: true })).status).toBe(200);
        // Now an admin: may create users and read anyone.
        expect((await as(server, heidi)('POST', '/users/create', { username: 'ivan', password: 'ivan-password-12' })).status).toBe(200);
        expect((await as(server, heidi)('PATCH', '/users/update-admin', { username: 'heidi', is_admin: false })).status).toBe(200);
        expectDenied(await as(server, heidi)('DELETE', '/users/delete', { username: 'ivan' }));
        const self = await as(server, ADMIN)('DELETE', '/users/delete', { username: 'admin' });
        expect([self.status, self.body.error_code, self.body.message]).toEqual([
          400,
          'BAD_REQUEST',
          'Users cannot delete their own account. Ask another admin to delete this user instead.',
        ]);
        expect((await as(server, ADMIN)('DELETE', '/users/delete', { username: 'ivan' })).status).toBe(200);
        const again = await as(server, ADMIN)('DELETE', '/users/delete', { username: 'ivan' });
        expect([again.status, again.body.error_code]).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
        expect((await call(server.url, { username: 'ivan', password: 'ivan-password-12' }, 'GET', '/users/current')).status).toBe(401);
      });
    });

    describe('experiment permissions', () => {
      test('the creator gets MANAGE; others get the default (READ)', async () => {
        const created = await as(server, alice)('POST', '/experiments/create', { name: `owned-${kind}` });
        expect(created.status).toBe(200);
        const id = created.body.experiment_id;
        const mine = await as(server, alice)('GET', '/experiments/permissions/get', { experiment_id: id, username: 'alice' });
        expect(mine.body).toEqual({ experiment_permission: { experiment_id: id, user_id: expect.any(Number), permission: 'MANAGE' } });
        expect((await as(server, alice)('GET', '/users/get', { username: 'alice' })).body.user.experiment_permissions).toContainEqual(
          expect.objectContaining({ experiment_id: id, permission: 'MANAGE' }),
        );
        expect((await as(server, bob)('GET', '/experiments/get', { experiment_id: id })).status).toBe(200);
        expectDenied(await as(server, bob)('POST', '/experiments/update', { experiment_id: id, new_name: 'stolen' }));
        expectDenied(await as(server, bob)('POST', '/experiments/delete', { experiment_id: id }));
        expectDenied(await as(server, bob)('GET', '/experiments/permissions/get', { experiment_id: id, username: 'alice' }));
        expect((await as(server, alice)('POST', '/experiments/update', { experiment_id: id, new_name: `owned-${kind}-renamed` })).status).toBe(200);
      });

      test('a grant changed through another replica applies within the read-cache TTL; through this one at once', async () => {
        const a = as(server, alice);
        const id = (await a('POST', '/experiments/create', { name: `replicas-${kind}` })).body.experiment_id;
        expect((await as(server, bob)('GET', '/experiments/get', { experiment_id: id })).status).toBe(200);
        expect((await a('POST', '/experiments/permissions/create', { experiment_id: id, username: 'bob', permission: 'NO_PERMISSIONS' })).status).toBe(200);
        expectDenied(await as(server, bob)('GET', '/experiments/get', { experiment_id: id }));
        await new AuthStore(server.context.connection.db).updateExperimentPermission(id, 'bob', 'READ');
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expect((await as(server, bob)('GET', '/experiments/get', { experiment_id: id })).status).toBe(200);
      });

      test('permission endpoints validate their inputs', async () => {
        const id = (await as(server, alice)('POST', '/experiments/create', { name: `perm-inputs-${kind}` })).body.experiment_id;
        const a = as(server, alice);
        const cases: [string, string, unknown, number, string][] = [
          ['POST', '/experiments/permissions/create', { experiment_id: id, username: 'bob', permission: 'OWNER' }, 400, 'INVALID_PARAMETER_VALUE'],
          ['POST', '/experiments/permissions/create', { experiment_id: id, username: 'nobody', permission: 'READ' }, 404, 'RESOURCE_DOES_NOT_EXIST'],
          ['POST', '/experiments/permissions/create', { experiment_id: id, permission: 'READ' }, 400, 'INVALID_PARAMETER_VALUE'],
          ['POST', '/experiments/permissions/create', { experiment_id: 'abc', username: 'bob', permission: 'READ' }, 400, 'INVALID_PARAMETER_VALUE'],
          ['GET', '/experiments/permissions/get', { experiment_id: id, username: 'bob' }, 404, 'RESOURCE_DOES_NOT_EXIST'],
          ['PATCH', '/experiments/permissions/update', { experiment_id: id, username: 'bob', permission: 'EDIT' }, 404, 'RESOURCE_DOES_NOT_EXIST'],
        ];
        for (const [method, route, payload, status, code] of cases) {
          const res = await a(method, route, payload);
          expect([route, payload, res.status, res.body.error_code]).toEqual([route, payload, status, code]);
        }
        expect((await a('POST', '/experiments/permissions/create', { experiment_id: id, username: 'bob', permission: 'OWNER' })).body.message).toBe(
          "Invalid permission 'OWNER'. Valid permissions are: ('READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS')",
        );
        const created = await a('POST', '/experiments/permissions/create', { experiment_id: id, username: 'bob', permission: 'READ' });
        expect(created.body).toEqual({ experiment_permission: { experiment_id: id, user_id: expect.any(Number), permission: 'READ' } });
        expect((await a('POST', '/experiments/permissions/create', { experiment_id: id, username: 'bob', permission: 'READ' })).body.error_code).toBe(
          'RESOURCE_ALREADY_EXISTS',
        );
        // `0${id}` names the same experiment: it must not be a second, separate grant.
        expect((await a('POST', '/experiments/permissions/create', { experiment_id: `0${id}`, username: 'bob', permission: 'MANAGE' })).body.error_code).toBe(
          'RESOURCE_ALREADY_EXISTS',
        );
        expect((await a('PATCH', '/experiments/permissions/update', { experiment_id: id, username: 'bob', permission: 'EDIT' })).status).toBe(200);
        expect((await a('GET', '/experiments/permissions/get', { experiment_id: id, username: 'bob' })).body.experiment_permission.permission).toBe('EDIT');
        expect((await a('DELETE', '/experiments/permissions/delete', { experiment_id: id, username: 'bob' })).status).toBe(200);
        expect((await a('DELETE', '/experiments/permissions/delete', { experiment_id: id, username: 'bob' })).status).toBe(404);
      });

      for (const level of LEVELS) {
        test(`${level}: read, update, delete and manage endpoints of experiments, runs and artifacts`, async () => {
          const a = as(server, alice);
          const b = as(server, bob);
          const allowed = ALLOWED[level];
          const expId = (await a('POST', '/experiments/create', { name: `matrix-${level}-${kind}` })).body.experiment_id;
          const run = (await a('POST', '/runs/create', { experiment_id: expId })).body.run.info;
          expect((await a('POST', '/runs/log-metric', { run_id: run.run_id, key: 'm', value: 1, timestamp: 1 })).status).toBe(200);
          const artifact = `${ARTIFACTS}/artifacts/${expId}/${run.run_id}/artifacts`;
          expect((await call(server.url, alice, 'PUT', '', 'hello', `${artifact}/a.txt`)).status).toBe(200);
          expect((await call(server.url, alice, 'PUT', '', 'bye', `${artifact}/b.txt`)).status).toBe(200);
          expect((await a('POST', '/experiments/permissions/create', { experiment_id: expId, username: 'bob', permission: level })).status).toBe(200);

          // read
          expectDecision(await b('GET', '/experiments/get', { experiment_id: expId }), allowed.read, 'experiments/get');
          expectDecision(await b('GET', '/experiments/get-by-name', { experiment_name: `matrix-${level}-${kind}` }), allowed.read, 'experiments/get-by-name');
          expectDecision(await b('GET', '/runs/get', { run_id: run.run_id }), allowed.read, 'runs/get');
          expectDecision(await b('GET', '/metrics/get-history', { run_id: run.run_id, metric_key: 'm' }), allowed.read, 'metrics/get-history');
          expectDecision(await b('GET', '/artifacts/list', { run_id: run.run_id }), allowed.read, 'artifacts/list');
          expectDecision(await call(server.url, bob, 'GET', '', undefined, `${artifact}/a.txt`), allowed.read, 'mlflow-artifacts download');
          expectDecision(
            await call(server.url, bob, 'GET', '', { path: `${expId}/${run.run_id}/artifacts` }, `${ARTIFACTS}/artifacts`),
            allowed.read,
            'mlflow-artifacts list',
          );
          expectDecision(await call(server.url, bob, 'GET', '', { run_id: run.run_id, path: 'a.txt' }, '/get-artifact'), allowed.read, '/get-artifact');
          // update
          expectDecision(
            await b('POST', '/experiments/set-experiment-tag', { experiment_id: expId, key: 'k', value: 'v' }),
            allowed.update,
            'set-experiment-tag',
          );
          expectDecision(await b('POST', '/runs/create', { experiment_id: expId }), allowed.update, 'runs/create');
          expectDecision(
            await b('POST', '/runs/log-batch', { run_id: run.run_id, metrics: [{ key: 'x', value: 1, timestamp: 1, step: 0 }] }),
            allowed.update,
            'runs/log-batch',
          );
          expectDecision(await b('POST', '/runs/set-tag', { run_uuid: run.run_id, key: 't', value: 'v' }), allowed.update, 'runs/set-tag (run_uuid)');
          expectDecision(await call(server.url, bob, 'PUT', '', 'upload', `${artifact}/bob.txt`), allowed.update, 'mlflow-artifacts upload');
          // delete
          expectDecision(await b('POST', '/runs/delete', { run_id: run.run_id }), allowed.delete, 'runs/delete');
          expectDecision(await b('POST', '/runs/restore', { run_id: run.run_id }), allowed.delete, 'runs/restore');
          expectDecision(await b('POST', '/experiments/delete', { experiment_id: expId }), allowed.delete, 'experiments/delete');
          expectDecision(await b('POST', '/experiments/restore', { experiment_id: expId }), allowed.delete, 'experiments/restore');
          // manage
          expectDecision(await call(server.url, bob, 'DELETE', '', undefined, `${artifact}/b.txt`), allowed.manage, 'mlflow-artifacts delete');
          expectDecision(await b('GET', '/experiments/permissions/get', { experiment_id: expId, username: 'bob' }), allowed.manage, 'permissions/get');
          expectDecision(
            await b('PATCH', '/experiments/permissions/update', { experiment_id: expId, username: 'alice', permission: 'MANAGE' }),
            allowed.manage,
            'permissions/update',
          );
          // The id is checked as the store reads it: a leading zero does not dodge an explicit grant.
          expectDecision(await b('GET', '/experiments/get', { experiment_id: `00${expId}` }), allowed.read, 'experiments/get 00id');
        });
      }

      test('missing or unknown targets answer like the handlers: 400 and 404, not a guess', async () => {
        const b = as(server, bob);
        expect((await b('GET', '/runs/get', {})).status).toBe(400);
        expect((await b('GET', '/runs/get', { run_id: 'f'.repeat(32) })).status).toBe(404);
        expect((await b('GET', '/experiments/get-by-name', { experiment_name: 'no-such-experiment' })).status).toBe(404);
        expect((await b('POST', '/runs/log-batch', { run_id: ['a'] })).status).toBe(400);
      });
    });

    describe('search results are filtered by permission', () => {
      test('experiments/search pages only readable experiments, refilling short pages', async () => {
        const a = as(server, alice);
        const names: string[] = [];
        for (let i = 0; i < 7; i++) {
          const name = `visible-${kind}-${i}`;
          names.push(name);
          const id = (await a('POST', '/experiments/create', { name })).body.experiment_id;
          if (i % 2 === 0)
            expect((await a('POST', '/experiments/permissions/create', { experiment_id: id, username: 'bob', permission: 'NO_PERMISSIONS' })).status).toBe(200);
        }
        const readable = names.filter((_, i) => i % 2 === 1).sort();
        for (const maxResults of [1, 2, 1000]) {
          const seen: string[] = [];
          let token: string | undefined;
          do {
            const page = await as(server, bob)('POST', '/experiments/search', {
              filter: `name LIKE 'visible-${kind}-%'`,
              max_results: maxResults,
              ...(token ? { page_token: token } : {}),
            });
            expect(page.status).toBe(200);
            const got = (page.body.experiments ?? []).map((e: any) => e.name);
            expect(got.length).toBeLessThanOrEqual(maxResults);
            seen.push(...got);
            token = page.body.next_page_token;
          } while (token);
          expect([maxResults, seen.sort()]).toEqual([maxResults, readable]);
        }
        // GET works the same; admins see everything.
        const viaGet = await as(server, bob)('GET', '/experiments/search', { filter: `name LIKE 'visible-${kind}-%'`, max_results: 2 });
        expect(viaGet.body.experiments).toHaveLength(2);
        const admin = await as(server, ADMIN)('POST', '/experiments/search', { filter: `name LIKE 'visible-${kind}-%'`, max_results: 100 });
        expect(admin.body.experiments).toHaveLength(7);
      });

      test('runs/search narrows experiment_ids to readable experiments', async () => {
        const a = as(server, alice);
        const open = (await a('POST', '/experiments/create', { name: `runs-open-${kind}` })).body.experiment_id;
        const closed = (await a('POST', '/experiments/create', { name: `runs-closed-${kind}` })).body.experiment_id;
        await a('POST', '/experiments/permissions/create', { experiment_id: closed, username: 'bob', permission: 'NO_PERMISSIONS' });
        const openRun = (await a('POST', '/runs/create', { experiment_id: open })).body.run.info.run_id;
        await a('POST', '/runs/create', { experiment_id: closed });
        const both = await as(server, bob)('POST', '/runs/search', { experiment_ids: [open, closed] });
        expect(both.body.runs.map((r: any) => r.info.run_id)).toEqual([openRun]);
        expect((await as(server, bob)('POST', '/runs/search', { experiment_ids: [closed] })).body).toEqual({ runs: [] });
        expect((await a('POST', '/runs/search', { experiment_ids: [open, closed] })).body.runs).toHaveLength(2);
      });
    });

    describe('registered model permissions', () => {
      const registry = async (who: Credentials, method: string, route: string, payload?: unknown) => call(server.url, who, method, route, payload);
      // Versions come from a run in the Default experiment (which everyone may read).
      let source: { source: string; run_id: string };
      beforeAll(async () => {
        const run = (await call(server.url, ADMIN, 'POST', '/runs/create', { experiment_id: '0' })).body.run.info;
        source = { source: `${run.artifact_uri}/model`, run_id: run.run_id };
      });

      test('the creator gets MANAGE, kept across a rename and dropped with the model', async () => {
        const created = await registry(alice, 'POST', '/registered-models/create', { name: `rm-owned-${kind}` });
        expect(created.status).toBe(200);
        const perm = await registry(alice, 'GET', '/registered-models/permissions/get', { name: `rm-owned-${kind}`, username: 'alice' });
        expect(perm.body).toEqual({ registered_model_permission: { name: `rm-owned-${kind}`, user_id: expect.any(Number), permission: 'MANAGE' } });
        expectDenied(await registry(bob, 'PATCH', '/registered-models/update', { name: `rm-owned-${kind}`, description: 'x' }));
        expect((await registry(alice, 'POST', '/registered-models/rename', { name: `rm-owned-${kind}`, new_name: `rm-renamed-${kind}` })).status).toBe(200);
        expect((await registry(alice, 'PATCH', '/registered-models/update', { name: `rm-renamed-${kind}`, description: 'still mine' })).status).toBe(200);
        expect((await registry(alice, 'DELETE', '/registered-models/delete', { name: `rm-renamed-${kind}` })).status).toBe(200);
        expect(
          (await registry(alice, 'GET', '/users/get', { username: 'alice' })).body.user.registered_model_permissions.map((p: any) => p.name),
        ).not.toContain(`rm-renamed-${kind}`);
        // A new model under the old name starts clean: bob creates it and owns it.
        expect((await registry(bob, 'POST', '/registered-models/create', { name: `rm-renamed-${kind}` })).status).toBe(200);
        expectDenied(await registry(alice, 'DELETE', '/registered-models/delete', { name: `rm-renamed-${kind}` }));
      });

      for (const level of LEVELS) {
        test(`${level}: read, update, delete and manage endpoints of registered models and versions`, async () => {
          const name = `rm-matrix-${level}-${kind}`;
          const allowed = ALLOWED[level];
          expect((await registry(alice, 'POST', '/registered-models/create', { name })).status).toBe(200);
          const version = await registry(alice, 'POST', '/model-versions/create', { name, ...source });
          expect(version.status).toBe(200);
          const v = version.body.model_version.version;
          expect((await registry(alice, 'POST', '/model-versions/set-tag', { name, version: v, key: 'k', value: 'v' })).status).toBe(200);
          expect((await registry(alice, 'POST', '/registered-models/alias', { name, alias: 'champion', version: v })).status).toBe(200);
          expect((await registry(alice, 'POST', '/registered-models/permissions/create', { name, username: 'bob', permission: level })).status).toBe(200);

          expectDecision(await registry(bob, 'GET', '/registered-models/get', { name }), allowed.read, 'registered-models/get');
          expectDecision(await registry(bob, 'GET', '/model-versions/get', { name, version: v }), allowed.read, 'model-versions/get');
          expectDecision(await registry(bob, 'GET', '/registered-models/alias', { name, alias: 'champion' }), allowed.read, 'alias get');
          expectDecision(await registry(bob, 'POST', '/registered-models/get-latest-versions', { name }), allowed.read, 'get-latest-versions');
          expectDecision(await registry(bob, 'GET', '/model-versions/get-download-uri', { name, version: v }), allowed.read, 'get-download-uri');
          expectDecision(
            await registry(bob, 'PATCH', '/registered-models/update', { name, description: 'bob was here' }),
            allowed.update,
            'registered-models/update',
          );
          expectDecision(
            await registry(bob, 'POST', '/model-versions/transition-stage', { name, version: v, stage: 'Staging', archive_existing_versions: false }),
            allowed.update,
            'transition-stage',
          );
          expectDecision(await registry(bob, 'POST', '/model-versions/create', { name, ...source }), allowed.update, 'model-versions/create');
          expectDecision(
            await registry(bob, 'DELETE', '/model-versions/delete-tag', { name, version: v, key: 'k' }),
            allowed.delete,
            'model-versions/delete-tag',
          );
          expectDecision(await registry(bob, 'DELETE', '/registered-models/alias', { name, alias: 'champion' }), allowed.delete, 'alias delete');
          expectDecision(await registry(bob, 'GET', '/registered-models/permissions/get', { name, username: 'bob' }), allowed.manage, 'permissions/get');
          // A DELETE naming one model in the body and another in the query is checked on both.
          const other = `rm-other-${level}-${kind}`;
          expect((await registry(alice, 'POST', '/registered-models/create', { name: other })).status).toBe(200);
          await registry(alice, 'POST', '/registered-models/permissions/create', { name: other, username: 'bob', permission: 'NO_PERMISSIONS' });
          const mixed = await fetch(`${server.url}/api/2.0/mlflow/registered-models/delete?name=${encodeURIComponent(other)}`, {
            method: 'DELETE',
            headers: { authorization: `Basic ${Buffer.from(`${bob.username}:${bob.password}`).toString('base64')}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name }),
          });
          expect(mixed.status).toBe(403);
          expectDecision(await registry(bob, 'DELETE', '/registered-models/delete', { name }), allowed.delete, 'registered-models/delete');
        });
      }

      test('registered-models/search and model-versions/search return only readable models', async () => {
        const names: string[] = [];
        for (let i = 0; i < 5; i++) {
          const name = `rm-search-${kind}-${i}`;
          names.push(name);
          await registry(alice, 'POST', '/registered-models/create', { name });
          await registry(alice, 'POST', '/model-versions/create', { name, ...source });
          if (i % 2 === 0) await registry(alice, 'POST', '/registered-models/permissions/create', { name, username: 'bob', permission: 'NO_PERMISSIONS' });
        }
        const readable = names.filter((_, i) => i % 2 === 1);
        const seen: string[] = [];
        let token: string | undefined;
        do {
          const page = await registry(bob, 'GET', '/registered-models/search', {
            filter: `name LIKE 'rm-search-${kind}-%'`,
            max_results: 1,
            ...(token ? { page_token: token } : {}),
          });
          expect(page.status).toBe(200);
          seen.push(...(page.body.registered_models ?? []).map((m: any) => m.name));
          token = page.body.next_page_token;
        } while (token);
        expect(seen.sort()).toEqual(readable);
        const versions = await registry(bob, 'GET', '/model-versions/search', { filter: `name LIKE 'rm-search-${kind}-%'` });
        expect((versions.body.model_versions ?? []).map((v: any) => v.name).sort()).toEqual(readable);
        const all = await registry(ADMIN, 'GET', '/model-versions/search', { filter: `name LIKE 'rm-search-${kind}-%'` });
        expect(all.body.model_versions).toHaveLength(5);
      });
    });
  });
}

describe('basic-auth with default permission NO_PERMISSIONS', () => {
  let server: AuthTestServer;
  beforeAll(async () => {
    server = await startAuthServer('sqlite', { defaultPermission: 'NO_PERMISSIONS' });
  });
  afterAll(async () => ifStarted(server)?.stop());

  test('users see only what they created or were granted', async () => {
    const alice = await createUser(server, 'alice');
    const bob = await createUser(server, 'bob');
    const id = (await call(server.url, alice, 'POST', '/experiments/create', { name: 'private' })).body.experiment_id;
    expect((await call(server.url, alice, 'GET', '/experiments/get', { experiment_id: id })).status).toBe(200);
    expectDenied(await call(server.url, bob, 'GET', '/experiments/get', { experiment_id: id }));
    expectDenied(await call(server.url, bob, 'GET', '/experiments/get', { experiment_id: '0' }));
    const search = await call(server.url, bob, 'POST', '/experiments/search', { max_results: 10 });
    expect(search.body.experiments ?? []).toEqual([]);
    expect((await call(server.url, alice, 'POST', '/experiments/search', { max_results: 10 })).body.experiments.map((e: any) => e.name)).toEqual(['private']);
    // Artifact paths outside any experiment directory fall back to the default permission.
    expectDenied(await call(server.url, bob, 'GET', '', { path: '' }, '/api/2.0/mlflow-artifacts/artifacts'));
    await call(server.url, alice, 'POST', '/experiments/permissions/create', { experiment_id: id, username: 'bob', permission: 'READ' });
    expect((await call(server.url, bob, 'GET', '/experiments/get', { experiment_id: id })).status).toBe(200);
  });
});
