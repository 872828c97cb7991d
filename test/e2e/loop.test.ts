import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startTrackingServer, type RunningTrackingServer } from '../../runtime/tracking';
import { startInferenceServer, type RunningInferenceServer } from '../../runtime/inference';
import { FEATURES, featureMatrix, generateChurnData, runTraining, type TrainingResult } from '../../runtime/training';
import { MlflowClient } from '../../runtime/mlflow';
import { PredictionMonitor } from '../../runtime/monitoring';
import { driftFromMetrics, parsePrometheusText, retrainIfDrifted } from '../../runtime/monitoring/retrain';
import { promote, PromotionRejected } from '../../runtime/promotion';
import { createTestDatabase, postgresAvailability } from '../helpers/postgres';
import { describeWithTool } from '../helpers/tools';
import { ortRun } from './ort';
import { ifStarted } from '../helpers/lifecycle';

// s3rver ships no type declarations; this is the part of its API the suite uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ address: string; port: number }>; close(): Promise<void> };

jest.setTimeout(180_000);

const MODEL = 'churn-predictor';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Store {
  backendStoreUri: string;
  artifactsDestination: string;
  /** Checks the model's files really are in this store's artifact destination. */
  artifactKeys?: () => Promise<string[]>;
  cleanup(): Promise<void>;
}

async function invoke(url: string, rows: number[][]): Promise<{ status: number; body: { predictions?: { probabilities: number[] }[]; message?: string } }> {
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ dataframe_split: { columns: [...FEATURES], data: rows } }),
  });
  return { status: res.status, body: (await res.json()) as { predictions?: { probabilities: number[] }[] } };
}

async function metrics(url: string) {
  return parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
}

/** What onnxruntime itself computes for rows with the version's model.onnx, as [p0, p1] per row. */
async function reference(training: TrainingResult, rows: number[][]): Promise<number[][]> {
  const out = await ortRun(training.files.get('model.onnx')!, { name: 'input', data: rows.flat(), dims: [rows.length, FEATURES.length] });
  const p = out.probabilities.data;
  return rows.map((_, i) => [p[2 * i], p[2 * i + 1]]);
}

function expectSamePredictions(actual: { probabilities: number[] }[], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  // Both are float32 results of the same graph: equal up to float32 rounding of the JSON round trip.
  actual.forEach((p, i) => p.probabilities.forEach((v, j) => expect(Math.abs(v - expected[i][j])).toBeLessThan(1e-6)));
}

/**
 * experiment → train → track → register → promote (gated) → serve (hot swap under load) → monitor
 * (drift) → retrain, against one tracking-store setup.
 */
