import { describeWithTool } from '../helpers/tools';
import { api, startTestServer, storeAvailability, storeKinds, type ApiResponse, type TestServer } from '../tracking/helpers';
import { ifStarted } from '../helpers/lifecycle';

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
    afterAll(async () => ifStarted(server)?.stop());

    const expectError = (r: { status: number; body: any }, status: number, code: string, message?: RegExp) => {
      expect(r.status).toBe(status);
      expect(r.body.error_code).toBe(code);
      if (message) expect(r.body.message).toMatch(message);
    };

    test('registered models: create, get, duplicate, update, tags, rename, delete', async () => {
      const created = await call('POST', '/registered-models/create', { name: 'churn', description: 'first', tags: [{ key: 'team', value: 'ml' }] });
      expect(created.status).toBe(200);
      expect(created.body.registered_model).toMatchObject({
        name: 'churn',
        description: 'first',
        tags: [{ key: 'team', value: 'ml' }],
        latest_versions: [],
        aliases: [],
      });
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
      const v1 = await call('POST', '/model-versions/create', {
        name: 'fraud',
        source: `runs:/${runId}/model`,
        run_id: runId,
        tags: [{ key: 'k', value: 'v' }],
        description: 'd1',
      });
      expect(v1.status).toBe(200);
      expect(v1.body.model_version).toMatchObject({
        name: 'fraud',
        version: '1',
        current_stage: 'None',
        status: 'READY',
        run_id: runId,
        source: `runs:/${runId}/model`,
        description: 'd1',
        tags: [{ key: 'k', value: 'v' }],
        aliases: [],
      });
      const v2 = await call('POST', '/model-versions/create', { name: 'fraud', source: `${runArtifacts}/model2`, run_id: runId });
      expect(v2.body.model_version.version).toBe('2');

      // runs:/ sources resolve to the run's artifact location; artifact URIs are returned as given.
      expect((await call('GET', '/model-versions/get-download-uri', { name: 'fraud', version: '1' })).body).toEqual({ artifact_uri: `${runArtifacts}/model` });
      expect((await call('GET', '/model-versions/get-download-uri', { name: 'fraud', version: 2 })).body).toEqual({ artifact_uri: `${runArtifacts}/model2` });

      expectError(
        await call('POST', '/model-versions/create', { name: 'nope', source: `runs:/${runId}/model`, run_id: runId }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      expectError(await call('POST', '/model-versions/create', { name: 'fraud' }), 400, 'INVALID_PARAMETER_VALUE', /source/);
      // Sources must be reachable through the run named (MLflow's guard against registering other people's artifacts).
      expectError(await call('POST', '/model-versions/create', { name: 'fraud', source: `runs:/${runId}/model` }), 400, 'INVALID_PARAMETER_VALUE', /run_id/);
      expectError(
        await call('POST', '/model-versions/create', { name: 'fraud', source: 'mlflow-artifacts:/9/other/artifacts/m', run_id: runId }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      expectError(
        await call('POST', '/model-versions/create', { name: 'fraud', source: '/etc/passwd', run_id: runId }),
        400,
        'INVALID_PARAMETER_VALUE',
        /local path/,
      );
      expectError(
        await call('POST', '/model-versions/create', { name: 'fraud', source: 's3://bucket/a/../b' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /relative path/,
      );
      // A failed create hands out no number: the next version is 3.
      const v3 = await call('POST', '/model-versions/create', { name: 'fraud', source: 's3://bucket/models/fraud' });
      expect(v3.body.model_version.version).toBe('3');
      expect(v3.body.model_version.run_id).toBeUndefined();

      expectError(
        await call('GET', '/model-versions/get', { name: 'fraud', version: '9' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /Model Version \(name=fraud, version=9\) not found/,
      );
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
      expectError(
        await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'Latest', version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /reserved/,
      );
      expectError(await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'v3', version: '1' }), 400, 'INVALID_PARAMETER_VALUE', /reserved/);
      expectError(
        await call('POST', '/registered-models/alias', { name: 'scorer', alias: 'bad alias!', version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /alphanumerics/,
      );
      expectError(
        await call('POST', '/registered-models/alias', { name: 'scorer', alias: '', version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /cannot be empty/,
      );
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

    test('stages: transition with archive_existing_versions, latest versions (POST and GET), bad stages', async () => {
      await call('POST', '/registered-models/create', { name: 'stager' });
      for (let i = 0; i < 3; i++) await call('POST', '/model-versions/create', { name: 'stager', source: `runs:/${runId}/s${i}`, run_id: runId });
      expect(
        (await call('POST', '/model-versions/transition-stage', { name: 'stager', version: '1', stage: 'production', archive_existing_versions: false })).body
          .model_version.current_stage,
      ).toBe('Production');
      await call('POST', '/model-versions/transition-stage', { name: 'stager', version: '2', stage: 'Staging', archive_existing_versions: false });
      const t3 = await call('POST', '/model-versions/transition-stage', { name: 'stager', version: '3', stage: 'Production', archive_existing_versions: true });
      expect(t3.body.model_version.current_stage).toBe('Production');
      const stages = (await call('GET', '/model-versions/search', { filter: "name='stager'", order_by: ['version_number ASC'] })).body.model_versions.map(
        (v: any) => [v.version, v.current_stage],
      );
      expect(stages).toEqual([
        ['1', 'Archived'],
        ['2', 'Staging'],
        ['3', 'Production'],
      ]);

      const latestPost = await call('POST', '/registered-models/get-latest-versions', { name: 'stager', stages: ['Production', 'staging'] });
      expect(latestPost.body.model_versions.map((v: any) => v.version)).toEqual(['2', '3']);
      const latestGet = await call('GET', '/registered-models/get-latest-versions', { name: 'stager', stages: ['Archived'] });
      expect(latestGet.body.model_versions.map((v: any) => v.version)).toEqual(['1']);
      const all = await call('GET', '/registered-models/get-latest-versions', { name: 'stager' });
      expect(all.body.model_versions.map((v: any) => v.current_stage)).toEqual(['Archived', 'Staging', 'Production']);
      const model = (await call('GET', '/registered-models/get', { name: 'stager' })).body.registered_model;
      expect(model.latest_versions.map((v: any) => [v.version, v.current_stage])).toEqual([
        ['1', 'Archived'],
        ['2', 'Staging'],
        ['3', 'Production'],
      ]);

      expectError(
        await call('POST', '/model-versions/transition-stage', { name: 'stager', version: '1', stage: 'Prod', archive_existing_versions: false }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid Model Version stage: Prod/,
      );
      expectError(
        await call('POST', '/model-versions/transition-stage', { name: 'stager', version: '1', stage: 'Archived', archive_existing_versions: true }),
        400,
        'INVALID_PARAMETER_VALUE',
        /not an Active stage/,
      );
      expectError(await call('POST', '/model-versions/transition-stage', { name: 'stager', version: '1' }), 400, 'INVALID_PARAMETER_VALUE', /stage/);
      expectError(await call('POST', '/registered-models/get-latest-versions', { name: 'stager', stages: ['Nope'] }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('POST', '/registered-models/get-latest-versions', { name: 'ghost' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    });

    test('search: filters (=, LIKE, ILIKE, IN, tags, run_id, version_number), order_by, paging, bad filters', async () => {
      for (const n of ['search-a', 'search-b', 'Search-C'])
        await call('POST', '/registered-models/create', { name: n, tags: [{ key: 'domain', value: n === 'search-b' ? 'risk' : 'growth' }] });
      const names = async (q: Record<string, unknown>) => (await call('GET', '/registered-models/search', q)).body.registered_models?.map((m: any) => m.name);
      expect(await names({ filter: "name = 'search-a'" })).toEqual(['search-a']);
      expect(await names({ filter: "name LIKE 'search-%'" })).toEqual(['search-a', 'search-b']);
      expect(await names({ filter: "name ILIKE 'search-%'" })).toEqual(['Search-C', 'search-a', 'search-b']);
      expect(await names({ filter: "name IN ('search-b', 'Search-C')" })).toEqual(['Search-C', 'search-b']);
      expect(await names({ filter: "name ILIKE 'search-%' AND tags.domain = 'growth'" })).toEqual(['Search-C', 'search-a']);
      expect(await names({ filter: "name ILIKE 'search-%'", order_by: ['name DESC'] })).toEqual(['search-b', 'search-a', 'Search-C']);
      const p1 = await call('GET', '/registered-models/search', { filter: "name ILIKE 'search-%'", max_results: 2 });
      expect(p1.body.registered_models.map((m: any) => m.name)).toEqual(['Search-C', 'search-a']);
      const p2 = await call('GET', '/registered-models/search', { filter: "name ILIKE 'search-%'", max_results: 2, page_token: p1.body.next_page_token });
      expect(p2.body.registered_models.map((m: any) => m.name)).toEqual(['search-b']);
      expect(p2.body.next_page_token).toBeUndefined();

      expectError(await call('GET', '/registered-models/search', { filter: "description = 'x'" }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('GET', '/registered-models/search', { filter: "name = 'x' OR name = 'y'" }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('GET', '/registered-models/search', { filter: "name = 'unterminated" }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('GET', '/registered-models/search', { order_by: ['nope ASC'] }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('GET', '/registered-models/search', { max_results: 5000 }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('GET', '/registered-models/search', { page_token: 'garbage' }), 400, 'INVALID_PARAMETER_VALUE');

      await call('POST', '/model-versions/create', { name: 'search-a', source: `runs:/${runId}/x`, run_id: runId, tags: [{ key: 'quality', value: 'gold' }] });
      await call('POST', '/model-versions/create', { name: 'search-a', source: 's3://bucket/y' });
      const versions = async (q: Record<string, unknown>) =>
        (await call('GET', '/model-versions/search', q)).body.model_versions?.map((v: any) => `${v.name}/${v.version}`);
      expect(await versions({ filter: "name = 'search-a'" })).toEqual(['search-a/2', 'search-a/1']);
      expect(await versions({ filter: `name = 'search-a' AND run_id = '${runId}'` })).toEqual(['search-a/1']);
      expect(await versions({ filter: `run_id IN ('${runId}') AND name = 'search-a'` })).toEqual(['search-a/1']);
      expect(await versions({ filter: "name = 'search-a' AND tags.quality = 'gold'" })).toEqual(['search-a/1']);
      expect(await versions({ filter: "name = 'search-a' AND version_number >= 2" })).toEqual(['search-a/2']);
      expect(await versions({ filter: "source_path = 's3://bucket/y'" })).toEqual(['search-a/2']);
      expect(await versions({ filter: "name = 'search-a'", order_by: ['version_number ASC'] })).toEqual(['search-a/1', 'search-a/2']);
      expectError(await call('GET', '/model-versions/search', { filter: "version_number = 'x'" }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('GET', '/model-versions/search', { filter: 'metrics.acc > 1' }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(
        await call('GET', '/model-versions/search', { order_by: ['version_number ASC', 'version_number DESC'] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /duplicate/,
      );
    });

    test("search: the prompt condition the official clients append (tags.`mlflow.prompt.is_prompt` != 'true') keeps models and hides prompts", async () => {
      const isPrompt = [{ key: 'mlflow.prompt.is_prompt', value: 'true' }];
      await call('POST', '/registered-models/create', { name: 'pr-model' });
      await call('POST', '/registered-models/create', { name: 'pr-prompt', tags: isPrompt });
      await call('POST', '/model-versions/create', { name: 'pr-model', source: 's3://bucket/pr/model' });
      // A prompt version's source is one of MLflow's placeholders (the server refuses any other for prompts).
      await call('POST', '/model-versions/create', { name: 'pr-prompt', source: 'dummy-source', tags: isPrompt });
      const names = async (filter: string) => (await call('GET', '/registered-models/search', { filter })).body.registered_models?.map((m: any) => m.name);
      const versions = async (filter: string) => (await call('GET', '/model-versions/search', { filter })).body.model_versions?.map((v: any) => v.name);
      // What MlflowClient.search_registered_models(filter_string="name LIKE 'pr-%'") sends (2.22 and 3.x).
      expect(await names("name LIKE 'pr-%' AND tags.`mlflow.prompt.is_prompt` != 'true'")).toEqual(['pr-model']);
      // Prompts are left out by default, and returned only when asked for.
      expect(await names("name LIKE 'pr-%'")).toEqual(['pr-model']);
      expect(await names("name LIKE 'pr-%' AND tags.`mlflow.prompt.is_prompt` = 'true'")).toEqual(['pr-prompt']);
      expect(await names("name LIKE 'pr-%' AND tags.`mlflow.prompt.is_prompt` != 'false'")).toEqual(['pr-prompt']);
      expect(await versions("name LIKE 'pr-%' AND tags.`mlflow.prompt.is_prompt` != 'true'")).toEqual(['pr-model']);
      expect(await versions("name LIKE 'pr-%'")).toEqual(['pr-model']);
      expect(await versions("name LIKE 'pr-%' AND tags.`mlflow.prompt.is_prompt` = 'true'")).toEqual(['pr-prompt']);
    });

    test('versions of one model created by concurrent clients get distinct, gapless numbers', async () => {
      await call('POST', '/registered-models/create', { name: 'race' });
      // Two clients, each firing 15 creates at once (30 in flight against one model's counter).
      const client = (c: number) =>
        Promise.all(
          Array.from({ length: 15 }, (_, i) => call('POST', '/model-versions/create', { name: 'race', source: `s3://bucket/client-${c}/model-${i}` })),
        );
      const results = (await Promise.all([client(1), client(2)])).flat();
      expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
      const numbers = results.map((r) => Number(r.body.model_version.version)).sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const stored = (await call('GET', '/model-versions/search', { filter: "name = 'race'", max_results: 100 })).body.model_versions;
      expect(stored).toHaveLength(30);
      // Every version kept its own source: no two requests were merged into one row.
      expect(new Set(stored.map((v: any) => v.source)).size).toBe(30);
    });

    test('audit trail: creations, transitions (incl. archived), alias set/move/delete, deletion, with run and source', async () => {
      await call('POST', '/registered-models/create', { name: 'audited' });
      await call('POST', '/model-versions/create', { name: 'audited', source: `runs:/${runId}/a`, run_id: runId });
      await call('POST', '/model-versions/create', { name: 'audited', source: `runs:/${runId}/b`, run_id: runId });
      await call('POST', '/model-versions/transition-stage', { name: 'audited', version: '1', stage: 'Production', archive_existing_versions: false });
      await call('POST', '/model-versions/transition-stage', { name: 'audited', version: '2', stage: 'Production', archive_existing_versions: true });
      await call('POST', '/registered-models/alias', { name: 'audited', alias: 'champion', version: '1' });
      await call('POST', '/registered-models/alias', { name: 'audited', alias: 'champion', version: '2' });
      await call('DELETE', '/registered-models/alias', { name: 'audited', alias: 'champion' });
      await call('POST', '/registered-models/alias', { name: 'audited', alias: 'old', version: '1' });
      await call('DELETE', '/model-versions/delete', { name: 'audited', version: '1' });

      const { status, body } = await call('GET', '/model-versions/audit', { name: 'audited' });
      expect(status).toBe(200);
      expect(body.entries.map((e: any) => [e.action, e.version, e.from_stage, e.to_stage, e.alias])).toEqual([
        ['create_registered_model', null, null, null, null],
        ['create_model_version', '1', null, 'None', null],
        ['create_model_version', '2', null, 'None', null],
        ['transition_stage', '1', 'None', 'Production', null],
        ['transition_stage', '1', 'Production', 'Archived', null],
        ['transition_stage', '2', 'None', 'Production', null],
        ['set_alias', '1', null, null, 'champion'],
        ['set_alias', '2', null, null, 'champion'],
        ['delete_alias', '2', null, null, 'champion'],
        ['set_alias', '1', null, null, 'old'],
        ['delete_alias', '1', null, null, 'old'],
        ['delete_model_version', '1', 'Archived', null, null],
      ]);
      const entry = body.entries[1];
      expect(Object.keys(entry).sort()).toEqual(
        ['action', 'alias', 'from_stage', 'id', 'name', 'previous_name', 'run_id', 'source', 'timestamp', 'to_stage', 'user_id', 'version'].sort(),
      );
      expect(entry).toMatchObject({ name: 'audited', user_id: null, run_id: runId, source: `runs:/${runId}/a` });
      expect(Math.abs(entry.timestamp - Date.now())).toBeLessThan(60_000);
      // Moving an alias records where it pointed before.
      expect(body.entries[7].source).toBe('models:/audited/1');
      const timestamps = body.entries.map((e: any) => e.timestamp);
      expect([...timestamps].sort((a, b) => a - b)).toEqual(timestamps);

      // One version's trail; the trail outlives the model.
      const v2 = await call('GET', '/model-versions/audit', { name: 'audited', version: '2' });
      expect(v2.body.entries.map((e: any) => e.action)).toEqual(['create_model_version', 'transition_stage', 'set_alias', 'delete_alias']);
      await call('DELETE', '/registered-models/delete', { name: 'audited' });
      const after = await call('GET', '/model-versions/audit', { name: 'audited' });
      expect(after.body.entries.at(-1).action).toBe('delete_registered_model');
      expect((await call('GET', '/model-versions/audit', { name: 'never-existed' })).body).toEqual({ entries: [] });
      expectError(await call('GET', '/model-versions/audit', {}), 400, 'INVALID_PARAMETER_VALUE', /name/);
      expectError(await call('GET', '/model-versions/audit', { name: 'audited', version: 'x' }), 400, 'INVALID_PARAMETER_VALUE');
      // The UI's path (ajax-api) answers the same.
      expect((await api(server.url, 'GET', '/model-versions/audit', { name: 'audited' }, '/ajax-api/2.0/mlflow')).body.entries).toHaveLength(
        after.body.entries.length,
      );
    });

    test('MLflow 3 logged models: create, get, params, tags, finalize, search, artifacts, register by models:/m-<id>, delete', async () => {
      const exp = (await call('POST', '/experiments/create', { name: 'logged-models' })).body.experiment_id;
      const run = (await call('POST', '/runs/create', { experiment_id: exp })).body.run.info;
      const created = await call('POST', '/logged-models', {
        experiment_id: exp,
        name: 'clf',
        model_type: 'sklearn',
        source_run_id: run.run_id,
        params: [{ key: 'C', value: '0.5' }],
        tags: [{ key: 'team', value: 'risk' }],
      });
      expect(created.status).toBe(200);
      const info = created.body.model.info;
      expect(info).toMatchObject({
        experiment_id: exp,
        name: 'clf',
        model_type: 'sklearn',
        source_run_id: run.run_id,
        status: 'LOGGED_MODEL_PENDING',
        tags: [{ key: 'team', value: 'risk' }],
      });
      expect(info.model_id).toMatch(/^m-[0-9a-f]{32}$/);
      expect(info.artifact_uri).toBe(`mlflow-artifacts:/${exp}/models/${info.model_id}/artifacts`);
      expect(created.body.model.data.params).toEqual([{ key: 'C', value: '0.5' }]);
      const id = info.model_id;

      expect((await call('POST', `/logged-models/${id}/params`, { model_id: id, params: [{ key: 'max_iter', value: '100' }] })).status).toBe(200);
      const tagged = await call('PATCH', `/logged-models/${id}/tags`, { model_id: id, tags: [{ key: 'stage', value: 'candidate' }] });
      expect(tagged.body.model.info.tags).toEqual([
        { key: 'stage', value: 'candidate' },
        { key: 'team', value: 'risk' },
      ]);
      expect((await call('DELETE', `/logged-models/${id}/tags/stage`)).status).toBe(200);
      expectError(await call('DELETE', `/logged-models/${id}/tags/stage`), 404, 'RESOURCE_DOES_NOT_EXIST');

      // Artifacts go through the proxy under the logged model's location; the listing endpoint finds them.
      await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/models/${id}/artifacts/MLmodel`, { method: 'PUT', body: 'flavors: {}\n' });
      await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/models/${id}/artifacts/data/model.pkl`, { method: 'PUT', body: 'xyz' });
      const listed = await call('GET', `/logged-models/${id}/artifacts/directories`, {});
      expect(listed.body).toEqual({
        root_uri: info.artifact_uri,
        files: [
          { path: 'data', is_dir: true },
          { path: 'MLmodel', is_dir: false, file_size: 12 },
        ],
      });
      const sub = await call('GET', `/logged-models/${id}/artifacts/directories`, { artifact_directory_path: 'data' });
      expect(sub.body.files).toEqual([{ path: 'data/model.pkl', is_dir: false, file_size: 3 }]);
      expectError(await call('GET', `/logged-models/${id}/artifacts/directories`, { artifact_directory_path: '../../x' }), 400, 'INVALID_PARAMETER_VALUE');

      const finalized = await call('PATCH', `/logged-models/${id}`, { model_id: id, status: 'LOGGED_MODEL_READY' });
      expect(finalized.body.model.info.status).toBe('LOGGED_MODEL_READY');
      expectError(await call('PATCH', `/logged-models/${id}`, { model_id: id, status: 'DONE' }), 400, 'INVALID_PARAMETER_VALUE');
      const got = await call('GET', `/logged-models/${id}`);
      expect(got.body.model.data.params).toEqual([
        { key: 'C', value: '0.5' },
        { key: 'max_iter', value: '100' },
      ]);

      const other = (await call('POST', '/logged-models', { experiment_id: exp, model_type: 'xgboost' })).body.model.info;
      expect(other.name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
      const search = async (body: Record<string, unknown>) =>
        (await call('POST', '/logged-models/search', { experiment_ids: [exp], ...body })).body.models.map((m: any) => m.info.model_id);
      expect(await search({ filter: "name = 'clf'" })).toEqual([id]);
      expect(await search({ filter: "model_type = 'xgboost'" })).toEqual([other.model_id]);
      expect(await search({ filter: "tags.team = 'risk' AND params.C = '0.5'" })).toEqual([id]);
      expect(await search({ filter: "status = 'LOGGED_MODEL_READY'" })).toEqual([id]);
      expect(await search({ order_by: [{ field_name: 'creation_timestamp', ascending: true }] })).toEqual([id, other.model_id]);
      const paged = await call('POST', '/logged-models/search', { experiment_ids: [exp], max_results: 1 });
      expect(paged.body.models).toHaveLength(1);
      expect(paged.body.next_page_token).toBeDefined();
      expectError(await call('POST', '/logged-models/search', { filter: "name = 'clf'" }), 400, 'INVALID_PARAMETER_VALUE', /experiment_ids/);
      expectError(await call('POST', '/logged-models/search', { experiment_ids: [exp], filter: "bogus = 'x'" }), 400, 'INVALID_PARAMETER_VALUE');

      // Registering models:/m-<id> resolves to the logged model's artifact location and records the registration.
      await call('POST', '/registered-models/create', { name: 'from-logged' });
      expectError(await call('POST', '/model-versions/create', { name: 'from-logged', source: `models:/${id}` }), 400, 'INVALID_PARAMETER_VALUE', /model_id/);
      const mv = await call('POST', '/model-versions/create', { name: 'from-logged', source: `models:/${id}`, model_id: id });
      expect(mv.body.model_version).toMatchObject({ source: `models:/${id}`, model_id: id, run_id: run.run_id, status: 'READY' });
      expect((await call('GET', '/model-versions/get-download-uri', { name: 'from-logged', version: '1' })).body.artifact_uri).toBe(info.artifact_uri);
      expect((await call('GET', `/logged-models/${id}`)).body.model.info.registrations).toEqual([{ name: 'from-logged', version: '1' }]);
      // A version of a version: models:/<name>/<n> sources resolve through the registry.
      const copy = await call('POST', '/model-versions/create', { name: 'from-logged', source: 'models:/from-logged/1' });
      expect(copy.body.model_version.source).toBe('models:/from-logged/1');
      expect((await call('GET', '/model-versions/get-download-uri', { name: 'from-logged', version: '2' })).body.artifact_uri).toBe(info.artifact_uri);

      expect((await call('DELETE', `/logged-models/${other.model_id}`)).status).toBe(200);
      expectError(await call('GET', `/logged-models/${other.model_id}`), 404, 'RESOURCE_DOES_NOT_EXIST', /not found/);
      expect(await search({})).toEqual([id]);
      expectError(await call('GET', '/logged-models/m-00000000000000000000000000000000'), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectError(await call('POST', '/logged-models', { experiment_id: '999' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectError(await call('POST', '/logged-models', { experiment_id: exp, name: 'bad/name' }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(await call('POST', '/logged-models', {}), 400, 'INVALID_PARAMETER_VALUE', /experiment_id/);
    });

    test('logged-model metrics: log-metric / log-batch with model_id, returned in data.metrics, filtered, ordered, restricted to datasets', async () => {
      const exp = (await call('POST', '/experiments/create', { name: 'logged-model-metrics' })).body.experiment_id;
      const run = (await call('POST', '/runs/create', { experiment_id: exp })).body.run.info;
      const make = async (name: string) =>
        (await call('POST', '/logged-models', { experiment_id: exp, name, source_run_id: run.run_id })).body.model.info.model_id as string;
      const [a, b, c] = [await make('a'), await make('b'), await make('c')];

      // a: auc 0.7 at step 0, later 0.95 at step 1 (its latest); b: 0.85 on 'test' and 0.6 on 'train'; c: none.
      const one = (model_id: string, key: string, value: number, step: number, timestamp: number, ds?: [string, string]) =>
        call('POST', '/runs/log-metric', {
          run_id: run.run_id,
          key,
          value,
          step,
          timestamp,
          model_id,
          ...(ds ? { dataset_name: ds[0], dataset_digest: ds[1] } : {}),
        });
      expect((await one(a, 'auc', 0.7, 0, 1000)).status).toBe(200);
      expect((await one(a, 'auc', 0.95, 1, 2000)).status).toBe(200);
      const batch = await call('POST', '/runs/log-batch', {
        run_id: run.run_id,
        metrics: [
          { key: 'auc', value: 0.85, step: 0, timestamp: 3000, model_id: b, dataset_name: 'test', dataset_digest: 'd1' },
          { key: 'auc', value: 0.6, step: 0, timestamp: 3000, model_id: b, dataset_name: 'train', dataset_digest: 'd2' },
          { key: 'loss', value: 0.2, step: 0, timestamp: 3000 },
        ],
      });
      expect(batch.status).toBe(200);
      // A retried request adds nothing.
      expect((await one(a, 'auc', 0.95, 1, 2000)).status).toBe(200);

      const gotA = (await call('GET', `/logged-models/${a}`)).body.model;
      expect(gotA.data.metrics).toEqual([
        { key: 'auc', value: 0.7, step: 0, timestamp: 1000, run_id: run.run_id, model_id: a },
        { key: 'auc', value: 0.95, step: 1, timestamp: 2000, run_id: run.run_id, model_id: a },
      ]);
      const gotB = (await call('GET', `/logged-models/${b}`)).body.model;
      expect(gotB.data.metrics).toEqual([
        { key: 'auc', value: 0.85, step: 0, timestamp: 3000, run_id: run.run_id, model_id: b, dataset_name: 'test', dataset_digest: 'd1' },
        { key: 'auc', value: 0.6, step: 0, timestamp: 3000, run_id: run.run_id, model_id: b, dataset_name: 'train', dataset_digest: 'd2' },
      ]);
      expect((await call('GET', `/logged-models/${c}`)).body.model.data.metrics).toEqual([]);
      // The points also land on the run, as before (latest auc of the run: step 1).
      const runMetrics = (await call('GET', '/runs/get', { run_id: run.run_id })).body.run.data.metrics;
      expect(runMetrics.find((m: any) => m.key === 'auc')).toMatchObject({ value: 0.95, step: 1 });
      expect(runMetrics.find((m: any) => m.key === 'loss')).toMatchObject({ value: 0.2 });
      // finalize answers with the metrics too.
      expect((await call('PATCH', `/logged-models/${a}`, { model_id: a, status: 'LOGGED_MODEL_READY' })).body.model.data.metrics).toHaveLength(2);

      const search = async (body: Record<string, unknown>) => {
        const r = await call('POST', '/logged-models/search', { experiment_ids: [exp], ...body });
        expect(r.status).toBe(200);
        return r.body.models.map((m: any) => m.info.name);
      };
      // Any logged point satisfies a filter (MLflow compares against every metric row of the key).
      expect((await search({ filter: 'metrics.auc > 0.8' })).sort()).toEqual(['a', 'b']);
      expect(await search({ filter: 'metrics.auc < 0.65' })).toEqual(['b']);
      expect(await search({ filter: "metrics.auc >= 0.95 AND name = 'a'" })).toEqual(['a']);
      expect(await search({ filter: 'metrics.loss > 0' })).toEqual([]);
      // datasets restrict metric filters, and without one, the models.
      expect(await search({ filter: 'metrics.auc > 0.8', datasets: [{ dataset_name: 'train' }] })).toEqual([]);
      expect(await search({ filter: 'metrics.auc > 0.8', datasets: [{ dataset_name: 'test', dataset_digest: 'd1' }] })).toEqual(['b']);
      expect(await search({ filter: 'metrics.auc > 0.8', datasets: [{ dataset_name: 'test', dataset_digest: 'other' }] })).toEqual([]);
      expect(await search({ datasets: [{ dataset_name: 'train' }, { dataset_name: 'nope' }] })).toEqual(['b']);
      // Ordering uses each model's latest point (a: 0.95; b's latest by timestamp ties, highest value 0.85); no metric sorts last.
      expect(await search({ order_by: [{ field_name: 'metrics.auc', ascending: false }] })).toEqual(['a', 'b', 'c']);
      expect(await search({ order_by: [{ field_name: 'metrics.auc', ascending: true }] })).toEqual(['b', 'a', 'c']);
      // On one dataset only b has the key: it comes first, the others after it.
      expect((await search({ order_by: [{ field_name: 'metrics.auc', ascending: false, dataset_name: 'train', dataset_digest: 'd2' }] }))[0]).toBe('b');
      expect((await search({ order_by: [{ field_name: 'metrics.auc', ascending: false, dataset_name: 'test' }] }))[0]).toBe('b');

      // Bad inputs.
      expectError(await one('m-00000000000000000000000000000000', 'auc', 1, 0, 1), 404, 'RESOURCE_DOES_NOT_EXIST', /Logged model with ID 'm-0+' not found/);
      expectError(await one('not-a-model', 'auc', 1, 0, 1), 404, 'RESOURCE_DOES_NOT_EXIST');
      // The whole batch is rejected: the run gets nothing either.
      const rejected = await call('POST', '/runs/log-batch', {
        run_id: run.run_id,
        metrics: [
          { key: 'fresh', value: 1, timestamp: 1 },
          { key: 'fresh2', value: 1, timestamp: 1, model_id: 'm-ffffffffffffffffffffffffffffffff' },
        ],
      });
      expectError(rejected, 404, 'RESOURCE_DOES_NOT_EXIST');
      expect((await call('GET', '/runs/get', { run_id: run.run_id })).body.run.data.metrics.map((m: any) => m.key)).not.toContain('fresh');
      expectError(await one(a, 'auc', 1, 0, 1, ['x'.repeat(501), 'd']), 400, 'INVALID_PARAMETER_VALUE', /dataset_name/);
      expectError(
        await call('POST', '/logged-models/search', { experiment_ids: [exp], filter: "metrics.auc > 'high'" }),
        400,
        'INVALID_PARAMETER_VALUE',
        /number/,
      );
      expectError(await call('POST', '/logged-models/search', { experiment_ids: [exp], filter: 'metrics.auc LIKE 0.5' }), 400, 'INVALID_PARAMETER_VALUE');
      expectError(
        await call('POST', '/logged-models/search', { experiment_ids: [exp], datasets: [{ dataset_name: '' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /dataset_name/,
      );
      expectError(
        await call('POST', '/logged-models/search', { experiment_ids: [exp], order_by: [{ field_name: 'params.C' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      // A deleted model takes no more metrics.
      expect((await call('DELETE', `/logged-models/${c}`)).status).toBe(200);
      expectError(await one(c, 'auc', 1, 0, 1), 404, 'RESOURCE_DOES_NOT_EXIST');
    });

    test("2.x runs/log-model appends to the run's mlflow.log-model.history tag", async () => {
      const model = { run_id: runId, artifact_path: 'model', utc_time_created: '2024-01-01 00:00:00', flavors: { sklearn: {} }, signature: { inputs: '[]' } };
      expect((await call('POST', '/runs/log-model', { run_id: runId, model_json: JSON.stringify(model) })).status).toBe(200);
      expect((await call('POST', '/runs/log-model', { run_id: runId, model_json: JSON.stringify({ ...model, artifact_path: 'model2' }) })).status).toBe(200);
      const tags = (await call('GET', '/runs/get', { run_id: runId })).body.run.data.tags;
      const history = JSON.parse(tags.find((t: any) => t.key === 'mlflow.log-model.history').value);
      expect(history.map((h: any) => h.artifact_path)).toEqual(['model', 'model2']);
      expectError(await call('POST', '/runs/log-model', { run_id: runId, model_json: '{not json' }), 400, 'INVALID_PARAMETER_VALUE', /Malformed model info/);
      expectError(
        await call('POST', '/runs/log-model', { run_id: runId, model_json: '{"run_id": "x"}' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /missing mandatory fields/,
      );
      expectError(await call('POST', '/runs/log-model', { run_id: 'abcdef0123', model_json: JSON.stringify(model) }), 404, 'RESOURCE_DOES_NOT_EXIST');
    });
  });
}
