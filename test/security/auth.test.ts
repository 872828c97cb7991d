import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { AuthStore, basicAuth, hashPassword } from '../../runtime/tracking/auth';
import { openStore } from '../../runtime/tracking/db/connection';
import { migrateToLatest } from '../../runtime/tracking/db/migrate';
import { migrations } from '../../runtime/tracking/db/migrations';
import { ADMIN, as, call, createUser, startAuthServer, type AuthTestServer, type Credentials } from '../auth/helpers';
import { mlopsBin, runMlops } from '../helpers/cli';
import { createTestDatabase } from '../helpers/postgres';
import { describeWithTool } from '../helpers/tools';
import { startTestServer, storeAvailability, storeKinds, tmpDir, type StoreKind } from '../tracking/helpers';
import { loginFrom, metricSample, metricsText, type RawResponse } from './auth-helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * Attacker replays of issue 14's findings 4, 6 and 7 against a real tracking server with
 * `--app-name basic-auth` (wired as the CLI wires it), on SQLite and PostgreSQL.
 */

function expectDenied(res: { status: number; body: any }, what: string): void {
  if (res.status !== 403) throw new Error(`${what}: expected 403, got ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.body).toEqual({ error_code: 'PERMISSION_DENIED', message: 'Permission denied' });
}

function expectOk(res: { status: number; body: any }, what: string): void {
  if (res.status !== 200) throw new Error(`${what}: expected 200, got ${res.status} ${JSON.stringify(res.body)}`);
}

/** The limits a server starts with when no flag is given (README, "Users and permissions"). */
const DEFAULT_KDF_CONCURRENCY = 2;
const DEFAULT_FAILURES_PER_ADDRESS = 30;
const DEFAULT_FAILURES_PER_USER = 10;
/**
 * The default counts over an hour instead of a minute / five minutes: a limit refills one attempt
 * per window/count (2 s per address by default), which on a slow machine would add attempts to a
 * sequential test and make the exact counts below depend on timing.
 */
const EXACT_COUNTS = { loginLimits: { addressWindowMs: 3_600_000, userWindowMs: 3_600_000 } };

function expectThrottled(res: RawResponse, what: string): void {
  if (res.status !== 429) throw new Error(`${what}: expected 429, got ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.body).toEqual({ error_code: 'REQUEST_LIMIT_EXCEEDED', message: expect.stringMatching(/^Too many failed logins/) });
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

for (const kind of storeKinds()) {
  describeWithTool(`security replay: basic-auth on the ${kind} store`, storeAvailability(kind), () => {
    describe('finding 4: references to runs and logged models of other users', () => {
      let server: AuthTestServer;
      let alice: Credentials;
      let mallory: Credentials;
      let carol: Credentials;
      // Alice's private things (Mallory has NO_PERMISSIONS on her experiment and model).
      const victim = { experiment: '', run: '', runArtifacts: '', model: '', modelArtifacts: '', registered: '' };
      // Carol's experiment stays at the default READ for Mallory.
      const shared = { experiment: '', run: '', model: '', registered: '' };
      // Mallory's own.
      const own = { experiment: '', run: '', registered: '' };

      const newRun = async (who: Credentials, experiment: string) =>
        (await call(server.url, who, 'POST', '/runs/create', { experiment_id: experiment })).body.run.info;
      const newLoggedModel = async (who: Credentials, experiment: string) =>
        (await call(server.url, who, 'POST', '/logged-models', { experiment_id: experiment, name: 'model' })).body.model.info;

      beforeAll(async () => {
        server = await startAuthServer(kind);
        alice = await createUser(server, 'alice');
        mallory = await createUser(server, 'mallory');
        carol = await createUser(server, 'carol');
        const a = as(server, alice);
        victim.experiment = (await a('POST', '/experiments/create', { name: 'alice-private' })).body.experiment_id;
        await a('POST', '/experiments/permissions/create', { experiment_id: victim.experiment, username: 'mallory', permission: 'NO_PERMISSIONS' });
        const run = await newRun(alice, victim.experiment);
        victim.run = run.run_id;
        victim.runArtifacts = run.artifact_uri;
        const model = await newLoggedModel(alice, victim.experiment);
        victim.model = model.model_id;
        victim.modelArtifacts = model.artifact_uri;
        victim.registered = 'alice-model';
        expectOk(await a('POST', '/registered-models/create', { name: victim.registered }), 'alice registers');
        expectOk(
          await a('POST', '/model-versions/create', { name: victim.registered, source: `runs:/${victim.run}/model`, run_id: victim.run }),
          'alice version',
        );
        await a('POST', '/registered-models/permissions/create', { name: victim.registered, username: 'mallory', permission: 'NO_PERMISSIONS' });

        const c = as(server, carol);
        shared.experiment = (await c('POST', '/experiments/create', { name: 'carol-shared' })).body.experiment_id;
        shared.run = (await newRun(carol, shared.experiment)).run_id;
        shared.model = (await newLoggedModel(carol, shared.experiment)).model_id;
        shared.registered = 'carol-model';
        expectOk(await c('POST', '/registered-models/create', { name: shared.registered }), 'carol registers');
        expectOk(
          await c('POST', '/model-versions/create', { name: shared.registered, source: `runs:/${shared.run}/model`, run_id: shared.run }),
          'carol version',
        );

        const m = as(server, mallory);
        own.experiment = (await m('POST', '/experiments/create', { name: 'mallory-own' })).body.experiment_id;
        own.run = (await newRun(mallory, own.experiment)).run_id;
        own.registered = 'mallory-model';
        expectOk(await m('POST', '/registered-models/create', { name: own.registered }), 'mallory registers');
      });
      afterAll(async () => ifStarted(server)?.stop());

      test("a user cannot register, link or derive from a run or logged model it cannot read; nothing of the victim's changes", async () => {
        const m = as(server, mallory);
        const now = Date.now();
        const attacks: [string, string, unknown][] = [
          ['version from runs:/ + run_id', '/model-versions/create', { name: own.registered, source: `runs:/${victim.run}/model`, run_id: victim.run }],
          [
            'version from the run’s mlflow-artifacts: path',
            '/model-versions/create',
            { name: own.registered, source: `${victim.runArtifacts}/model`, run_id: victim.run },
          ],
          ['version from models:/m-<id>', '/model-versions/create', { name: own.registered, source: `models:/${victim.model}`, model_id: victim.model }],
          [
            'version from the logged model’s artifact path',
            '/model-versions/create',
            { name: own.registered, source: victim.modelArtifacts, model_id: victim.model },
          ],
          ['version copied from models:/<name>/<version>', '/model-versions/create', { name: own.registered, source: `models:/${victim.registered}/1` }],
          ['version copied from models:/<name>/latest', '/model-versions/create', { name: own.registered, source: `models:/${victim.registered}/latest` }],
          ['logged model as a run output', '/runs/outputs', { run_id: own.run, models: [{ model_id: victim.model, step: 0 }] }],
          ['logged model as a run input', '/runs/log-inputs', { run_id: own.run, models: [{ model_id: victim.model }] }],
          ['logged model with the victim’s source_run_id', '/logged-models', { experiment_id: own.experiment, name: 'stolen', source_run_id: victim.run }],
          [
            'metric written onto the victim’s logged model',
            '/runs/log-metric',
            { run_id: own.run, key: 'acc', value: 0.01, timestamp: now, model_id: victim.model },
          ],
          [
            'log-batch metric onto the victim’s logged model',
            '/runs/log-batch',
            { run_id: own.run, metrics: [{ key: 'acc', value: 0.01, timestamp: now, step: 0, model_id: victim.model }] },
          ],
          // Refused by the store's containment check already (the path is not under Mallory's run); now refused as a reference first.
          [
            'mlflow-artifacts: path into the victim’s experiment under one’s own run',
            '/model-versions/create',
            { name: own.registered, source: `mlflow-artifacts:/${victim.experiment}/${victim.run}/artifacts/model`, run_id: own.run },
          ],
        ];
        const answers: [string, number, string][] = [];
        for (const [what, route, body] of attacks) {
          const res = await m('POST', route, body);
          answers.push([what, res.status, res.body?.error_code]);
        }
        expect(answers.filter(([, status, code]) => status !== 403 || code !== 'PERMISSION_DENIED')).toEqual([]);

        // Nothing reached the victim's objects or Mallory's registry.
        const admin = as(server, ADMIN);
        const model = (await admin('GET', `/logged-models/${victim.model}`)).body.model;
        expect(model.data.metrics).toEqual([]);
        expect(model.info.registrations).toEqual([]);
        const ownRun = (await admin('GET', '/runs/get', { run_id: own.run })).body.run;
        expect(ownRun.inputs?.model_inputs ?? []).toEqual([]);
        expect(ownRun.outputs?.model_outputs ?? []).toEqual([]);
        expect((await admin('GET', '/registered-models/get', { name: own.registered })).body.registered_model.latest_versions ?? []).toEqual([]);
        const search = await admin('POST', '/logged-models/search', { experiment_ids: [own.experiment] });
        expect(search.body.models ?? []).toEqual([]);
      });

      test('references to readable runs and logged models work; writing onto a logged model needs EDIT on it', async () => {
        const m = as(server, mallory);
        const now = Date.now();
        expectOk(
          await m('POST', '/model-versions/create', { name: own.registered, source: `runs:/${shared.run}/model`, run_id: shared.run }),
          'version from a readable run',
        );
        expectOk(
          await m('POST', '/model-versions/create', { name: own.registered, source: `models:/${shared.model}`, model_id: shared.model }),
          'version from a readable logged model',
        );
        expectOk(
          await m('POST', '/model-versions/create', { name: own.registered, source: `models:/${shared.registered}/1` }),
          'copy of a readable registered model',
        );
        expectOk(await m('POST', '/runs/outputs', { run_id: own.run, models: [{ model_id: shared.model, step: 1 }] }), 'readable model as output');
        expectOk(await m('POST', '/runs/log-inputs', { run_id: own.run, models: [{ model_id: shared.model }] }), 'readable model as input');
        expectOk(
          await m('POST', '/logged-models', { experiment_id: own.experiment, name: 'derived', source_run_id: shared.run }),
          'logged model from a readable run',
        );
        // READ does not let Mallory write metrics onto Carol's model (MLflow requires update on the model too).
        const metric = { run_id: own.run, key: 'acc', value: 0.9, timestamp: now, model_id: shared.model };
        expectDenied(await m('POST', '/runs/log-metric', metric), 'metric onto a model with READ only');
        await call(server.url, carol, 'POST', '/experiments/permissions/create', { experiment_id: shared.experiment, username: 'mallory', permission: 'EDIT' });
        expectOk(await m('POST', '/runs/log-metric', metric), 'metric onto a model with EDIT');
        // A reference that does not exist is refused like an unreadable one (no oracle for ids), as MLflow does.
        expectDenied(await m('POST', '/runs/outputs', { run_id: own.run, models: [{ model_id: `m-${'0'.repeat(32)}`, step: 0 }] }), 'unknown logged model');
        expectDenied(
          await m('POST', '/model-versions/create', { name: own.registered, source: `runs:/${'f'.repeat(32)}/model`, run_id: 'f'.repeat(32) }),
          'unknown run',
        );
        // Admins pass every check.
        expectOk(
          await call(server.url, ADMIN, 'POST', '/model-versions/create', { name: own.registered, source: `runs:/${victim.run}/model`, run_id: victim.run }),
          'admin',
        );
      });
      test('a version whose source is a path inside the artifact store itself needs READ on the experiment it names', async () => {
        // s3:// roots are never contacted here: registering records the source, nothing is read.
        for (const layout of [{ artifactsDestination: 's3://artifacts/proxied' }, { serveArtifacts: false, defaultArtifactRoot: 's3://artifacts/direct' }]) {
          const root = layout.artifactsDestination ?? layout.defaultArtifactRoot;
          const auth = basicAuth({ adminUsername: ADMIN.username, adminPassword: ADMIN.password });
          const store = await startTestServer(kind, { beforeRoutes: auth.beforeRoutes, plugins: auth.plugins, ...layout });
          try {
            const owner = await createUser(store, 'owner');
            const thief = await createUser(store, 'thief');
            const o = as(store, owner);
            const t = as(store, thief);
            const secret = (await o('POST', '/experiments/create', { name: 'secret' })).body.experiment_id;
            await o('POST', '/experiments/permissions/create', { experiment_id: secret, username: 'thief', permission: 'NO_PERMISSIONS' });
            const secretRun = (await o('POST', '/runs/create', { experiment_id: secret })).body.run.info.run_id;
            const mine = (await t('POST', '/experiments/create', { name: 'mine' })).body.experiment_id;
            const myRun = (await t('POST', '/runs/create', { experiment_id: mine })).body.run.info.run_id;
            await t('POST', '/registered-models/create', { name: 'loot' });
            const percent = [...secret].map((d) => `%${d.charCodeAt(0).toString(16)}`).join('');
            for (const source of [
              `${root}/${secret}/${secretRun}/artifacts/model`,
              `${root}/${percent}/${secretRun}/artifacts/model`,
              `${root.replace(/^s3:/, 'S3:')}/${secret}/x`,
            ]) {
              expectDenied(await t('POST', '/model-versions/create', { name: 'loot', source, run_id: myRun }), `${JSON.stringify(layout)} ${source}`);
            }
            expectOk(
              await t('POST', '/model-versions/create', { name: 'loot', source: `${root}/${mine}/${myRun}/artifacts/model`, run_id: myRun }),
              'own experiment',
            );
          } finally {
            await store.stop();
          }
        }
      });
    });

    describe('finding 7: look-alike user names', () => {
      let server: AuthTestServer;
      beforeAll(async () => {
        server = await startAuthServer(kind);
      });
      afterAll(async () => ifStarted(server)?.stop());
      const create = (username: string) => call(server.url, ADMIN, 'POST', '/users/create', { username, password: 'a-long-password-0001' });

      test('names with surrounding or unusual whitespace, invisible, format or control characters, NFKC variants or mixed scripts are refused', async () => {
        const bad: [string, string][] = [
          ['trailing space', 'bob '],
          ['leading space', ' bob'],
          ['two spaces', 'bob  smith'],
          ['tab', 'bob\tsmith'],
          ['no-break space', 'bob\u00a0smith'],
          ['ideographic space', 'bob\u3000smith'],
          ['line separator', 'bob\u2028'],
          ['paragraph separator', 'bob\u2029x'],
          ['zero-width space', 'bo\u200bb'],
          ['trailing zero-width space', 'user\u200b'],
          ['zero-width joiner', 'bo\u200db'],
          ['soft hyphen', 'bob\u00ad'],
          ['word joiner', 'bob\u2060'],
          ['byte order mark', '\ufeffbob'],
          ['right-to-left override', '\u202ebob'],
          ['right-to-left mark', 'bob\u200f'],
          ['Hangul filler (invisible letter)', 'bob\u3164'],
          ['NUL', 'bo\u0000b'],
          ['DEL', 'bob\u007f'],
          ['fullwidth letters (change under NFKC)', '\uff42\uff4f\uff42'],
          ['ligature (changes under NFKC)', '\ufb01ona'],
          ['decomposed accent (changes under NFKC)', 'jose\u0301'],
          ['Cyrillic а among Latin letters', '\u0430lice'],
          ['Greek ο among Latin letters', 'b\u03bfb'],
          ['non-ASCII punctuation that looks like a hyphen', 'bob\u2010x'],
          ['colon (HTTP Basic separator)', 'bob:x'],
        ];
        const accepted: string[] = [];
        for (const [what, username] of bad) {
          const res = await create(username);
          if (res.status !== 400 || res.body.error_code !== 'INVALID_PARAMETER_VALUE') accepted.push(`${what} ${escaped(username)}: ${res.status}`);
          // Not stored: the lookup finds nothing (a NUL is refused by the request layer itself, before any lookup).
          else expect((await call(server.url, ADMIN, 'GET', '/users/get', { username })).status).toBe(username.includes('\u0000') ? 400 : 404);
        }
        expect(accepted).toEqual([]);
      });

      test('ordinary names in any one script are accepted', async () => {
        for (const username of [
          'alice.smith@example.com',
          'svc-training_01',
          'Jane Doe',
          'Jos\u00e9',
          '\u5c71\u7530\u592a\u90ce',
          '\u0415\u043b\u0435\u043d\u0430',
          '\u0395\u03bb\u03ad\u03bd\u03b7',
          "o'brien+ml",
        ]) {
          expectOk(await create(username), JSON.stringify(username));
        }
      });

      test('names are unique case-insensitively and across Cyrillic/Greek look-alikes; login stays exact', async () => {
        expectOk(await create('dana'), 'dana');
        for (const twin of ['DANA', 'Dana', 'danA']) {
          const res = await create(twin);
          expect([twin, res.status, res.body.error_code]).toEqual([twin, 400, 'RESOURCE_ALREADY_EXISTS']);
          expect(res.body.message).toMatch(/dana/);
        }
        expectOk(await create('ace'), 'ace');
        // All-Cyrillic "асе" passes the mixed-script rule but looks exactly like "ace".
        const cyrillic = await create('\u0430\u0441\u0435');
        expect([cyrillic.status, cyrillic.body.error_code]).toEqual([400, 'RESOURCE_ALREADY_EXISTS']);
        // Login is an exact match on the name as created.
        expect((await call(server.url, { username: 'dana', password: 'a-long-password-0001' }, 'GET', '/users/current')).status).toBe(200);
        expect((await call(server.url, { username: 'DANA', password: 'a-long-password-0001' }, 'GET', '/users/current')).status).toBe(401);
        // A name no account can have (NUL, which PostgreSQL text cannot hold) is a 401, never a 500.
        expect((await call(server.url, { username: 'da\u0000na', password: 'a-long-password-0001' }, 'GET', '/users/current')).status).toBe(401);
      });

      test('the migration keeps existing look-alike accounts, gives the first the name and reports the others', async () => {
        const { uri, drop } = await scratchDatabase(kind);
        const connection = await openStore(uri);
        try {
          const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0006'));
          await migrateToLatest(connection.db, before);
          const hash = await hashPassword('legacy-password-01');
          for (const username of ['dup', 'DUP', 'du\u200bp', 'other']) {
            await connection.db
              .insertInto('users' as never)
              .values({ username, password_hash: hash, is_admin: 0 })
              .execute();
          }
          await migrateToLatest(connection.db);
          const store = new AuthStore(connection.db);
          expect(await store.lookAlikeUsers()).toEqual(['DUP', 'du\u200bp']);
          // Every existing account still logs in by its exact name; none can be added again under another case.
          for (const username of ['dup', 'DUP', 'du\u200bp']) expect((await store.findUser(username))?.username).toBe(username);
          await expect(store.createUser('Dup', 'a-long-password-0001')).rejects.toMatchObject({ errorCode: 'RESOURCE_ALREADY_EXISTS' });
          await expect(store.createUser('OTHER', 'a-long-password-0001')).rejects.toMatchObject({ errorCode: 'RESOURCE_ALREADY_EXISTS' });
          // Deleting the first account frees its name for a new one: the unique key was only on it.
          await store.deleteUser('dup');
          await store.createUser('Dup', 'a-long-password-0001');
        } finally {
          await connection.close();
          await drop();
        }
      });
    });

    describe('finding 6: login flood', () => {
      let server: AuthTestServer;
      beforeAll(async () => {
        server = await startAuthServer(kind, EXACT_COUNTS);
      });
      afterAll(async () => ifStarted(server)?.stop());

      test('200 concurrent bad logins from 8 addresses get 429/503 while a first legitimate login is served without queuing behind them', async () => {
        const target = await createUser(server, 'flood-target');
        const good = await createUser(server, 'flood-good');
        const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
        const kdfBefore = server.auth.state.verifier.kdfRuns;
        const flood = Array.from({ length: 200 }, (_, i) =>
          loginFrom(addresses[i % addresses.length], server.url, { username: i % 5 === 4 ? `nobody-${i}` : target.username, password: `wrong-password-${i}` }),
        );
        // Log in once the server is busy hashing flood passwords (bounded wait: never an assertion on time).
        for (let i = 0; i < 500 && server.auth.state.verifier.kdfRuns === kdfBefore; i++) await new Promise((r) => setTimeout(r, 5));
        const legit = await loginFrom('127.0.0.50', server.url, good);
        const results = await Promise.all(flood);

        expect(legit.status).toBe(200);
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => ![401, 429, 503].includes(s))).toEqual([]);
        const throttled = results.filter((r) => r.status === 429);
        expect(throttled.length).toBeGreaterThan(0);
        for (const r of throttled) expectThrottled(r, 'flood');
        for (const r of results.filter((x) => x.status === 503)) {
          expect(r.body.error_code).toBe('TEMPORARILY_UNAVAILABLE');
          expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        }
        // Most of the flood was turned away before costing a KDF run.
        expect(server.auth.state.verifier.kdfRuns - kdfBefore).toBeLessThan(results.length / 2);
        // The legitimate login (priority lane: a known user and an address with no recent failures)
        // waited behind at most the running KDFs plus the flood's one priority attempt for its target.
        const metrics = await metricsText(server.url);
        const count = metricSample(metrics, 'mlflow_auth_kdf_wait_runs_count', { lane: 'priority' });
        expect(count).toBeGreaterThanOrEqual(1);
        expect(metricSample(metrics, 'mlflow_auth_kdf_wait_runs_bucket', { lane: 'priority', le: String(DEFAULT_KDF_CONCURRENCY + 1) })).toBe(count);
        expect(metricSample(metrics, 'mlflow_auth_login_rejections_total', { reason: 'user' })).toBeGreaterThan(0);
      });

      test('failed logins are limited per username from any address (case-folded); a cached login of that user keeps working', async () => {
        const carol = await createUser(server, 'limit-carol');
        expect((await loginFrom('127.0.1.1', server.url, carol)).status).toBe(200);
        for (let i = 0; i < DEFAULT_FAILURES_PER_USER; i++) {
          expect((await loginFrom(`127.0.1.${10 + i}`, server.url, { username: carol.username, password: `wrong-${i}` })).status).toBe(401);
        }
        expectThrottled(await loginFrom('127.0.1.100', server.url, { username: carol.username, password: 'wrong-again' }), 'per-user limit');
        expectThrottled(await loginFrom('127.0.1.101', server.url, { username: 'LIMIT-CAROL', password: 'wrong-again' }), 'per-user limit, other case');
        // Her already verified credential costs no KDF and is not limited.
        expect((await loginFrom('127.0.1.102', server.url, carol)).status).toBe(200);
      });

      test('failed logins are limited per client address; X-Forwarded-For is ignored without a trusted proxy', async () => {
        const dave = await createUser(server, 'limit-dave');
        expect((await loginFrom('127.0.2.1', server.url, dave)).status).toBe(200);
        const fresh = await createUser(server, 'limit-erin');
        for (let i = 0; i < DEFAULT_FAILURES_PER_ADDRESS; i++) {
          const res = await loginFrom(
            '127.0.2.1',
            server.url,
            { username: `ghost-${i}`, password: 'wrong-password' },
            { 'x-forwarded-for': `198.51.100.${i}` },
          );
          expect([i, res.status]).toEqual([i, 401]);
        }
        expectThrottled(
          await loginFrom('127.0.2.1', server.url, { username: 'ghost-x', password: 'wrong-password' }, { 'x-forwarded-for': '198.51.100.200' }),
          'per-address limit',
        );
        // A first login from the limited address would cost a KDF: refused too. From elsewhere: fine.
        expectThrottled(await loginFrom('127.0.2.1', server.url, fresh), 'uncached login from a limited address');
        expect((await loginFrom('127.0.2.2', server.url, fresh)).status).toBe(200);
        // A credential verified before is served from the cache, limit or not.
        expect((await loginFrom('127.0.2.1', server.url, dave)).status).toBe(200);
      });
    });

    describe('finding 6: behind a trusted proxy', () => {
      test('X-Forwarded-For from a configured proxy names the client; from anyone else it is ignored', async () => {
        const auth = basicAuth({ adminUsername: ADMIN.username, adminPassword: ADMIN.password, ...EXACT_COUNTS });
        const server = await startTestServer(kind, { beforeRoutes: auth.beforeRoutes, plugins: auth.plugins, trustedProxies: ['127.0.0.1'] });
        try {
          await call(server.url, ADMIN, 'POST', '/users/create', { username: 'behind-proxy', password: 'behind-proxy-pass-1' });
          for (let i = 0; i < DEFAULT_FAILURES_PER_ADDRESS; i++) {
            expect(
              (await loginFrom('127.0.0.1', server.url, { username: `ghost-${i}`, password: 'wrong-password' }, { 'x-forwarded-for': '203.0.113.7' })).status,
            ).toBe(401);
          }
          expectThrottled(
            await loginFrom('127.0.0.1', server.url, { username: 'behind-proxy', password: 'behind-proxy-pass-1' }, { 'x-forwarded-for': '203.0.113.7' }),
            'forwarded client',
          );
          // Another client behind the same proxy is not affected.
          expect(
            (await loginFrom('127.0.0.1', server.url, { username: 'behind-proxy', password: 'behind-proxy-pass-1' }, { 'x-forwarded-for': '203.0.113.8' }))
              .status,
          ).toBe(200);
          // A connection from an address that is not the proxy cannot pick its identity with the header.
          for (let i = 0; i < DEFAULT_FAILURES_PER_ADDRESS; i++) {
            await loginFrom('127.0.0.9', server.url, { username: `spoof-${i}`, password: 'wrong-password' }, { 'x-forwarded-for': `203.0.113.${100 + i}` });
          }
          expectThrottled(
            await loginFrom('127.0.0.9', server.url, { username: 'spoof-x', password: 'wrong-password' }, { 'x-forwarded-for': '203.0.113.250' }),
            'spoofed header',
          );
        } finally {
          await server.stop();
        }
      });
    });
  });
}

