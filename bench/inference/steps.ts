/**
 * `npm run bench:inference:steps`: CPU per call of each step of the lean path that is ours, not Node's
 * HTTP or onnxruntime's: reading a request's bytes into its tensor (direct-parse.ts, beside JSON.parse
 * of the same body as the yardstick), encoding the v2 answer, the monitoring hook's inputs, and the
 * batcher's merge and split of 16 requests. Runs the compiled build (lib/, as the image does), on the
 * churn logistic regression, for 1- and 64-row v2 bodies of one [N, 4] FP32 tensor.
 *
 * Env: MLOPS_BENCH_SECONDS (per step, default 1).
 */
import * as path from 'node:path';
import { compiledMlops } from '../compiled';
import { fmt } from '../format';
import { v2TensorTarget } from './targets';
import type * as DirectParse from '../../runtime/inference/protocols/direct-parse';
import type * as Encode from '../../runtime/inference/protocols/encode';
import type * as Hook from '../../runtime/inference/prediction-hook';
import type * as Model from '../../runtime/inference/model';
import type * as Session from '../../runtime/inference/session';
import type * as Tensors from '../../runtime/inference/tensors';

const SECONDS = Number(process.env.MLOPS_BENCH_SECONDS ?? 1);
const repoRoot = path.resolve(__dirname, '..', '..');
const MERGED = 16;

/** A module of the compiled build (typed as its source at the call). */
function lib(file: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled build is loaded at run time, after compiledMlops() wrote it.
  return require(path.join(repoRoot, 'lib', 'runtime', 'inference', file));
}

/** µs of CPU per call, over batches of calls until SECONDS have passed (after a warm-up). */
function perCall(fn: () => unknown): number {
  const until = (ms: number) => {
    let n = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 100; i++) fn();
      n += 100;
    }
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  };
  until(300);
  return until(SECONDS * 1000);
}

/** perCall for an asynchronous step (a session run resolves after a setImmediate). */
async function perRun(fn: () => Promise<void>): Promise<number> {
  const until = async (ms: number) => {
    let n = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 20; i++) await fn();
      n += 20;
    }
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  };
  await until(300);
  return until(SECONDS * 1000);
}

async function main(): Promise<void> {
  compiledMlops();
  const { directInfer } = lib('protocols/direct-parse.js') as typeof DirectParse;
  const { inferResponseJson } = lib('protocols/encode.js') as typeof Encode;
  const { hookInputs } = lib('prediction-hook.js') as typeof Hook;
  const { describeModel, readModelFiles } = lib('model.js') as typeof Model;
  const { createSession, runSession, sessionIo } = lib('session.js') as typeof Session;
  const { concatRows, sliceRows } = lib('tensors.js') as typeof Tensors;
  const dir = path.join(repoRoot, 'test', 'fixtures', 'models', 'churn-logreg');
  const files = readModelFiles(dir);
  const session = await createSession(files.onnxPath, 1);
  const model = describeModel('churn', '1', dir, 'bench', files, sessionIo(session));
  process.stdout.write(`lean-path steps, compiled build, churn-logreg, Node ${process.version}, ${SECONDS} s per step\n\n`);
  process.stdout.write(`| rows/request | step | µs per request |\n|---|---|---|\n`);
  for (const rows of [1, 64]) {
    const body = Buffer.from(v2TensorTarget(rows).body);
    const parsed = directInfer(model, body);
    if (!parsed) throw new Error(`the direct parser declined the bench's ${rows}-row body`);
    const outputs = await runSession(session, parsed.feeds, undefined);
    const parts = Array.from({ length: MERGED }, () => parsed.feeds.float_input);
    const merged = await runSession(session, { float_input: concatRows(parts) }, undefined);
    const steps: Array<[string, () => unknown, number]> = [
      [`direct parse (${body.length} bytes)`, () => directInfer(model, body), 1],
      ['JSON.parse of the same body (yardstick)', () => JSON.parse(body.toString('utf8')), 1],
      // To bytes, as the socket write takes it: the string built piecewise is flattened and encoded there.
      ['v2 answer encoding, to bytes', () => Buffer.from(inferResponseJson(model, undefined, outputs)), 1],
      ['monitoring hook inputs', () => hookInputs(model, parsed.feeds), 1],
      [`merge of ${MERGED} requests`, () => concatRows(parts), MERGED],
      [
        `split of a ${MERGED}-request run`,
        () => {
          for (let j = 0; j < MERGED; j++) for (const name in merged) sliceRows(merged[name], j * rows, (j + 1) * rows);
        },
        MERGED,
      ],
    ];
    for (const [name, fn, requests] of steps) process.stdout.write(`| ${rows} | ${name} | ${fmt(perCall(fn) / requests, 2)} |\n`);
    const run = await perRun(async () => {
      await runSession(session, { float_input: concatRows(parts) }, undefined);
    });
    const whole = await perRun(async () => {
      const feeds = Array.from({ length: MERGED }, () => directInfer(model, body)!.feeds.float_input);
      const out = await runSession(session, { float_input: concatRows(feeds) }, undefined);
      for (let j = 0; j < MERGED; j++) {
        const mine: Record<string, Tensors.TensorData> = {};
        for (const name in out) mine[name] = sliceRows(out[name], j * rows, (j + 1) * rows);
        hookInputs(model, { float_input: feeds[j] });
        inferResponseJson(model, undefined, mine);
      }
    });
    process.stdout.write(`| ${rows} | session.run of ${MERGED} merged requests | ${fmt(run / MERGED, 2)} |\n`);
    process.stdout.write(`| ${rows} | all of the above for ${MERGED} requests, without HTTP | ${fmt(whole / MERGED, 2)} |\n`);
  }
  await session.release();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