function fullLoop(storeName: string, makeStore: () => Store | Promise<Store>): void {
  let store: Store;
  let tracking: RunningTrackingServer;
  let inference: RunningInferenceServer;
  let client: MlflowClient;
  let v1: TrainingResult;
  let v2: TrainingResult;
  let cacheDir: string;

  beforeAll(async () => {
    store = await makeStore();
    tracking = await startTrackingServer({
      port: 0,
      backendStoreUri: store.backendStoreUri,
      artifactsDestination: store.artifactsDestination,
      upgradeDb: true,
      logger: false,
    });
    client = new MlflowClient({ trackingUri: tracking.url, env: {} });
    cacheDir = mkdtempSync(path.join(tmpdir(), 'mlops-e2e-cache-'));
  });
  afterAll(async () => {
    await ifStarted(inference)?.close();
    await ifStarted(tracking)?.close();
    await ifStarted(store)?.cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  test(`${storeName}: train v1, log it with its ONNX model and reference stats, register it as ${MODEL}@champion`, async () => {
    v1 = await runTraining({ experiment: 'churn', registeredModel: MODEL, alias: 'champion', client });
    expect(v1.version?.version).toBe('1');
    const run = await client.getRun(v1.runId!);
    expect(run.info.status).toBe('FINISHED');
    const metricKeys = (run.data.metrics ?? []).map((m) => m.key).sort();
    expect(metricKeys).toEqual(['accuracy', 'auc', 'logloss', 'train_auc']);
    expect((run.data.params ?? []).find((p) => p.key === 'epochs')?.value).toBe('300');
    const listed = (await (await fetch(`${tracking.url}/api/2.0/mlflow/artifacts/list?run_id=${v1.runId}&path=model`)).json()) as { files: { path: string }[] };
    expect(listed.files.map((f) => f.path).sort()).toEqual(
      ['MLmodel', 'conda.yaml', 'input_example.json', 'model.onnx', 'python_env.yaml', 'reference_stats.json', 'requirements.txt'].map((f) => `model/${f}`),
    );
    if (store.artifactKeys) expect((await store.artifactKeys()).some((k) => k.endsWith(`${v1.runId}/artifacts/model/model.onnx`))).toBe(true);
    expect((await client.getModelVersionByAlias(MODEL, 'champion')).version).toBe('1');
  });

  test(`${storeName}: serve models:/${MODEL}@champion; predictions equal onnxruntime's in-process output`, async () => {
    const monitor = new PredictionMonitor({ psiThreshold: 0.2, windowSize: 1000, minRows: 200 });
    inference = await startInferenceServer({
      model: `models:/${MODEL}@champion`,
      port: 0,
      workers: 2,
      trackingUri: tracking.url,
      trackingUsername: '',
      trackingPassword: '',
      trackingToken: '',
      cacheDir,
      pollIntervalMs: 200,
      logger: false,
      defaultMetrics: false,
      registerMetrics: monitor.registerMetrics,
      onPrediction: monitor.onPrediction,
    });
    const server = inference;
    monitor.attach(() => server.model());
    expect(inference.model().version).toBe('1');
    const rows = featureMatrix(generateChurnData({ rows: 64, seed: 11 }));
    const res = await invoke(inference.url, rows);
    expect(res.status).toBe(200);
    expectSamePredictions(res.body.predictions!, await reference(v1, rows));
  });

  test(`${storeName}: a failing gate keeps the alias; v2 promoted under load swaps with zero failed requests`, async () => {
    v2 = await runTraining({ experiment: 'churn', registeredModel: MODEL, alias: 'challenger', client, seed: 7, epochs: 500, learningRate: 0.3 });
    expect(v2.version?.version).toBe('2');
    await expect(promote({ name: MODEL, version: '2', alias: 'champion', require: ['metrics.auc >= 0.99'], client })).rejects.toThrow(PromotionRejected);
    await expect(promote({ name: MODEL, version: '2', alias: 'champion', require: ['metrics.auc >= 0.99'], client })).rejects.toThrow(
      /gate "metrics.auc >= 0.99" failed .* metrics.auc is 0\.\d+/,
    );
    expect((await client.getModelVersionByAlias(MODEL, 'champion')).version).toBe('1');

    // Load: 16 keep-alive clients sending in-distribution customers until well after the swap.
    const traffic = featureMatrix(generateChurnData({ rows: 4000, seed: 21 }));
    const probe = traffic.slice(0, 8);
    const [p1, p2] = [await reference(v1, probe), await reference(v2, probe)];
    let sent = 0;
    const failures: string[] = [];
    let swappedAt: number | undefined = undefined;
    let stop = false;
    const versionsSeen = new Set<string>();
    const clients = Array.from({ length: 16 }, async (_, c) => {
      for (let i = c; !stop; i = (i + 16) % (traffic.length - 4)) {
        const res = await invoke(inference.url, traffic.slice(i, i + 4)).catch((err: unknown) => ({
          status: 0,
          body: { message: err instanceof Error ? err.message : String(err) },
        }));
        sent++;
        if (res.status !== 200) failures.push(`${res.status} ${res.body.message}`);
        versionsSeen.add(inference.model().version);
        if (swappedAt !== undefined && sent - swappedAt > 400) stop = true;
      }
    });
    await sleep(300);
    const promoted = await promote({ name: MODEL, version: '2', alias: 'champion', require: ['metrics.auc >= 0.75 and metrics.logloss < 0.6'], client });
    expect(promoted.previous).toBe('1');
    for (let i = 0; i < 200 && inference.model().version !== '2'; i++) await sleep(50);
    swappedAt = sent;
    await Promise.all(clients);

    expect(inference.model().version).toBe('2');
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(400);
    expect([...versionsSeen].sort()).toEqual(['1', '2']);
    // After the swap the server answers with v2's numbers, which differ from v1's.
    expect(p1.some((p, i) => Math.abs(p[1] - p2[i][1]) > 1e-4)).toBe(true);
    expectSamePredictions((await invoke(inference.url, probe)).body.predictions!, p2);
    const after = await metrics(inference.url);
    expect(after.find((s) => s.name === 'mlops_inference_model_swaps_total')?.value).toBe(1);
    expect(after.find((s) => s.name === 'mlops_inference_model_loaded')?.labels.version).toBe('2');
  });

  test(`${storeName}: no drift on in-distribution inputs, so retrain does nothing`, async () => {
    const readings = driftFromMetrics(await metrics(inference.url), MODEL, 0.2);
    const v2Reading = readings.find((r) => r.version === '2')!;
    expect(v2Reading.rows).toBeGreaterThanOrEqual(200);
    expect(Object.keys(v2Reading.psi)).toEqual([...FEATURES]);
    expect(v2Reading.drifted).toEqual([]);
    expect((await metrics(inference.url)).find((s) => s.name === 'mlops_drift_detected' && s.labels.version === '2')?.value).toBe(0);
    // The old version's series are gone once the new one serves.
    expect(readings.map((r) => r.version)).toEqual(['2']);
    const outcome = await retrainIfDrifted({ inferenceUrl: inference.url, registeredModel: MODEL, client, threshold: 0.2 });
    expect(outcome.retrained).toBe(false);
  });

  test(`${storeName}: shifted inputs raise the drift flag; retrain trains, registers and promotes v3 behind the gate`, async () => {
    const shifted = featureMatrix(generateChurnData({ rows: 1000, seed: 31, shift: 1 }));
    for (let i = 0; i < shifted.length; i += 100) expect((await invoke(inference.url, shifted.slice(i, i + 100))).status).toBe(200);
    await sleep(100); // the hook runs after the reply
    const samples = await metrics(inference.url);
    expect(samples.find((s) => s.name === 'mlops_drift_detected' && s.labels.version === '2')?.value).toBe(1);
    const psi = Object.fromEntries(samples.filter((s) => s.name === 'mlops_feature_psi').map((s) => [s.labels.feature, s.value]));
    expect(psi.monthly_charges).toBeGreaterThan(0.2);
    expect(psi.age).toBeGreaterThan(0.2);
    const mean = samples.find((s) => s.name === 'mlops_feature_mean' && s.labels.feature === 'age')!.value;
    const reference = JSON.parse(v2.files.get('reference_stats.json')!.toString()) as { features: Record<string, { mean: number }> };
    expect(mean).toBeGreaterThan(reference.features.age.mean + 8);

    const lines: string[] = [];
    const outcome = await retrainIfDrifted({
      inferenceUrl: inference.url,
      registeredModel: MODEL,
      client,
      threshold: 0.2,
      promoteIf: 'metrics.auc >= 0.7',
      training: { shift: 1, seed: 99 },
      log: (l) => lines.push(l),
    });
    expect(outcome.retrained).toBe(true);
    expect(outcome.drift?.drifted).toEqual(expect.arrayContaining(['age', 'monthly_charges']));
    expect(outcome.training?.version?.version).toBe('3');
    expect(outcome.promoted).toBe(true);
    expect(lines.join('\n')).toMatch(/drift in .*age/);
    expect((await client.getModelVersionByAlias(MODEL, 'champion')).version).toBe('3');
    expect((await client.getModelVersionByAlias(MODEL, 'challenger')).version).toBe('3');
    // Serving follows the alias to the retrained model, whose reference is the new population: no drift.
    for (let i = 0; i < 200 && inference.model().version !== '3'; i++) await sleep(50);
    expect(inference.model().version).toBe('3');
    for (let i = 0; i < shifted.length; i += 100) await invoke(inference.url, shifted.slice(i, i + 100));
    await sleep(100);
    const after = driftFromMetrics(await metrics(inference.url), MODEL, 0.2);
    expect(after.find((r) => r.version === '3')?.drifted).toEqual([]);
  });
}

describe('the MLOps loop on the embedded store (SQLite + local artifacts)', () => {
  fullLoop('sqlite', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlops-e2e-'));
    return {
      backendStoreUri: `sqlite:///${path.join(dir, 'mlflow.db')}`,
      artifactsDestination: path.join(dir, 'artifacts'),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
});

describeWithTool('the MLOps loop on PostgreSQL + S3 (s3rver)', postgresAvailability(), () => {
  fullLoop('postgres+s3', async () => {
    const saved = { ...process.env };
    const dir = mkdtempSync(path.join(tmpdir(), 'mlops-e2e-s3-'));
    const s3server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, resetOnClose: true });
    const { port } = await s3server.run();
    // The tracking server reads the S3 endpoint and keys as MLflow does (the manifests set these).
    process.env.MLFLOW_S3_ENDPOINT_URL = `http://127.0.0.1:${port}`;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    const s3 = new S3Client({
      endpoint: process.env.MLFLOW_S3_ENDPOINT_URL,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'mlflow' }));
    const db = await createTestDatabase('mlops_e2e');
    return {
      backendStoreUri: db.url,
      artifactsDestination: 's3://mlflow/platform',
      artifactKeys: async () => ((await s3.send(new ListObjectsV2Command({ Bucket: 'mlflow', Prefix: 'platform/' }))).Contents ?? []).map((o) => o.Key!),
      cleanup: async () => {
        s3.destroy();
        await db.drop();
        await s3server.close();
        await sleep(200); // s3rver logs requests as sockets close
        rmSync(dir, { recursive: true, force: true });
        process.env = saved;
      },
    };
  });
});
