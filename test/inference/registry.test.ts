import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunningInferenceServer } from '../../runtime/inference';
import { startTestServer, tmpDir, type TestServer } from '../tracking/helpers';
import { expectClose, expected, get, metricValue, model, post, serve } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

const rows = expected.rows;
const cols = expected.columns;
const v1 = expected.outputs['churn-logreg'];
const v2 = expected.outputs['churn-logreg-v2'];

const AUTH = { authorization: `Basic ${Buffer.from('serving:s3cret').toString('base64')}` };

/** The suite's own REST calls, with the credentials the tracking server demands in this suite. */
async function api(baseUrl: string, method: string, route: string, payload: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}/api/2.0/mlflow${route}`, {
    method,
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: await res.json() };
}

/** Logs a local model directory as artifacts of a new run through the artifact proxy; returns the run id. */
async function logModelDir(tracking: TestServer, dir: string, artifactPath = 'model'): Promise<string> {
  const run = await api(tracking.url, 'POST', '/runs/create', { experiment_id: '0', start_time: Date.now() });
  expect(run.status).toBe(200);
  const { run_id, artifact_uri } = run.body.run.info;
  const root = /^mlflow-artifacts:\/(.*)$/.exec(artifact_uri)![1];
  for (const file of fs.readdirSync(dir)) {
    const res = await fetch(`${tracking.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${artifactPath}/${file}`, {
      method: 'PUT',
      headers: AUTH,
      body: fs.readFileSync(path.join(dir, file)),
    });
    expect(res.status).toBe(200);
  }
  return run_id;
}

async function registerVersion(tracking: TestServer, name: string, runId: string): Promise<string> {
  const mv = await api(tracking.url, 'POST', '/model-versions/create', { name, source: `runs:/${runId}/model`, run_id: runId });
  expect(mv.status).toBe(200);
  return mv.body.model_version.version;
}

async function setAlias(tracking: TestServer, name: string, alias: string, version: string): Promise<void> {
  const r = await api(tracking.url, 'POST', '/registered-models/alias', { name, alias, version });
  expect(r.status).toBe(200);
}

/** The churn-logreg MLflow directory with the second model's weights: same signature, other predictions. */
function v2Dir(): string {
  const dir = tmpDir('model-v2');
  fs.cpSync(model('churn-logreg'), dir, { recursive: true });
  fs.copyFileSync(model('churn-logreg-v2.onnx'), path.join(dir, 'model.onnx'));
  return dir;
}

describe('registry-backed serving against a real tracking server with the model registry', () => {
  let tracking: TestServer;
  let cacheDir: string;
  let run1: string;

  beforeAll(async () => {
    // Basic auth in front of the tracking server, as the ingress or the auth plugin would demand.
    tracking = await startTestServer('sqlite', {
      beforeRoutes: (app) => {
        app.addHook('onRequest', async (request, reply) => {
          if (request.headers.authorization !== AUTH.authorization) {
            await reply.status(401).send({ error_code: 'UNAUTHENTICATED', message: 'credentials required' });
          }
        });
      },
    });
    cacheDir = tmpDir('model-cache');
    process.env.MLFLOW_TRACKING_USERNAME = 'serving';
    process.env.MLFLOW_TRACKING_PASSWORD = 's3cret';
    expect((await fetch(`${tracking.url}/api/2.0/mlflow/registered-models/create`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await api(tracking.url, 'POST', '/registered-models/create', { name: 'churn' })).status).toBe(200);
    run1 = await logModelDir(tracking, model('churn-logreg'));
    expect(await registerVersion(tracking, 'churn', run1)).toBe('1');
    await setAlias(tracking, 'churn', 'champion', '1');
  });

  afterAll(async () => {
    delete process.env.MLFLOW_TRACKING_USERNAME;
    delete process.env.MLFLOW_TRACKING_PASSWORD;
    await ifStarted(tracking)?.stop();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  test('models:/name@alias, models:/name/<version>, models:/name/<Stage> and runs:/ all serve version 1', async () => {
    const transition = await api(tracking.url, 'POST', '/model-versions/transition-stage', {
      name: 'churn',
      version: '1',
      stage: 'Production',
      archive_existing_versions: false,
    });
    expect(transition.status).toBe(200);
    for (const uri of ['models:/churn@champion', 'models:/churn/1', 'models:/churn/Production', `runs:/${run1}/model`]) {
      const server = await serve({ model: uri, trackingUri: tracking.url, cacheDir, pollIntervalMs: 0 });
      try {
        const r = await post(`${server.url}/invocations`, { dataframe_split: { columns: cols, data: rows } });
        expect(r.status).toBe(200);
        expect(r.body.predictions.map((p: any) => p.label)).toEqual(v1.label);
        expectClose(
          r.body.predictions.map((p: any) => p.probabilities),
          v1.probabilities,
        );
        expect(server.model()).toMatchObject(uri.startsWith('runs:') ? { name: 'model', version: run1 } : { name: 'churn', version: '1' });
      } finally {
        await server.close();
      }
    }
    // One download of the registered version (its storage is the run's model directory) and one of the runs:/ URI.
    expect(fs.readdirSync(cacheDir).filter((f) => !f.startsWith('.'))).toHaveLength(2);
  });

  test('registry errors are clear: unknown alias, unknown model, wrong credentials', async () => {
    await expect(serve({ model: 'models:/churn@nope', trackingUri: tracking.url, cacheDir })).rejects.toThrow(
      /registered-models\/alias: HTTP 400 INVALID_PARAMETER_VALUE: Registered model alias nope not found/,
    );
    await expect(serve({ model: 'models:/ghost/1', trackingUri: tracking.url, cacheDir })).rejects.toThrow(/HTTP 404/);
    await expect(
      serve({ model: 'models:/churn@champion', trackingUri: tracking.url, cacheDir, trackingUsername: 'serving', trackingPassword: 'wrong' }),
    ).rejects.toThrow(/HTTP 401 UNAUTHENTICATED/);
  });

  test('hot swap under load: the alias moves to version 2, no request fails, readiness stays true', async () => {
    const server: RunningInferenceServer = await serve({
      model: 'models:/churn@champion',
      trackingUri: tracking.url,
      cacheDir,
      pollIntervalMs: 100,
      workers: 2,
    });
    const failures: string[] = [];
    const seenPerClient: string[][] = [];
    let stop = false;
    let readyChecks = 0;
    try {
      const client = async (c: number) => {
        const seen: string[] = [];
        seenPerClient[c] = seen;
        for (let i = c; !stop; i++) {
          const row = i % rows.length;
          const r = await post(`${server.url}/v2/models/churn/infer`, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: rows[row] }] });
          if (r.status !== 200) {
            failures.push(`${r.status} ${JSON.stringify(r.body)}`);
            continue;
          }
          const version = r.body.model_version as string;
          const want = version === '1' ? v1 : v2;
          const probs = r.body.outputs.find((o: any) => o.name === 'probabilities').data;
          if (Math.abs(probs[1] - want.probabilities[row][1]) > 1e-6)
            failures.push(`row ${row}: version ${version} answered ${probs.join(',')} instead of ${want.probabilities[row].join(',')}`);
          if (seen[seen.length - 1] !== version) seen.push(version);
        }
      };
      const readiness = async () => {
        while (!stop) {
          const r = await get(`${server.url}/v2/health/ready`);
          if (r.status !== 200) failures.push(`readiness ${r.status}`);
          readyChecks++;
          await new Promise((res) => setTimeout(res, 10));
        }
      };
      const load = [...Array.from({ length: 8 }, (_, c) => client(c)), readiness()];
      await new Promise((r) => setTimeout(r, 300));

      const run2 = await logModelDir(tracking, v2Dir());
      expect(await registerVersion(tracking, 'churn', run2)).toBe('2');
      await setAlias(tracking, 'churn', 'champion', '2');
      const deadline = Date.now() + 20_000;
      while (server.model().version !== '2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(server.model().version).toBe('2');
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(load);

      expect(failures).toEqual([]);
      expect(readyChecks).toBeGreaterThan(5);
      // Every client saw version 1, then version 2, never back.
      for (const seen of seenPerClient) expect(seen).toEqual(['1', '2']);
      const text = (await get(`${server.url}/metrics`)).body as string;
      expect(metricValue(text, 'mlops_inference_model_swaps_total{model="churn"}')).toBe(1);
      expect(text).toContain('mlops_inference_model_loaded{model="churn",version="2",source="models:/churn@champion"} 1');
      expect(text).not.toContain('version="1",source="models:/churn@champion"');
      const meta = await get(`${server.url}/v2/models/churn`);
      expect(meta.body.versions).toEqual(['2']);
    } finally {
      stop = true;
      await server.close();
    }
  });

  test('a version that fails to load during polling keeps the current one serving and is counted', async () => {
    const live = await serve({ model: 'models:/churn@champion', trackingUri: tracking.url, cacheDir, pollIntervalMs: 50 });
    try {
      expect(live.model().version).toBe('2');
      // The alias moves to a version whose model file is corrupt: every check fails, serving goes on.
      const broken = tmpDir('model-broken');
      fs.copyFileSync(path.join(model('churn-logreg'), 'MLmodel'), path.join(broken, 'MLmodel'));
      fs.writeFileSync(path.join(broken, 'model.onnx'), 'not an onnx model');
      const v = await registerVersion(tracking, 'churn', await logModelDir(tracking, broken));
      await setAlias(tracking, 'churn', 'champion', v);
      let failures = 0;
      for (let i = 0; i < 400 && failures < 2; i++) {
        failures = metricValue((await get(`${live.url}/metrics`)).body, 'mlops_inference_model_swap_failures_total{model="churn"}') ?? 0;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(failures).toBeGreaterThanOrEqual(2);
      expect(live.model().version).toBe('2');
      const r = await post(`${live.url}/invocations`, { inputs: rows });
      expect(r.status).toBe(200);
      expect(r.body.predictions.label).toEqual(v2.label);
      expect((await get(`${live.url}/v2/health/ready`)).status).toBe(200);
    } finally {
      await live.close();
    }
  });
});
