import { startInferenceServer, type RunningInferenceServer } from '../../runtime/inference';
import { describeWithTool } from '../helpers/tools';
import { expected, model } from '../inference/helpers';
import { storeAvailability, storeKinds } from '../tracking/helpers';
import {
  ADMIN,
  Rng,
  fuzzFilter,
  fuzzObject,
  fuzzOrderBy,
  fuzzValue,
  isMlflowError,
  queryString,
  startSecureServer,
  type FuzzContext,
  type Reply,
  type Route,
  type SecureServer,
} from './limits-helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * A bounded, seeded fuzz of the filter DSL and of every JSON endpoint in the tracking server's route
 * table (basic-auth on, as the admin so requests reach the handlers), and of the inference server's
 * /invocations and v2 infer. Asserted: never a 5xx, MLflow's error JSON on every 4xx (v2's {"error"}
 * there), and a live /health at the end. A failure names its seed: rerun with MLOPS_FUZZ_SEED=<seed>.
 */

const SEED = Number(process.env.MLOPS_FUZZ_SEED ?? 20_240_514);
/** MLOPS_FUZZ_SCALE=10 for a longer hunt; the default keeps each store well under a minute. */
const SCALE = Number(process.env.MLOPS_FUZZ_SCALE ?? 1);
const API = '/api/2.0/mlflow';
const API_V3 = '/api/3.0/mlflow';
/** Requests per endpoint: filters per search endpoint, bodies per JSON route, queries per GET route. */
const FILTERS = 80 * SCALE;
const BODIES = 8 * SCALE;
const QUERIES = 3 * SCALE;
const INVOCATIONS = 150 * SCALE;

/** JSON text of a value, or undefined for those JSON has no text for (undefined itself): lib.d.ts types it as always a string. */
function jsonText(value: unknown): string | undefined {
  return JSON.stringify(value);
}

/** What went wrong with one request, with what is needed to replay it. */
function problem(
  seed: number,
  what: string,
  method: string,
  path: string,
  payload: unknown,
  r: Reply,
  errorShape: (body: unknown) => boolean,
): string | undefined {
  if (r.status < 500 && (r.status < 400 || errorShape(r.body))) return undefined;
  const sent = typeof payload === 'string' ? payload : jsonText(payload);
  return `seed ${seed}, ${what}: ${method} ${path} ${sent?.slice(0, 300)} → ${r.status} ${r.text.slice(0, 300)}`;
}

/** A trace the fuzz's trace routes find. */
const FUZZ_TRACE = 'tr-f0220000000000000000000000000001';

/** Fills a route's path parameters with values that exist or look plausible. */
function concretePath(route: Route, ctx: FuzzContext, rng: Rng): string {
  return route.url
    .replace(/:model_id/g, rng.chance(0.7) ? ctx.modelId : `m-${'0'.repeat(32)}`)
    .replace(/:(trace_id|request_id)/g, rng.chance(0.7) ? FUZZ_TRACE : `tr-${'0'.repeat(32)}`)
    .replace(/:[a-z_]+/g, () => encodeURIComponent(rng.pick(['k', 'mlflow.x', '..', '%2e', 'é'])));
}

/** The API routes the fuzz covers: one prefix per API version (the ajax ones mount the same handlers), no artifact streams. */
function apiRoutes(routes: Route[]): Route[] {
  return routes.filter((r) => (r.url.startsWith(`${API}/`) || r.url.startsWith(`${API_V3}/`)) && r.method !== 'HEAD' && r.method !== 'OPTIONS');
}