describe('finding 6: the limits as `mlops tracking serve` flags', () => {
  test('--auth-failed-logins-per-user is applied; a malformed --forwarded-allow-ips is a one-line error', async () => {
    const dir = tmpDir('security-cli');
    const store = `sqlite:///${path.join(dir, 'mlflow.db')}`;
    const env = { MLFLOW_AUTH_ADMIN_PASSWORD: ADMIN.password, MLFLOW_AUTH_ADMIN_PASSWORD_FILE: '' };
    const bad = runMlops(
      ['tracking', 'serve', '--app-name', 'basic-auth', '--port', '0', '--backend-store-uri', store, '--forwarded-allow-ips', '10.0.0.0/8,proxy.local'],
      { env },
    );
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--forwarded-allow-ips.*'proxy\.local' is not an IP address or CIDR/);
    const child = spawn(
      process.execPath,
      [
        mlopsBin,
        'tracking',
        'serve',
        '--app-name',
        'basic-auth',
        '--port',
        '0',
        '--backend-store-uri',
        store,
        '--artifacts-destination',
        path.join(dir, 'artifacts'),
        '--auth-failed-logins-per-user',
        '2',
      ],
      {
        env: { ...process.env, ...env, MLOPS_LOG_LEVEL: 'info' },
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split('\n').find((l) => l.includes('tracking server listening'));
          if (line) resolve((JSON.parse(line) as { url: string }).url);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
      });
      const wrong = { username: ADMIN.username, password: 'not-the-admin-password' };
      expect((await loginFrom('127.0.0.1', url, wrong)).status).toBe(401);
      expect((await loginFrom('127.0.0.2', url, wrong)).status).toBe(401);
      expectThrottled(await loginFrom('127.0.0.3', url, wrong), 'third failure for the name');
    } finally {
      child.kill('SIGTERM');
    }
  });
});

/** A name with every non-printable-ASCII character as \\uXXXX, so a failure message shows what was sent. */
function escaped(name: string): string {
  return JSON.stringify(name.replace(/[^\x21-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`));
}

/** An empty database of the given kind (SQLite file or a fresh PostgreSQL database) for migration tests. */
async function scratchDatabase(kind: StoreKind): Promise<{ uri: string; drop: () => Promise<void> }> {
  if (kind === 'postgres') {
    const db = await createTestDatabase('mlops_security');
    return { uri: db.url, drop: db.drop };
  }
  return { uri: `sqlite:///${path.join(tmpDir('security-migration'), 'mlflow.db')}`, drop: () => Promise.resolve() };
}
