import { startInferenceServer, type RunningInferenceServer } from '../../runtime/inference';
import { REQUEST_LIMITS } from '../../runtime/tracking/http/limits';
import { trimSlashes, trimTrailingSlashes } from '../../runtime/slashes';
import { describeWithTool } from '../helpers/tools';
import { expected, model } from '../inference/helpers';
import { storeAvailability, storeKinds } from '../tracking/helpers';
import {
  ADMIN,
  USER,
  clauses,
  hostileRequests,
  isMlflowError,
  nestedArrays,
  startSecureServer,
  watchHealth,
  type Reply,
  type SecureServer,
  type Who,
} from './limits-helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * Replays of issue 14 finding 5 against a real tracking server (basic-auth on, both stores) and a real
 * inference server: every list and expression a request carries is capped and answered with a 400 in
 * MLflow's error shape; hostile bodies never become a 500, a stack overflow or a held event loop.
 */

const API = '/api/2.0/mlflow';
const L = REQUEST_LIMITS;

function expectInvalid(r: Reply, message: RegExp): void {
  expect({ status: r.status, isMlflowError: isMlflowError(r.body), code: r.body?.error_code }).toEqual({
    status: 400,
    isMlflowError: true,
    code: 'INVALID_PARAMETER_VALUE',
  });
  expect(r.body.message).toMatch(message);
  // The answer never echoes a hostile input back whole.
  expect(r.text.length).toBeLessThan(2_000);
}