for (const kind of storeKinds()) {
  describeWithTool(`fuzz on ${kind} (basic-auth on)`, storeAvailability(kind), () => {
    let server: SecureServer;
    let ctx: FuzzContext;
    const admin = (method: string, path: string, payload?: unknown) => server.call(ADMIN, method, `${API}${path}`, payload);

    beforeAll(async () => {
      server = await startSecureServer(kind);
      const experimentId = (await admin('POST', '/experiments/create', { name: 'fuzz' })).body.experiment_id;
      const runId = (await admin('POST', '/runs/create', { experiment_id: experimentId })).body.run.info.run_id;
      await admin('POST', '/runs/log-batch', {
        run_id: runId,
        metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
        params: [{ key: 'lr', value: '0.01' }],
        tags: [{ key: 't', value: 'x' }],
      });
      const modelId = (await admin('POST', '/logged-models', { experiment_id: experimentId, name: 'fuzz-model', source_run_id: runId })).body.model.info
        .model_id;
      await admin('POST', '/registered-models/create', { name: 'fuzz-model' });
      await admin('POST', '/model-versions/create', { name: 'fuzz-model', source: `runs:/${runId}/model`, run_id: runId });
      ctx = { experimentId, runId, modelName: 'fuzz-model', modelId };
      const location = { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } };
      await server.call(ADMIN, 'POST', `${API_V3}/traces`, {
        trace: { trace_info: { trace_id: FUZZ_TRACE, trace_location: location, request_time: '2025-01-01T00:00:00Z', state: 'OK', tags: { t: 'x' } } },
      });
    });
    afterAll(() => ifStarted(server)?.stop());

    test(`filter and order_by strings on the six search endpoints (${FILTERS} each, seed ${SEED})`, async () => {
      const rng = new Rng(SEED);
      const searches: Array<{ method: string; path: string; payload: () => Record<string, unknown> }> = [
        {
          method: 'POST',
          path: '/runs/search',
          payload: () => ({
            experiment_ids: [ctx.experimentId],
            filter: fuzzFilter(rng, 'runs'),
            ...(rng.chance(0.3) ? { order_by: [fuzzOrderBy(rng)] } : {}),
          }),
        },
        {
          method: 'POST',
          path: '/experiments/search',
          payload: () => ({ filter: fuzzFilter(rng, 'experiments'), ...(rng.chance(0.3) ? { order_by: [fuzzOrderBy(rng)] } : {}) }),
        },
        {
          method: 'GET',
          path: '/registered-models/search',
          payload: () => ({ filter: fuzzFilter(rng, 'registered-models'), ...(rng.chance(0.3) ? { order_by: fuzzOrderBy(rng) } : {}) }),
        },
        {
          method: 'GET',
          path: '/model-versions/search',
          payload: () => ({ filter: fuzzFilter(rng, 'model-versions'), ...(rng.chance(0.3) ? { order_by: fuzzOrderBy(rng) } : {}) }),
        },
        {
          method: 'POST',
          path: '/logged-models/search',
          payload: () => ({
            experiment_ids: [ctx.experimentId],
            filter: fuzzFilter(rng, 'logged-models'),
            ...(rng.chance(0.3) ? { order_by: [{ field_name: fuzzOrderBy(rng), ascending: rng.chance(0.5) }] } : {}),
          }),
        },
        {
          method: 'POST',
          path: `${API_V3}/traces/search`,
          payload: () => ({
            locations: [{ mlflow_experiment: { experiment_id: ctx.experimentId } }],
            filter: fuzzFilter(rng, 'runs'),
            ...(rng.chance(0.3) ? { order_by: [fuzzOrderBy(rng)] } : {}),
          }),
        },
      ];
      const failures: string[] = [];
      let answered200 = 0;
      for (const s of searches) {
        for (let i = 0; i < FILTERS; i++) {
          const payload = s.payload();
          const r = s.path.startsWith('/api/')
            ? await server.call(ADMIN, s.method, s.path, payload)
            : await admin(s.method, s.path, s.method === 'GET' ? queryString(payload) : payload);
          if (r.status === 200) answered200++;
          const p = problem(SEED, `filter #${i}`, s.method, s.path, payload, r, isMlflowError);
          if (p) failures.push(p);
        }
      }
      expect(failures).toEqual([]);
      // The grammar is near-valid: a fair share of the filters are real searches, not only 400s.
      expect(answered200).toBeGreaterThan(FILTERS / 2);
      expect((await server.call(null, 'GET', '/health')).status).toBe(200);
    });

    test(`random JSON bodies on every JSON route, random queries on every GET route (seed ${SEED})`, async () => {
      const rng = new Rng(SEED + 1);
      const routes = apiRoutes(server.routes);
      const withBody = routes.filter((r) => r.method !== 'GET');
      expect(withBody.length).toBeGreaterThan(40);
      const failures: string[] = [];
      for (const route of routes) {
        const n = route.method === 'GET' ? QUERIES : BODIES;
        for (let i = 0; i < n; i++) {
          const path = concretePath(route, ctx, rng);
          // Mostly objects of MLflow field names; sometimes any JSON value, or text that is not JSON.
          const payload: unknown =
            route.method === 'GET'
              ? queryString(fuzzObject(rng, ctx))
              : rng.chance(0.85)
                ? fuzzObject(rng, ctx)
                : rng.chance(0.5)
                  ? fuzzValue(rng, ctx)
                  : rng.pick(['{', '[1,]', '{"a":1}{', '"\\ud800"', 'null', '{"a": NaN}', '\u0000']);
          const r = await server.call(ADMIN, route.method, path, route.method !== 'GET' && typeof payload !== 'string' ? JSON.stringify(payload) : payload);
          const p = problem(SEED + 1, `${route.method} ${route.url} #${i}`, route.method, path, payload, r, isMlflowError);
          if (p) failures.push(p);
        }
      }
      expect(failures).toEqual([]);
      expect((await server.call(null, 'GET', '/health')).status).toBe(200);
    });
  });
}

