import { as, createUser, startAuthServer, type AuthTestServer } from '../auth/helpers';
import { commandAvailable, describeWithTool } from '../helpers/tools';
import { api, mlflowClients, startTestServer, storeAvailability, storeKinds, type TestServer } from '../tracking/helpers';
import { expectAudit, expectWorkflow, runClientsAtOnce, runRegistryScript } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

jest.setTimeout(300_000);

/** The registry workflow needs scikit-learn and pandas next to the MLflow client. */
const clients = mlflowClients.map((c) => ({
  ...c,
  availability: c.availability.ok ? commandAvailable(c.python, ['-c', 'import sklearn, pandas'], `scikit-learn and pandas (${c.python})`) : c.availability,
}));
const [mlflow3] = clients;

for (const kind of storeKinds()) {
  describeWithTool(`model registry with the official MLflow client on ${kind}`, storeAvailability(kind), () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(kind);
    });
    afterAll(async () => ifStarted(server)?.stop());

    for (const client of clients) {
      describeWithTool(client.name, client.availability, () => {
        test('log_model(registered_model_name=…), stages, aliases, load by alias and predict', async () => {
          const major = client.name.includes('3.x') ? 3 : 2;
          const name = `churn-predictor-${major}`;
          const out = await runRegistryScript(client.python, 'registry_workflow.py', [server.url, `registry-${major}`, name]);
          expectWorkflow(out, major);
          await expectAudit(server.url, name, out.run_ids);
        });

        test("runs:/ registration, stage and latest URIs, copy, search (with the client's prompt condition), rename, tags, deletes, errors", async () => {
          const major = client.name.includes('3.x') ? 3 : 2;
          const name = `extras-${major}`;
          const out = await runRegistryScript(client.python, 'registry_extras.py', [server.url, `extras-${major}`, name]);
          expect(out.registered).toEqual(['1', '2']);
          // 3.x: the run has no files under "model"; the client finds the run's LoggedModel and registers it.
          if (major === 3) expect(out.runs_source).toMatch(/^models:\/m-[0-9a-f]{32}$/);
          else expect(out.runs_source).toMatch(new RegExp(`/${out.run_id}/artifacts/model$`));
          expect(out.runs_run_id).toBe(out.run_id);
          expect(out).toMatchObject({ by_stage_ok: true, by_latest_ok: true, has_signature: true, copy_ok: true });
          expect(out.copied).toEqual([`${name}-copy`, '1', `models:/${name}/1`]);
          expect(out.search_like).toEqual([name, `${name}-copy`]);
          expect(out.search_all).toEqual([name, `${name}-copy`]);
          expect(out.fluent_search).toEqual([name]);
          expect(out.pages).toEqual([['2'], true, ['1']]);
          expect(out.renamed).toEqual([`${name}-renamed`, 'RESOURCE_DOES_NOT_EXIST']);
          expect(out.registered_model).toEqual([
            { team: 'churn' },
            'Churn classifier',
            [
              ['None', '1'],
              ['Staging', '2'],
            ],
          ]);
          expect(out.v1_tags).toEqual({});
          // A deleted version's number is not given out again.
          expect(out.after_delete).toEqual(['1']);
          expect(out.after_delete_next).toBe('3');
          expect(out.errors).toEqual({
            deleted_model: 'RESOURCE_DOES_NOT_EXIST',
            duplicate_model: 'RESOURCE_ALREADY_EXISTS',
            bad_stage: 'INVALID_PARAMETER_VALUE',
            missing_version: 'RESOURCE_DOES_NOT_EXIST',
            bad_filter: 'INVALID_PARAMETER_VALUE',
          });
        });
      });
    }

    describeWithTool('MLflow 3.x client', mlflow3.availability, () => {
      test('logged models: log_model creates one, get/search/tags/params, run outputs, load and register models:/m-<id>, finalize, delete', async () => {
        const out = await runRegistryScript(mlflow3.python, 'logged_models.py', [server.url, 'logged-models', 'tree-model']);
        expect(out.model_id).toMatch(/^m-[0-9a-f]{32}$/);
        expect(out.model_uri).toBe(`models:/${out.model_id}`);
        expect(out).toMatchObject({ status: 'READY', name: 'tree', source_run_id: out.run_id });
        // The logged model's artifacts live under the experiment, not under the run.
        expect(out.artifact_location).toBe(`mlflow-artifacts:/${out.experiment_id}/models/${out.model_id}/artifacts`);
        expect(out.params).toEqual({ criterion: 'gini', max_depth: '3' });
        expect(out.tags).toEqual({ team: 'churn' });
        expect(out.found).toEqual([out.model_id]);
        expect(out.by_tag).toEqual([out.model_id]);
        expect(out.none_found).toBe(0);
        expect(out.files).toEqual(expect.arrayContaining(['MLmodel', 'model.pkl']));
        expect(out.run_outputs).toEqual([out.model_id]);
        // Logged-model metrics: both points on the model, the latest on the run, filter and order by them.
        expect(out.model_metrics).toEqual([
          ['auc', 0, 0.7, true, true],
          ['auc', 1, 0.91, true, true],
        ]);
        expect(out.run_auc).toBe(0.91);
        expect(out.by_metric).toEqual([out.model_id]);
        expect(out.above_all).toBe(0);
        expect(out.by_metric_order).toEqual([out.model_id]);
        expect(out.unknown_model_metric_error).toBe('RESOURCE_DOES_NOT_EXIST');
        expect(out.predicted).toEqual(out.expected);
        // register_model("models:/m-<id>") keeps that source and resolves downloads to the model's artifacts.
        expect(out.version).toBe('1');
        expect(out.version_source).toBe(`models:/${out.model_id}`);
        expect(out.version_run_id).toBe(out.run_id);
        expect(out.version_predicts).toBe(true);
        expect(out.download_uri).toBe(out.artifact_location);
        // The 3.x client does not read ModelVersion.model_id back from the proto; the REST answer carries it.
        const { body } = await api(server.url, 'GET', '/model-versions/get', { name: 'tree-model', version: '1' });
        expect(body.model_version.model_id).toBe(out.model_id);
        expect(out).toMatchObject({
          external_status: 'READY',
          external_type: 'agent',
          deleted_error: 'RESOURCE_DOES_NOT_EXIST',
          missing_error: 'RESOURCE_DOES_NOT_EXIST',
        });
      });

      test('two clients registering versions of one model at once get distinct, gapless numbers', async () => {
        // A 3.x and a 2.x client (two 3.x where no 2.x client is installed), released together, each
        // calling mlflow.register_model 10 times from 4 threads; all of them race to create the model too.
        const second = clients[1].availability.ok ? clients[1] : mlflow3;
        const count = 10;
        const [a, b] = await runClientsAtOnce('concurrent_versions.py', [
          { python: mlflow3.python, args: [server.url, 'raced', 'client-a', String(count)] },
          { python: second.python, args: [server.url, 'raced', 'client-b', String(count)] },
        ]);
        const numbers = [...a.results, ...b.results].map((r: any) => r.version).sort((x: number, y: number) => x - y);
        expect(numbers).toEqual(Array.from({ length: 2 * count }, (_, i) => i + 1));
        const { body } = await api(server.url, 'GET', '/model-versions/search', { filter: "name = 'raced'", max_results: 100 });
        // Every stored version kept the source of the call that got its number.
        const stored = new Map(body.model_versions.map((v: any) => [Number(v.version), v.source]));
        expect(stored.size).toBe(2 * count);
        for (const r of [...a.results, ...b.results]) expect(stored.get(r.version)).toBe(r.source);
        const audit = await api(server.url, 'GET', '/model-versions/audit', { name: 'raced' });
        expect(audit.body.entries.filter((e: any) => e.action === 'create_registered_model')).toHaveLength(1);
        expect(audit.body.entries.filter((e: any) => e.action === 'create_model_version')).toHaveLength(2 * count);
      });
    });
  });
}

