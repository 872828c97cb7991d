import { describeWithTool } from '../helpers/tools';
import { api, startTestServer, storeAvailability, storeKinds, type ApiResponse, type TestServer } from '../tracking/helpers';

jest.setTimeout(60_000);

/** The model registry REST API (model_registry.proto) against a real server on each store. */
for (const kind of storeKinds()) {
  describeWithTool(`model registry REST API on ${kind}`, storeAvailability(kind), () => {
    let server: TestServer;
    let call: (method: string, route: string, payload?: unknown) => Promise<ApiResponse>;
    let runId: string;
    let runArtifacts: string;

    beforeAll(async () => {
      server = await startTestServer(kind);
      call = (method, route, payload) => api(server.url, method, route, payload);
      const exp = (await call('POST', '/experiments/create', { name: 'registry' })).body.experiment_id;
      const run = (await call('POST', '/runs/create', { experiment_id: exp, run_name: 'train' })).body.run.info;
      runId = run.run_id;
      runArtifacts = run.artifact_uri;
    });
    afterAll(async () => server?.stop());

    const expectError = (r: { status: number; body: any }, status: number, code: string, message?: RegExp) => {
      expect(r.status).toBe(status);
      expect(r.body.error_code).toBe(code);
      if (message) expect(r.body.message).toMatch(message);
    };

    test('registered models: create, get, duplicate, update, tags, rename, delete', async () => {
      const created = await call('POST', '/registered-models/create', { name: 'churn', description: 'first', tags: [{ key: 'team', value: 'ml' }] });
      expect(created.status).toBe(200);
      expect(created.body.registered_model).toMatchObject({ name: 'churn', description: 'first', tags: [{ key: 'team', value: 'ml' }], latest_versions: [], aliases: [] });
      expect(typeof created.body.registered_model.creation_timestamp).toBe('number');

      expectError(await call('POST', '/registered-models/create', { name: 'churn' }), 400, 'RESOURCE_ALREADY_EXISTS', /already exists/);
      expectError(await call('POST', '/registered-models/create', {}), 400, 'INVALID_PARAMETER_VALUE', /name/);
      expectError(await call('POST', '/registered-models/create', { name: 'a/b' }), 400, 'INVALID_PARAMETER_VALUE', /cannot contain/);
      expectError(await call('POST', '/registered-models/create', { name: '  ' }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('POST', '/registered-models/create', { name: 'x'.repeat(257) }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('GET', '/registered-models/get', { name: 'nope' }), 404, 'RESOURCE_DOES_NOT_EXIST', /Registered Model with name=nope not found/);
      expectError(await call('GET', '/registered-models/get', {}), 400, 'INVALID_PARAMETER_VALUE', /Missing value for required parameter 'name'/);

      const updated = await call('PATCH', '/registered-models/update', { name: 'churn', description: 'second' });
      expect(updated.body.registered_model.description).toBe('second');
      expect((await call('POST', '/registered-models/set-tag', { name: 'churn', key: 'owner', value: 'ana' })).status).toBe(200);
      expectError(await call('POST', '/registered-models/set-tag', { name: 'churn', key: '../x', value: 'v' }), 400, 'INVALID_PARAMETER_VALUE');
      expect((await call('DELETE', '/registered-models/delete-tag', { name: 'churn', key: 'team' })).status).toBe(200);
      expect((await call('GET', '/registered-models/get', { name: 'churn' })).body.registered_model.tags).toEqual([{ key: 'owner', value: 'ana' }]);

      await call('POST', '/registered-models/create', { name: 'other' });
      expectError(await call('POST', '/registered-models/rename', { name: 'churn', new_name: 'other' }), 400, 'RESOURCE_ALREADY_EXISTS');
      expectError(await call('POST', '/registered-models/rename', { name: 'churn' }), 400, 'INVALID_PARAMETER_VALUE', /new_name/);
      const renamed = await call('POST', '/registered-models/rename', { name: 'churn', new_name: 'churn-v2' });
      expect(renamed.body.registered_model).toMatchObject({ name: 'churn-v2', tags: [{ key: 'owner', value: 'ana' }] });
      expectError(await call('GET', '/registered-models/get', { name: 'churn' }), 404, 'RESOURCE_DOES_NOT_EXIST');

      expect((await call('DELETE', '/registered-models/delete', { name: 'other' })).status).toBe(200);
      expectError(await call('DELETE', '/registered-models/delete', { name: 'other' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      // The audit trail of a renamed model follows it.
      const trail = (await call('GET', '/model-versions/audit', { name: 'churn-v2' })).body.entries;
      expect(trail.map((e: any) => e.action)).toEqual(['create_registered_model', 'rename_registered_model']);
      expect(trail[1].previous_name).toBe('churn');
    });

    test('model versions: numbering, get, update, download URI, tags, source checks', async () => {
      await call('POST', '/registered-models/create', { name: 'fraud' });
      const v1 = await call('POST', '/model-versions/create', { name: 'fraud', source: `runs:/${runId}/model`, run_id: runId, tags: [{ key: 'k', value: 'v' }], description: 'd1' });
      expect(v1.status).toBe(200);
      expect(v1.body.model_version).toMatchObject({ name: 'fraud', version: '1', current_stage: 'None', status: 'READY', run_id: runId, source: `runs:/${runId}/model`, description: 'd1', tags: [{ key: 'k', value: 'v' }], aliases: [] });
      const v2 = await call('POST', '/model-versions/create', { name: 'fraud', source: `${runArtifacts}/model2`, run_id: runId });
      expect(v2.body.model_version.version).toBe('2');

      // runs:/ sources resolve to the run's artifact location; artifact URIs are returned as given.
      expect((await call('GET', '/model-versions/get-download-uri', { name: 'fraud', version: '1' })).body).toEqual({ artifact_uri: `${runArtifacts}/model` });
      expect((await call('GET', '/model-versions/get-download-uri', { name: 'fraud', version: 2 })).body).toEqual({ artifact_uri: `${runArtifacts}/model2` });

      expectError(await call('POST', '/model-versions/create', { name: 'nope', source: `runs:/${runId}/model`, run_id: runId }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectError(await call('POST', '/model-versions/create', { name: 'fraud' }), 400, 'INVALID_PARAMETER_VALUE', /source/);
      // Sources must be reachable through the run named (MLflow's guard against registering other people's artifacts).
      expectError(await call('POST', '/model-versions/create', { name: 'fraud', source: `runs:/${runId}/model` }), 400, 'INVALID_PARAMETER_VALUE', /run_id/);
      expectError(await call('POST', '/model-versions/create', { name: 'fraud', source: 'mlflow-artifacts:/9/other/artifacts/m', run_id: runId }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('POST', '/model-versions/create', { name: 'fraud', source: '/etc/passwd', run_id: runId }), 400, 'INVALID_PARAMETER_VALUE', /local path/);
      expectError(await call('POST', '/model-versions/create', { name: 'fraud', source: 's3://bucket/a/../b' }), 400, 'INVALID_PARAMETER_VALUE', /relative path/);
      // A failed create hands out no number: the next version is 3.
      const v3 = await call('POST', '/model-versions/create', { name: 'fraud', source: 's3://bucket/models/fraud' });
      expect(v3.body.model_version.version).toBe('3');
      expect(v3.body.model_version.run_id).toBeUndefined();

      expectError(await call('GET', '/model-versions/get', { name: 'fraud', version: '9' }), 404, 'RESOURCE_DOES_NOT_EXIST', /Model Version \(name=fraud, version=9\) not found/);
      expectError(await call('GET', '/model-versions/get', { name: 'fraud', version: 'abc' }), 400, 'INVALID_PARAMETER_VALUE', /must be an integer/);

      const upd = await call('PATCH', '/model-versions/update', { name: 'fraud', version: '1', description: 'better' });
      expect(upd.body.model_version.description).toBe('better');
      expect((await call('POST', '/model-versions/set-tag', { name: 'fraud', version: '1', key: 'validated', value: 'yes' })).status).toBe(200);
      expect((await call('DELETE', '/model-versions/delete-tag', { name: 'fraud', version: '1', key: 'k' })).status).toBe(200);
      expect((await call('GET', '/model-versions/get', { name: 'fraud', version: '1' })).body.model_version.tags).toEqual([{ key: 'validated', value: 'yes' }]);
      expectError(await call('POST', '/model-versions/set-tag', { name: 'fraud', version: '7', key: 'a', value: 'b' }), 404, 'RESOURCE_DOES_NOT_EXIST');

      // Deleting the latest version does not free its number.
      expect((await call('DELETE', '/model-versions/delete', { name: 'fraud', version: '3' })).status).toBe(200);
      expectError(await call('GET', '/model-versions/get', { name: 'fraud', version: '3' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      const v4 = await call('POST', '/model-versions/create', { name: 'fraud', source: 's3://bucket/models/fraud' });
      expect(v4.body.model_version.version).toBe('4');
    });

    test('aliases: set, get, move, delete, reserved names', async () => {
      await call('POST', '/registered-models/create', { name: 'scorer' });
      for (let i = 0; i < 2; i++) await call('POST', '/model-versions/create', { name: 'scorer', source: `runs:/${runId}/m${i}`, run_id: runId });
      expect((await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'champion', version: '1' })).status).toBe(200);
      const byAlias = await call('GET', '/registered-models/alias', { name: 'scorer', alias: 'champion' });
      expect(byAlias.body.model_version).toMatchObject({ name: 'scorer', version: '1', aliases: ['champion'] });
      await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'champion', version: '2' });
      expect((await call('GET', '/registered-models/alias', { name: 'scorer', alias: 'champion' })).body.model_version.version).toBe('2');
      expect((await call('GET', '/registered-models/get', { name: 'scorer' })).body.registered_model.aliases).toEqual([{ alias: 'champion', version: '2' }]);
      // `latest` is readable (the highest version) but cannot be set, nor can v<digits>.
      expect((await call('GET', '/registered-models/alias', { name: 'scorer', alias: 'latest' })).body.model_version.version).toBe('2');
      expectError(await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'Latest', version: '1' }), 400, 'INVALID_PARAMETER_VALUE', /reserved/);
      expectError(await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'v3', version: '1' }), 400, 'INVALID_PARAMETER_VALUE', /reserved/);
      expectError(await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'bad alias!', version: '1' }), 400, 'INVALID_PARAMETER_VALUE', /alphanumerics/);
      expectError(await call('POST', '/registered-models/alias', { name: 'scorer', alias: '', version: '1' }), 400, 'INVALID_PARAMETER_VALUE', /cannot be empty/);
      expectError(await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'x', version: '9' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectError(await call('POST', '/registered-models/alias', { name: 'nope', alias: 'x', version: '1' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      // MLflow answers 400 for an unknown alias of an existing model, 404 for an unknown model.
      expectError(await call('GET', '/registered-models/alias', { name: 'scorer', alias: 'ghost' }), 400, 'INVALID_PARAMETER_VALUE', /alias ghost not found/);
      expectError(await call('GET', '/registered-models/alias', { name: 'nope', alias: 'champion' }), 404, 'RESOURCE_DOES_NOT_EXIST');

      expect((await call('DELETE', '/registered-models/alias', { name: 'scorer', alias: 'champion' })).status).toBe(200);
      expectError(await call('GET', '/registered-models/alias', { name: 'scorer', alias: 'champion' }), 400, 'INVALID_PARAMETER_VALUE');
      // Deleting a version drops the aliases pointing at it.
      await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'shadow', version: '1' });
      await call('DELETE', '/model-versions/delete', { name: 'scorer', version: '1' });
      expect((await call('GET', '/registered-models/get', { name: 'scorer' })).body.registered_model.aliases).toEqual([]);
    });
  });
}