describe('fuzz: inference server /invocations and v2 infer', () => {
  let server: RunningInferenceServer;
  beforeAll(async () => {
    server = await startInferenceServer({ model: model('churn-logreg'), port: 0, workers: 1, logger: false, defaultMetrics: false });
  });
  afterAll(() => ifStarted(server)?.close());

  const send = async (path: string, body: string, contentType: string): Promise<Reply> => {
    const started = performance.now();
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, text, ms: performance.now() - started };
  };
  const v2Error = (b: unknown) => !!b && typeof b === 'object' && Object.keys(b).length === 1 && typeof (b as { error?: unknown }).error === 'string';

  /** A near-valid table or tensor: the fixture's rows with some values, shapes or names broken. */
  function tableLike(rng: Rng): unknown[] {
    const rows = expected.rows.slice(0, 1 + rng.int(expected.rows.length)).map((r) => r.map((v) => (rng.chance(0.1) ? fuzzValue(rng, NO_CTX) : v)));
    if (rng.chance(0.2)) rows.push(rng.pick([[], [1], [[1, 2, 3, 4]], expected.rows[0].concat(5)]));
    return rows;
  }
  const NO_CTX: FuzzContext = { experimentId: '0', runId: 'r', modelName: 'churn-logreg', modelId: 'm' };

  test(`random MLflow-scoring, CSV and v2 bodies (seed ${SEED})`, async () => {
    const rng = new Rng(SEED + 2);
    const cols = expected.columns;
    const failures: string[] = [];
    for (let i = 0; i < INVOCATIONS; i++) {
      const rows = tableLike(rng);
      const names = rng.chance(0.8) ? cols : cols.map((c) => (rng.chance(0.3) ? String(fuzzValue(rng, NO_CTX)) : c));
      const records = rows.map((r) => Object.fromEntries(names.map((c, j) => [c, (r as unknown[])[j]])));
      const body = rng.pick<unknown>([
        { dataframe_split: { columns: rng.chance(0.9) ? names : fuzzValue(rng, NO_CTX), data: rng.chance(0.9) ? rows : fuzzValue(rng, NO_CTX) } },
        { dataframe_records: rng.chance(0.9) ? records : fuzzValue(rng, NO_CTX) },
        { instances: rng.chance(0.5) ? rows : records },
        { inputs: rng.chance(0.5) ? rows : { float_input: rows, ...(rng.chance(0.3) ? fuzzObject(rng, NO_CTX) : {}) } },
        { inputs: rows, instances: rows },
        fuzzObject(rng, NO_CTX),
        fuzzValue(rng, NO_CTX),
      ]);
      const r = await send('/invocations', jsonText(body) ?? 'null', rng.chance(0.95) ? 'application/json' : 'application/json; charset=latin-1');
      const p = problem(SEED + 2, `/invocations #${i}`, 'POST', '/invocations', body, r, isMlflowError);
      if (p) failures.push(p);

      const csv = [
        names.join(','),
        ...rows.map((row) => (row as unknown[]).map((v) => (typeof v === 'string' && rng.chance(0.5) ? `"${v}` : String(v))).join(',')),
      ].join(rng.pick(['\n', '\r\n', '\r']));
      const c = await send('/invocations', csv, 'text/csv');
      const pc = problem(SEED + 2, `/invocations CSV #${i}`, 'POST', '/invocations', csv, c, isMlflowError);
      if (pc) failures.push(pc);

      const flat = rows.flat();
      const tensor = {
        name: rng.chance(0.85) ? 'float_input' : String(fuzzValue(rng, NO_CTX)),
        shape: rng.chance(0.8) ? [rows.length, 4] : fuzzValue(rng, NO_CTX),
        datatype: rng.pick(['FP32', 'FP32', 'FP64', 'INT64', 'BYTES', 'BOOL', 'FP16', 'fp32', 7]),
        data: rng.chance(0.7) ? flat : rng.chance(0.5) ? rows : fuzzValue(rng, NO_CTX),
      };
      const v2 = rng.chance(0.9)
        ? {
            id: rng.chance(0.8) ? `r${i}` : fuzzValue(rng, NO_CTX),
            inputs: [tensor],
            ...(rng.chance(0.2) ? { outputs: [{ name: rng.pick(['label', 'probabilities', 'nope']) }] } : {}),
          }
        : fuzzValue(rng, NO_CTX);
      const name = server.model().name;
      const v = await send(`/v2/models/${name}/infer`, jsonText(v2) ?? 'null', 'application/json');
      const pv = problem(SEED + 2, `v2 infer #${i}`, 'POST', `/v2/models/${name}/infer`, v2, v, v2Error);
      if (pv) failures.push(pv);
    }
    expect(failures).toEqual([]);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});
