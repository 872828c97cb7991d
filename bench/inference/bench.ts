/**
 * `npm run bench:inference`: in one run, for each churn test model,
 *   1. the in-process limit: `session.run` on single rows in a loop on one thread (onnxruntime-node,
 *      one intra-op thread, as each server worker uses);
 *   2. `mlops serve` as a separate process, HTTP single-row requests (Open Inference Protocol v2 infer,
 *      plus MLflow /invocations at 32 clients) from 1, 8, 32 and 128 closed-loop keep-alive clients,
 *      with adaptive batching on (--max-batch-size 32; sessions on worker threads, and on the HTTP thread
 *      with --workers 0) and off (--max-batch-size 1): req/s, p50, p99;
 *   3. per configuration, an open-loop run at half of its peak rate (requests due on a fixed schedule over
 *      64 connections, latency measured from the due time, so a stall is not hidden by clients waiting).
 *
 * The load generator is this process, the server its own process: on a small machine they share the
 * cores, which the figures include. So the generator is kept cheap, the way autocannon does it: raw
 * keep-alive HTTP/1.1 sockets writing one prebuilt request buffer and reading Content-Length framed
 * answers (about 30 µs of CPU per request here, against 100+ µs for node:http or undici clients). Its
 * CPU per request is printed next to the server's. Loopback only.
 *
 * `mlops serve` runs compiled (bench/compiled.ts), as an image runs it.
 *
 * Env: MLOPS_BENCH_SECONDS (per measurement, default 3), MLOPS_BENCH_WORKERS (server --workers, default
 * CPU cores), MLOPS_BENCH_MODELS (comma list of fixture names, default churn-logreg,churn-forest).
 */
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { closedLoop, instrumented, openLoop, type Measure, type Target } from './load';
import { BATCHING, inProcessOfModel } from './labels';
import { Recorder } from './record';
import { inProcessRate, startOurs, stopServer } from './servers';
import { measureFloor } from './floor';
import { fmt } from '../format';

const SECONDS = Number(process.env.MLOPS_BENCH_SECONDS ?? 3);
const WORKERS = Number(process.env.MLOPS_BENCH_WORKERS ?? os.availableParallelism());
const MODELS = (process.env.MLOPS_BENCH_MODELS ?? 'churn-logreg,churn-forest').split(',');
const CLIENTS = [1, 8, 32, 128];
const ROW = [49, 33, 57.79, 1874.92];
const COLUMNS = ['age', 'tenure', 'monthly_charges', 'total_charges'];
const rec = new Recorder('bench', SECONDS);

const v2Target: Target = {
  path: '/v2/models/churn/infer',
  body: JSON.stringify({ inputs: COLUMNS.map((c, i) => ({ name: c, shape: [1], datatype: 'FP32', data: [ROW[i]] })) }),
};
const mlflowTarget: Target = { path: '/invocations', body: JSON.stringify({ dataframe_split: { columns: COLUMNS, data: [ROW] } }) };

const { threads: ON, inline: INLINE, off: OFF } = BATCHING;

interface Row {
  label: string;
  load: string;
  m: Measure;
  vsLimit?: number;
}

function printRow({ label, load, m, vsLimit }: Row): void {
  process.stdout.write(
    `| ${label} | ${load} | ${fmt(m.rps)} | ${fmt(m.p50, 2)} | ${fmt(m.p99, 2)} | ${m.errors} | ${vsLimit === undefined ? '—' : `${fmt(100 * vsLimit, 1)}%`} | ${fmt(m.rowsPerRun!, 1)} | ${fmt(m.serverCpuUs!)} | ${fmt(m.httpThreadCpuUs!)} | ${fmt(m.clientCpuUs!)} |\n`,
  );
}

