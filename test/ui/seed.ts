import * as zlib from 'node:zlib';
import { api } from '../tracking/helpers';

/** A small real PNG (a colour gradient) so the artifact preview has an image to decode. */
export function gradientPng(width = 96, height = 48): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const o = y * (width * 3 + 1) + 1 + x * 3;
      raw[o] = Math.round((255 * x) / width);
      raw[o + 1] = Math.round((255 * y) / height);
      raw[o + 2] = 200;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function ok<T = any>(p: Promise<{ status: number; body: T }>, what: string): Promise<T> {
  const r = await p;
  if (r.status !== 200) throw new Error(`seeding failed at ${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface SeededRun {
  runId: string;
  name: string;
  model: string;
  accuracy: number;
  /** loss logged at steps 0..steps-1 */
  steps: number;
}

export interface Seeded {
  experimentId: string;
  otherExperimentId: string;
  runs: SeededRun[];
  bigRunId: string;
  bigRunPoints: number;
}

const T0 = Date.UTC(2026, 10, 1, 9, 0, 0);

/** A run with params, tags, a loss curve and an accuracy, logged through the REST API as a client would. */
async function seedRun(base: string, experimentId: string, spec: Omit<SeededRun, 'runId'>, offsetMs: number): Promise<SeededRun> {
  const created = await ok(
    api(base, 'POST', '/runs/create', {
      experiment_id: experimentId,
      run_name: spec.name,
      start_time: T0 + offsetMs,
      tags: [{ key: 'team', value: 'vision' }],
    }),
    'runs/create',
  );
  const runId: string = created.run.info.run_id;
  const metrics = Array.from({ length: spec.steps }, (_, step) => ({
    key: 'loss',
    value: Number((2 * Math.exp(-step / (8 + spec.accuracy * 10))).toFixed(6)),
    timestamp: T0 + offsetMs + step * 1000,
    step,
  }));
  metrics.push({ key: 'accuracy', value: spec.accuracy, timestamp: T0 + offsetMs + spec.steps * 1000, step: spec.steps });
  await ok(
    api(base, 'POST', '/runs/log-batch', {
      run_id: runId,
      metrics,
      params: [
        { key: 'model', value: spec.model },
        { key: 'lr', value: String(0.01 * (1 + spec.accuracy)) },
      ],
      tags: [{ key: 'dataset', value: 'cifar-mini' }],
    }),
    'runs/log-batch',
  );
  await ok(api(base, 'POST', '/runs/update', { run_id: runId, status: 'FINISHED', end_time: T0 + offsetMs + (spec.steps + 1) * 1000 }), 'runs/update');
  return { ...spec, runId };
}

async function putArtifact(base: string, experimentId: string, runId: string, rel: string, body: Buffer | string): Promise<void> {
  const res = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${rel}`, { method: 'PUT', body });
  if (res.status !== 200) throw new Error(`artifact upload ${rel} failed: HTTP ${res.status} ${await res.text()}`);
}

/** Everything the browser tests look at, created over HTTP against the real server. */
export async function seedTracking(base: string, bigRunPoints: number): Promise<Seeded> {
  const experimentId: string = (await ok(api(base, 'POST', '/experiments/create', { name: 'vision-classifier' }), 'experiments/create')).experiment_id;
  const otherExperimentId: string = (await ok(api(base, 'POST', '/experiments/create', { name: 'churn-forecast' }), 'experiments/create')).experiment_id;
  const specs: Omit<SeededRun, 'runId'>[] = [
    { name: 'rf-baseline', model: 'rf', accuracy: 0.71, steps: 40 },
    { name: 'xgb-tuned', model: 'xgb', accuracy: 0.93, steps: 50 },
    { name: 'xgb-deep', model: 'xgb', accuracy: 0.88, steps: 60 },
    { name: 'linear', model: 'logreg', accuracy: 0.64, steps: 30 },
  ];
  const runs: SeededRun[] = [];
  for (const [i, spec] of specs.entries()) runs.push(await seedRun(base, experimentId, spec, i * 3_600_000));

  const best = runs[1];
  await putArtifact(base, experimentId, best.runId, 'notes.txt', 'confusion is lowest on class 3\nthreshold: 0.42\n');
  await putArtifact(base, experimentId, best.runId, 'plots/roc.png', gradientPng());
  await putArtifact(base, experimentId, best.runId, 'model/MLmodel', 'flavors:\n  onnx:\n    onnx_version: 1.17.0\n');

  // Enough runs for a second page of the runs table (25 a page).
  for (let i = 0; i < 30; i++) {
    const run = await ok(
      api(base, 'POST', '/runs/create', { experiment_id: otherExperimentId, run_name: `trial-${String(i).padStart(2, '0')}`, start_time: T0 + i * 60_000 }),
      'runs/create',
    );
    await ok(
      api(base, 'POST', '/runs/log-batch', { run_id: run.run.info.run_id, metrics: [{ key: 'rmse', value: 10 - i / 10, timestamp: T0, step: 0 }] }),
      'runs/log-batch',
    );
  }

  // A long history, to check the UI asks for a downsampled one.
  const big = await ok(api(base, 'POST', '/runs/create', { experiment_id: otherExperimentId, run_name: 'long-training', start_time: T0 }), 'runs/create');
  const bigRunId: string = big.run.info.run_id;
  for (let from = 0; from < bigRunPoints; from += 1000) {
    const metrics = Array.from({ length: Math.min(1000, bigRunPoints - from) }, (_, i) => {
      const step = from + i;
      return { key: 'loss', value: 1 / Math.sqrt(step + 1) + 0.05 * Math.sin(step / 500), timestamp: T0 + step * 10, step };
    });
    await ok(api(base, 'POST', '/runs/log-batch', { run_id: bigRunId, metrics }), 'runs/log-batch (long run)');
  }
  return { experimentId, otherExperimentId, runs, bigRunId, bigRunPoints };
}
