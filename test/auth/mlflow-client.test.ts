import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { describeWithTool } from '../helpers/tools';
import { mlflowClients, storeAvailability, storeKinds } from '../tracking/helpers';
import { ADMIN, call, createUser, startAuthServer, type AuthTestServer, type Credentials } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

/** Runs python/auth_client.py with the given credentials in the environment (none: no MLFLOW_TRACKING_* at all). */
function client(python: string, url: string, mode: string, experiment: string, who: Credentials | null): Promise<any> {
  return runScript(python, 'auth_client.py', [url, mode, experiment], who);
}

/** Runs a script of python/ with `who` as MLFLOW_TRACKING_USERNAME/PASSWORD; resolves with its last stdout line as JSON. */
function runScript(python: string, script: string, args: string[], who: Credentials | null): Promise<any> {
  const env: NodeJS.ProcessEnv = { ...process.env, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0', MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true' };
  delete env.MLFLOW_TRACKING_USERNAME;
  delete env.MLFLOW_TRACKING_PASSWORD;
  if (who) Object.assign(env, { MLFLOW_TRACKING_USERNAME: who.username, MLFLOW_TRACKING_PASSWORD: who.password });
  return new Promise((resolve, reject) => {
    execFile(python, [path.join(__dirname, 'python', script), ...args], { env, timeout: 180_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${script} ${args.slice(1).join(' ')} printed no JSON (${err?.message ?? ''}):\n${stderr}\n${stdout}`));
      }
    });
  });
}

for (const kind of storeKinds()) {
  describeWithTool(`the MLflow client against basic-auth on the ${kind} store`, storeAvailability(kind), () => {
    let server: AuthTestServer;
    let alice: Credentials;
    let bob: Credentials;
    beforeAll(async () => {
      server = await startAuthServer(kind);
      alice = await createUser(server, 'alice');
      bob = await createUser(server, 'bob');
    });
    afterAll(async () => ifStarted(server)?.stop());

    for (const mlflowClient of mlflowClients) {
      describeWithTool(mlflowClient.name, mlflowClient.availability, () => {
        const experiment = `auth-${mlflowClient.name.replace(/\W+/g, '-')}`;

        test('with MLFLOW_TRACKING_USERNAME/PASSWORD a training script logs a run', async () => {
          const out = await client(mlflowClient.python, server.url, 'log', experiment, alice);
          expect(out.error).toBeUndefined();
          expect(out.status).toBe('FINISHED');
          expect(out.params).toEqual({ lr: '0.01', p: 'v' });
          expect(out.metrics).toEqual({ loss: 0.25, acc: 0.9 });
          expect(out.history).toEqual([0.5, 0.25]);
          // The experiment's creator got MANAGE on it.
          const perm = await call(server.url, alice, 'GET', '/experiments/permissions/get', { experiment_id: out.experiment_id, username: 'alice' });
          expect(perm.body.experiment_permission.permission).toBe('MANAGE');
        });

        test("MLflow's AuthServiceClient manages users (and, in 2.x, permissions) through our users API", async () => {
          const exp = (await call(server.url, ADMIN, 'POST', '/experiments/create', { name: `${experiment}-svc` })).body.experiment_id;
          const model = `${experiment}-svc-model`;
          expect((await call(server.url, ADMIN, 'POST', '/registered-models/create', { name: model })).status).toBe(200);
          const out = await runScript(mlflowClient.python, 'auth_service.py', [server.url, exp, model], ADMIN);
          expect(out.error).toBeUndefined();
          const username = `svc-user-${String(out.mlflow).split('.')[0]}`;
          expect(out.created).toEqual({ id: expect.any(Number), username, is_admin: false });
          expect(out.got).toEqual(out.created);
          expect(out.duplicate).toBe('RESOURCE_ALREADY_EXISTS');
          expect(out.missing).toBe('RESOURCE_DOES_NOT_EXIST');
          expect(out.admin_after_update).toBe(true);
          expect(out.deleted).toBe('RESOURCE_DOES_NOT_EXIST');
          if (String(out.mlflow).startsWith('2.')) {
            expect(out.experiment_permission).toEqual({ experiment_id: exp, permission: 'EDIT' });
            expect(out.experiment_permission_updated).toBe('MANAGE');
            expect(out.bad_permission).toBe('INVALID_PARAMETER_VALUE');
            expect(out.experiment_permission_deleted).toBe('RESOURCE_DOES_NOT_EXIST');
            expect(out.model_permission).toEqual({ name: model, permission: 'READ' });
            expect(out.model_permission_updated).toBe('EDIT');
            expect(out.model_permission_deleted).toBe('RESOURCE_DOES_NOT_EXIST');
          }
        });

        test('without credentials, or with a wrong password, the client is refused', async () => {
          const anonymous = await client(mlflowClient.python, server.url, 'search', experiment, null);
          expect(anonymous.error).toMatch(/401|not authenticated/i);
          const wrong = await client(mlflowClient.python, server.url, 'search', experiment, { username: 'alice', password: 'wrong-password-x' });
          expect(wrong.error).toMatch(/401|not authenticated/i);
        });

        test("a user with READ cannot log into another user's experiment: PERMISSION_DENIED", async () => {
          const denied = await client(mlflowClient.python, server.url, 'denied', experiment, bob);
          expect(denied.error_code).toBe('PERMISSION_DENIED');
          const visible = await client(mlflowClient.python, server.url, 'search', experiment, bob);
          expect(visible.names).toContain(experiment);
          await call(server.url, ADMIN, 'POST', '/experiments/permissions/create', {
            experiment_id: (await call(server.url, ADMIN, 'GET', '/experiments/get-by-name', { experiment_name: experiment })).body.experiment.experiment_id,
            username: 'bob',
            permission: 'NO_PERMISSIONS',
          });
          expect((await client(mlflowClient.python, server.url, 'search', experiment, bob)).names).not.toContain(experiment);
        });
      });
    }
  });
}