/** One model: its in-process rate, then `mlops serve` with batching on (worker threads, event loop) and off. */
async function benchModel(modelName: string, floor: Measure): Promise<string> {
  const inProcess = await inProcessRate(modelName, 1, SECONDS);
  const limit = rec.figure(inProcessOfModel(modelName), inProcess.best);
  process.stdout.write(
    `\n## ${modelName}\nin-process session.run, single rows, one thread: ${fmt(limit)} rows/s best 1-s window (${fmt(1e6 / limit, 1)} µs/row wall, ${fmt(inProcess.cpuUs, 1)} µs/row CPU; mean of windows ${fmt(inProcess.mean)} rows/s)\n\n`,
  );
  process.stdout.write(
    '| batching | clients | req/s | p50 ms | p99 ms | errors | vs in-process | rows/run | server CPU µs/req | of which HTTP thread | load generator CPU µs/req |\n|---|---|---|---|---|---|---|---|---|---|---|\n',
  );
  const at32: Record<string, number> = {};
  const halfPeak: Record<string, { rate: number; m: Measure }> = {};
  for (const [label, maxBatch, workers] of [
    [ON, 32, WORKERS],
    [INLINE, 32, 0],
    [OFF, 1, WORKERS],
  ] as const) {
    const served = await startOurs(modelName, ['--workers', String(workers), '--max-batch-size', String(maxBatch)]);
    const { child, port } = served;
    const at = { server: label, workers, model: modelName, rows: 1, round: 1 };
    try {
      let peak = 0;
      for (const clients of CLIENTS) {
        const m = rec.sample(
          { ...at, target: 'v2', clients, loop: 'closed' },
          await instrumented(child.pid, port, () => closedLoop(port, v2Target, clients, SECONDS)),
        );
        if (clients === 32) at32[label] = m.rps;
        peak = Math.max(peak, m.rps);
        printRow({ label, load: String(clients), m, vsLimit: m.rps / limit });
      }
      const inv = rec.sample(
        { ...at, target: 'invocations', clients: 32, loop: 'closed' },
        await instrumented(child.pid, port, () => closedLoop(port, mlflowTarget, 32, SECONDS)),
      );
      printRow({ label, load: '32 (/invocations dataframe_split)', m: inv, vsLimit: inv.rps / limit });
      // Half of this configuration's peak, open loop.
      const rate = Math.round(peak / 2);
      const half = rec.sample(
        { ...at, target: 'v2', clients: 64, loop: 'open', rate },
        await instrumented(child.pid, port, () => openLoop(port, v2Target, rate, SECONDS)),
      );
      halfPeak[label] = { rate, m: half };
      printRow({ label, load: `open loop at ${fmt(rate)} req/s (half of peak)`, m: half });
    } finally {
      await stopServer(served);
    }
  }
  const line =
    `${modelName}: in-process ${fmt(limit)} rows/s; HTTP at 32 clients ${fmt(at32[ON])} req/s = ${fmt((100 * at32[ON]) / limit, 1)}% with batching (target >= 50%), ` +
    `${fmt(at32[INLINE])} req/s = ${fmt((100 * at32[INLINE]) / limit, 1)}% with sessions on the HTTP thread (--workers 0), ` +
    `${fmt(at32[OFF])} req/s = ${fmt((100 * at32[OFF]) / limit, 1)}% without batching; ${fmt((100 * at32[ON]) / floor.rps, 1)}% of the node:http floor's ${fmt(floor.rps)} req/s; batching on/off at 32 clients ${fmt(at32[ON] / at32[OFF], 2)}x; ` +
    `p99 at half of peak ${fmt(halfPeak[ON].m.p99, 2)} ms with batching (${fmt(halfPeak[ON].rate)} req/s), ${fmt(halfPeak[OFF].m.p99, 2)} ms without (${fmt(halfPeak[OFF].rate)} req/s) (target <= 5 ms)`;
  process.stdout.write(`\n${line}\n`);
  return line;
}

async function main(): Promise<void> {
  const loadavg = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  process.stdout.write(
    `inference benchmark: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), load average ${loadavg} at start, server --workers ${WORKERS}, ${SECONDS} s per measurement, Node ${process.version}, onnxruntime-node ${ort.env.versions.node}\n`,
  );
  const summary: string[] = [];
  const floor = await measureFloor(rec, v2Target, {
    model: MODELS[0],
    target: 'v2',
    rows: 1,
    clients: 32,
    seconds: SECONDS,
    serveArgs: ['--workers', String(WORKERS)],
  });
  for (const modelName of MODELS) summary.push(await benchModel(modelName, floor));
  process.stdout.write(
    `\nsummary (${os.availableParallelism()} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end):\n${summary.map((s) => `- ${s}`).join('\n')}\n`,
  );
  rec.write();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