for (const kind of storeKinds()) {
  describeWithTool(`request limits on ${kind} (basic-auth on)`, storeAvailability(kind), () => {
    let server: SecureServer;
    let exp: string;
    let runId: string;
    const as = (who: Who | null) => (method: string, path: string, payload?: unknown) => server.call(who, method, `${API}${path}`, payload);
    const user = as(USER);

    beforeAll(async () => {
      server = await startSecureServer(kind);
      exp = (await user('POST', '/experiments/create', { name: 'limits' })).body.experiment_id;
      runId = (await user('POST', '/runs/create', { experiment_id: exp })).body.run.info.run_id;
      expect((await user('POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1, step: 0 })).status).toBe(200);
    });
    afterAll(() => ifStarted(server)?.stop());

    test('every request of the finding is a 400 INVALID_PARAMETER_VALUE naming the cap, and /health answers throughout', async () => {
      const health = watchHealth(server.url);
      const failures: string[] = [];
      for (const h of hostileRequests(exp)) {
        const r = await as(h.who ?? USER)(h.method, h.path, h.payload);
        try {
          expectInvalid(r, h.message);
        } catch (err) {
          failures.push(`${h.name}: ${r.status} ${r.text.slice(0, 300)}\n${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
        }
      }
      const seen = await health.stop();
      expect(failures).toEqual([]);
      expect(seen.failures).toEqual([]);
      expect(seen.answered).toBeGreaterThan(0);
    });

    test('at the caps the same searches are answered (20 clauses, 10 order_by terms, 1,000 IN values)', async () => {
      const ok = async (method: string, path: string, payload: unknown) => {
        const r = await user(method, path, payload);
        expect({ path, status: r.status, body: r.status === 200 ? 'ok' : r.body }).toEqual({ path, status: 200, body: 'ok' });
        return r.body;
      };
      const twenty = clauses(L.FILTER_MAX_CLAUSES, (i) => (i === 0 ? 'metrics.m >= 1' : `params.p${i} != 'x'`));
      // A missing param is not != 'x' (MLflow's semantics): so one clause, then nineteen IS NULL checks.
      const matching = clauses(L.FILTER_MAX_CLAUSES, (i) => (i === 0 ? 'metrics.m >= 1' : `params.p${i} IS NULL`));
      expect((await ok('POST', '/runs/search', { experiment_ids: [exp], filter: twenty })).runs).toEqual([]);
      expect(
        (
          await ok('POST', '/runs/search', {
            experiment_ids: [exp],
            filter: matching,
            order_by: Array.from({ length: L.ORDER_BY_MAX_TERMS }, (_, i) => `metrics.m${i} DESC`),
          })
        ).runs,
      ).toHaveLength(1);
      const ids = [runId, ...Array.from({ length: L.FILTER_MAX_IN_VALUES - 1 }, (_, i) => `r${i}`)];
      expect(
        (await ok('POST', '/runs/search', { experiment_ids: [exp], filter: `attributes.run_id IN (${ids.map((i) => `'${i}'`).join(',')})` })).runs,
      ).toHaveLength(1);
      await ok('GET', '/registered-models/search', { filter: clauses(L.FILTER_MAX_CLAUSES, (i) => `tags.t${i} != 'x'`) });
      await ok('GET', '/model-versions/search', { filter: clauses(L.FILTER_MAX_CLAUSES, (i) => `tags.t${i} != 'x'`) });
      await ok('POST', '/experiments/search', { filter: clauses(L.FILTER_MAX_CLAUSES, (i) => `tags.t${i} IS NULL`) });
      await ok('POST', '/logged-models/search', {
        experiment_ids: [exp],
        filter: clauses(L.FILTER_MAX_CLAUSES, (i) => `metrics.m${i} > 0`),
        datasets: Array.from({ length: L.SEARCH_MAX_DATASETS }, (_, i) => ({ dataset_name: `d${i}` })),
      });
    });

    test('a 10,000-deep JSON body is a 400 on every JSON endpoint of the route table (as admin, so every one parses it)', async () => {
      const routes = server.routes.filter((r) => ['POST', 'PATCH', 'PUT', 'DELETE'].includes(r.method) && r.url.startsWith(`${API}/`));
      expect(routes.length).toBeGreaterThan(40);
      const body = `{"x": ${nestedArrays(10_000)}}`;
      const failures: string[] = [];
      for (const route of routes) {
        const path = route.url.replace(/:model_id/g, `m-${'0'.repeat(32)}`).replace(/:[a-z_]+/g, 'k');
        const r = await server.call(ADMIN, route.method, path, body);
        if (r.status !== 400 || !isMlflowError(r.body) || !/nested deeper than 64 levels/.test(r.body.message))
          failures.push(`${route.method} ${route.url}: ${r.status} ${r.text.slice(0, 200)}`);
      }
      expect(failures).toEqual([]);
    });

    test('a 16 MB body of nesting on the largest-limit endpoint is refused before parsing; one over 1 MiB elsewhere by its size', async () => {
      const health = watchHealth(server.url);
      const deep = await user('POST', '/runs/log-inputs', nestedArrays(8 * 1024 * 1024 - 8));
      const big = await user('POST', '/runs/set-tag', { run_id: runId, key: 'k', value: 'x'.repeat(L.BODY_DEFAULT_BYTES) });
      const seen = await health.stop();
      expectInvalid(deep, /nested deeper than 64 levels/);
      expectInvalid(big, /exceeds the 1048576-byte limit/);
      expect(seen.failures).toEqual([]);
    });

    test('runs/log-model with a deeply nested model_json is a 400, not a 500 from serializing it back', async () => {
      const modelJson = `{"artifact_path": "m", "flavors": ${nestedArrays(20_000)}, "utc_time_created": "now", "run_id": "${runId}"}`;
      expectInvalid(
        await user('POST', '/runs/log-model', { run_id: runId, model_json: modelJson }),
        /'model_json' has arrays and objects nested deeper than 64 levels/,
      );
    });

    test('a mlflow.modelVersions tag that is not a list does not break registering from the logged model (was a 500)', async () => {
      const lm = (await user('POST', '/logged-models', { experiment_id: exp, name: 'tagged' })).body.model;
      const id = lm.info.model_id as string;
      expect((await user('PATCH', `/logged-models/${id}/tags`, { tags: [{ key: 'mlflow.modelVersions', value: '{"not": "a list"}' }] })).status).toBe(200);
      expect((await user('GET', `/logged-models/${id}`)).body.model.info.registrations).toEqual([]);
      expect((await user('POST', '/registered-models/create', { name: `from-tagged-${kind}` })).status).toBe(200);
      const mv = await user('POST', '/model-versions/create', { name: `from-tagged-${kind}`, source: `models:/${id}`, model_id: id });
      expect({ status: mv.status, body: mv.status === 200 ? 'ok' : mv.body }).toEqual({ status: 200, body: 'ok' });
      expect((await user('GET', `/logged-models/${id}`)).body.model.info.registrations).toEqual([{ name: `from-tagged-${kind}`, version: '1' }]);
    });

    test('a models:/ source with 200,000 slashes is answered at once (trailing-slash regex backtracked quadratically)', async () => {
      const name = `slashes-${kind}`;
      expect((await user('POST', '/registered-models/create', { name })).status).toBe(200);
      const health = watchHealth(server.url);
      const r = await user('POST', '/model-versions/create', { name, source: `models:/${name}${'/'.repeat(200_000)}x` });
      const seen = await health.stop();
      expect(r.status).toBe(400);
      expect(isMlflowError(r.body)).toBe(true);
      expect(seen.failures).toEqual([]);
    });

    test('NUL characters (PostgreSQL refuses them in text) are a 400 in bodies, query strings and paths on both stores', async () => {
      expectInvalid(await user('POST', '/runs/set-tag', { run_id: runId, key: 'k', value: 'a\u0000b' }), /NUL character/);
      expectInvalid(await user('POST', '/runs/search', { experiment_ids: [exp], filter: "tags.t = '\u0000'" }), /NUL character/);
      expectInvalid(await user('GET', '/registered-models/search', "filter=name%20%3D%20'%00'"), /NUL character/);
      expectInvalid(await user('DELETE', `/logged-models/m-${'0'.repeat(32)}/tags/a%00b`), /NUL character/);
      // An escaped backslash followed by the text u0000 is no NUL.
      expect((await user('POST', '/runs/set-tag', { run_id: runId, key: 'k', value: '\\u0000' })).status).toBe(200);
      expect((await user('GET', '/runs/get', { run_id: runId })).body.run.data.tags).toContainEqual({ key: 'k', value: '\\u0000' });
    });

    test('numeric bounds no integer column can hold compare as on integers (were PostgreSQL errors: 500)', async () => {
      const runs = async (filter: string) => {
        const r = await user('POST', '/runs/search', { experiment_ids: [exp], filter });
        expect({ filter, status: r.status }).toEqual({ filter, status: 200 });
        return r.body.runs.length as number;
      };
      expect(await runs('attributes.start_time > 0.5')).toBe(1);
      expect(await runs('attributes.start_time >= -1e309')).toBe(1);
      expect(await runs('attributes.start_time < 1e309')).toBe(1);
      expect(await runs('attributes.start_time = 0.5')).toBe(0);
      expect(await runs('attributes.start_time != 0.5')).toBe(1);
      expect(await runs('attributes.start_time > 99999999999999999999')).toBe(0);
      const experiments = await user('POST', '/experiments/search', {
        filter: 'attribute.creation_time >= 0.5 AND attributes.experiment_id < 9007199254740993',
      });
      expect(experiments.status).toBe(200);
      expect(experiments.body.experiments.map((e: { name: string }) => e.name)).toContain('limits');
      const versions = await user('GET', '/model-versions/search', { filter: 'version_number = 9007199254740993' });
      expect({ status: versions.status, versions: versions.body.model_versions ?? [] }).toEqual({ status: 200, versions: [] });
      const models = await user('POST', '/logged-models/search', { experiment_ids: [exp], filter: 'creation_timestamp > 0.5 AND creation_timestamp < 1e309' });
      expect(models.status).toBe(200);
      expectInvalid(await user('GET', '/experiments/get', { experiment_id: '9007199254740993' }), /Invalid experiment ID/);
    });

    test('anonymous and admin requests meet the same caps', async () => {
      const filter = clauses(21, (i) => `tags.t${i} = 'x'`);
      expect((await as(null)('POST', '/experiments/search', { filter })).status).toBe(401);
      expectInvalid(await as(ADMIN)('POST', '/experiments/search', { filter }), /at most 20 comparisons/);
    });
  });
}

test('slash trimming is linear: a megabyte of slashes before a letter', () => {
  const s = `${'/'.repeat(1_000_000)}x${'/'.repeat(1_000_000)}`;
  expect(trimTrailingSlashes(s)).toBe(`${'/'.repeat(1_000_000)}x`);
  expect(trimSlashes(s)).toBe('x');
  expect(trimSlashes('///')).toBe('');
});

describe('inference server: over-deep and over-large input is the protocol’s 400', () => {
  let server: RunningInferenceServer;
  const cols = expected.columns;
  beforeAll(async () => {
    server = await startInferenceServer({ model: model('churn-logreg'), port: 0, workers: 1, logger: false, defaultMetrics: false });
  });
  afterAll(() => ifStarted(server)?.close());

  const post = async (path: string, body: string, contentType = 'application/json') => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, text };
  };
  const deep = nestedArrays(10_000);

  test.each([
    ['instances', `{"instances": ${deep}}`],
    ['inputs (one tensor)', `{"inputs": ${deep}}`],
    ['inputs (named)', `{"inputs": {"${cols[0]}": ${deep}}}`],
    ['instances (named)', `{"instances": {"float_input": ${deep}}}`],
    ['dataframe_split data', `{"dataframe_split": {"columns": ${JSON.stringify(cols)}, "data": ${deep}}}`],
    ['dataframe_records', `{"dataframe_records": ${deep}}`],
  ])('/invocations %s nested 10,000 deep: 400 in MLflow’s shape', async (_name, body) => {
    const r = await post('/invocations', body);
    expect({ status: r.status, code: r.body?.error_code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(r.text.length).toBeLessThan(2_000);
  });

  test('v2 infer with data nested 10,000 deep: 400 in the v2 error shape', async () => {
    const name = server.model().name;
    const r = await post(`/v2/models/${name}/infer`, `{"inputs": [{"name": "float_input", "shape": [1, 4], "datatype": "FP32", "data": ${deep}}]}`);
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['error']);
    expect(r.body.error).toMatch(/nested deeper than 40 levels/);
  });

  test('v2 infer with data nested 36 deep (under the body pre-check): the tensor check’s 400', async () => {
    const name = server.model().name;
    const r = await post(`/v2/models/${name}/infer`, `{"inputs": [{"name": "float_input", "shape": [1, 4], "datatype": "FP32", "data": ${nestedArrays(36)}}]}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/nested more than 32 levels/);
  });

  test('dataframe_records with a new column name in every record: a 400 at once (was names × rows work)', async () => {
    const records = Array.from({ length: 100_000 }, (_, i) => `{"c${i}": 1}`).join(',');
    const r = await post('/invocations', `{"dataframe_records": [${records}]}`);
    expect({ status: r.status, code: r.body?.error_code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(r.body.message).toMatch(/missing column/);
  });

  test('dataframe_split and CSV with many columns and short rows: a 400 before allocating columns × rows', async () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `c${i}`);
    const split = await post('/invocations', JSON.stringify({ dataframe_split: { columns: names, data: Array.from({ length: 20_000 }, () => []) } }));
    expect({ status: split.status, code: split.body?.error_code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(split.body.message).toMatch(/data\[0\] has 0 values for 20000 columns/);
    const csv = await post('/invocations', `${names.join(',')}\n${Array.from({ length: 200_000 }, () => 'x').join('\n')}\n`, 'text/csv');
    expect({ status: csv.status, code: csv.body?.error_code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(csv.body.message).toMatch(/row 1 has 1 fields, the header has 20000/);
  });

  test('the server still predicts after all of the above', async () => {
    const r = await post('/invocations', JSON.stringify({ dataframe_split: { columns: cols, data: expected.rows } }));
    expect(r.status).toBe(200);
    expect(r.body.predictions).toHaveLength(expected.rows.length);
  });
});