/** The same workflow as a non-admin user on a server with `--app-name basic-auth`: the audit trail names who. */
for (const kind of storeKinds()) {
  describeWithTool(`model registry with basic-auth on ${kind}`, storeAvailability(kind), () => {
    let server: AuthTestServer;
    beforeAll(async () => {
      server = await startAuthServer(kind);
    });
    afterAll(async () => ifStarted(server)?.stop());

    describeWithTool('MLflow 3.x client', mlflow3.availability, () => {
      test('a user logs, registers, promotes and loads by alias with their credentials; the audit trail records them', async () => {
        const alice = await createUser(server, 'alice');
        const bob = await createUser(server, 'bob');
        const out = await runRegistryScript(mlflow3.python, 'registry_workflow.py', [server.url, 'registry-auth', 'churn-auth'], {
          MLFLOW_TRACKING_USERNAME: alice.username,
          MLFLOW_TRACKING_PASSWORD: alice.password,
        });
        expectWorkflow(out, 3);
        await expectAudit(server.url, 'churn-auth', out.run_ids, alice);
        // Reading the trail needs READ on the model (bob has the default READ); no credentials is a 401.
        expect((await as(server, bob)('GET', '/model-versions/audit', { name: 'churn-auth' })).status).toBe(200);
        const anonymous = await as(server, null)('GET', '/model-versions/audit', { name: 'churn-auth' });
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
        // READ is not enough to move an alias; the refused change leaves no audit entry.
        const moved = await as(server, bob)('POST', '/registered-models/alias', { name: 'churn-auth', alias: 'champion', version: '1' });
        expect(moved.status).toBe(403);
        const after = await as(server, alice)('GET', '/model-versions/audit', { name: 'churn-auth' });
        expect(after.body.entries.every((e: any) => e.user_id === 'alice')).toBe(true);
      });
    });
  });
}
