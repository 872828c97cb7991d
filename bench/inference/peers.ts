/**
 * `npm run bench:inference` (second part) / `npm run bench:inference:peers`: the churn logistic regression
 * served by `mlops serve` and by what users would deploy instead, in one run on one machine with the same
 * load generator (bench/inference/load.ts, 32 closed-loop keep-alive clients):
 *   - MLServer 1.7.1 + mlserver-sklearn, Open Inference Protocol v2 infer, one [N, 4] FP32 tensor;
 *   - `mlflow models serve` (MLflow 3.17.2, sklearn flavor), /invocations with dataframe_split;
 * single-row and 64-row requests, each measured twice (ours, peer, ours, peer) so every ratio ours/peer
 * comes from neighbouring measurements. Ours runs compiled, twice over: the default (one event loop,
 * --workers session threads) and one listener per core, each running its sessions on its own event loop
 * (--listeners <cores> --workers 0), the shape MLServer's and mlflow's worker processes have. Also the in-process `session.run` rate on 1- and
 * 64-row inputs, the ceiling HTTP is compared with, and Node's HTTP floor at 64 rows (floor.ts), the ceiling any Node server has here.
 *
 * The peers serve the sklearn pipeline the ONNX fixture was exported from (bench/inference/peer_models.py
 * refits it from the same seed and checks its probabilities equal the fixture's); they answer labels
 * (their runtimes' default `predict`), we answer labels and probabilities. They are installed from PyPI
 * into MLOPS_BENCH_VENV (default ~/.cache/mlops-blueprint/bench-venv) on first use; a peer that cannot be
 * installed or started is skipped with the reason printed.
 *
 * Env: MLOPS_BENCH_SECONDS (per measurement, default 3), MLOPS_BENCH_WORKERS (workers of every server,
 * default CPU cores), MLOPS_BENCH_ROUNDS (default 2).
 */
import * as os from 'node:os';
import { inProcessOfRows } from './labels';
import { measureFloor } from './floor';
import { closedLoop, instrumented, type Measure, type Target } from './load';
import { Recorder } from './record';
import { inProcessRate, preparePeers, startMlflowServe, startMlserver, startOurs, stopServer, type Served } from './servers';
import { invocationsTarget, v2TensorTarget } from './targets';
import { fmt } from '../format';

const SECONDS = Number(process.env.MLOPS_BENCH_SECONDS ?? 3);
const WORKERS = Number(process.env.MLOPS_BENCH_WORKERS ?? os.availableParallelism());
const ROUNDS = Number(process.env.MLOPS_BENCH_ROUNDS ?? 2);
const CLIENTS = 32;
const SIZES = [1, 64];
const MODEL = 'churn-logreg';
const CORES = os.availableParallelism();
/** Ours as deployed by default (one event loop, session threads) and as one event loop per core, each running its sessions. */
const OURS = [
  { name: 'mlops serve', args: ['--workers', String(WORKERS)] },
  { name: `mlops serve --listeners ${CORES} --workers 0`, args: ['--listeners', String(CORES), '--workers', '0'] },
];

const out = (s: string) => process.stdout.write(s);
const rec = new Recorder('peers', SECONDS);

interface Peer {
  name: string;
  protocol: string;
  target: (rows: number) => Target;
  start: () => Promise<Served>;
  skip?: string;
}

async function measure(s: Served, target: Target, ours: boolean, at: { server: string; target: string; rows: number; round: number }): Promise<Measure> {
  const m = await instrumented(s.child.pid, ours ? s.port : -1, () => closedLoop(s.port, target, CLIENTS, SECONDS));
  return rec.sample({ ...at, model: MODEL, clients: CLIENTS, loop: 'closed' }, m);
}

function row(server: string, rows: number, round: number, m: Measure): void {
  out(
    `| ${server} | ${rows} | ${round} | ${fmt(m.rps)} | ${fmt(m.rps * rows)} | ${fmt(m.p50, 2)} | ${fmt(m.p99, 2)} | ${m.errors} | ${fmt(m.serverCpuUs!)} | ${fmt(m.clientCpuUs!)} |\n`,
  );
}

async function comparePeer(peer: Peer, ratios: string[], limit: Record<number, number>): Promise<void> {
  out(`\n### ${peer.name} (${peer.protocol})\n\n`);
  if (peer.skip) {
    out(`skipped: ${peer.skip}\n`);
    ratios.push(`${peer.name}: skipped (${peer.skip.split('\n')[0]})`);
    rec.skip(peer.name, peer.skip.split('\n')[0]);
    return;
  }
  let theirs: Served | undefined;
  const ours: Array<{ name: string; served: Served }> = [];
  try {
    theirs = await peer.start();
    for (const config of OURS) ours.push({ name: config.name, served: await startOurs(MODEL, config.args) });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    out(`skipped: cannot start (${reason.slice(0, 1500)})\n`);
    ratios.push(`${peer.name}: skipped (cannot start)`);
    rec.skip(peer.name, `cannot start: ${reason.slice(0, 300)}`);
    for (const s of [theirs, ...ours.map((o) => o.served)]) if (s) await stopServer(s);
    return;
  }
  out(
    `${theirs.describe}; ours: ${ours.map((o) => o.served.describe).join(' and ')}\n\n| server | rows/request | round | req/s | rows/s | p50 ms | p99 ms | errors | server CPU µs/req (all processes) | load generator CPU µs/req |\n|---|---|---|---|---|---|---|---|---|---|\n`,
  );
  try {
    for (const rows of SIZES) {
      const target = peer.target(rows);
      const perRound = new Map<string, string[]>(ours.map((o) => [o.name, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        const mine: Measure[] = [];
        for (const o of ours) {
          const m = await measure(o.served, target, true, { server: o.name, target: peer.protocol, rows, round });
          row(o.name, rows, round, m);
          mine.push(m);
        }
        const b = await measure(theirs, target, false, { server: peer.name, target: peer.protocol, rows, round });
        row(peer.name, rows, round, b);
        ours.forEach((o, i) => {
          const a = mine[i];
          perRound
            .get(o.name)!
            .push(
              `${fmt(a.rps / b.rps, 1)}x (${fmt(a.rps * rows)} vs ${fmt(b.rps * rows)} rows/s, ours ${fmt((100 * a.rps * rows) / limit[rows], 1)}% of in-process; CPU/req ${fmt(a.serverCpuUs!)} vs ${fmt(b.serverCpuUs!)} µs)`,
            );
        });
      }
      for (const [name, results] of perRound) ratios.push(`${rows}-row ${peer.protocol}, ${name}/${peer.name}: ${results.join(', ')}`);
    }
  } finally {
    for (const o of ours) await stopServer(o.served);
    await stopServer(theirs);
  }
}

async function main(): Promise<void> {
  out(
    `inference vs peers: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start, ${WORKERS} workers per server, ${CLIENTS} clients, ${SECONDS} s per measurement, Node ${process.version}\n`,
  );
  const single = await inProcessRate(MODEL, 1, SECONDS);
  const batched = await inProcessRate(MODEL, 64, SECONDS);
  rec.figure(inProcessOfRows(1), single.best);
  rec.figure(inProcessOfRows(64), batched.best);
  out(
    `in-process session.run (${MODEL}, one thread): ${fmt(single.best)} rows/s on single rows, ${fmt(batched.best)} rows/s on 64-row batches (best 1-s windows)\n`,
  );
  // The 64-row target asks for half the in-process batched rate: the floor at 64 rows says what any Node server could reach of it here.
  const floorRows = 64;
  await measureFloor(rec, v2TensorTarget(floorRows), {
    model: MODEL,
    target: 'v2 infer, one [N, 4] FP32 tensor',
    rows: floorRows,
    clients: CLIENTS,
    seconds: SECONDS,
    serveArgs: OURS[0].args,
  });
  const skip = preparePeers(out);
  const peers: Peer[] = [
    {
      name: 'MLServer',
      protocol: 'v2 infer, one [N, 4] FP32 tensor',
      target: (rows) => v2TensorTarget(rows),
      start: () => startMlserver(WORKERS),
      skip: skip.mlserver ?? skip.models,
    },
    {
      name: 'mlflow models serve',
      protocol: '/invocations dataframe_split',
      target: (rows) => invocationsTarget(rows),
      start: () => startMlflowServe(WORKERS),
      skip: skip.mlflow ?? skip.models,
    },
  ];
  const ratios: string[] = [];
  for (const peer of peers) await comparePeer(peer, ratios, { 1: single.best, 64: batched.best });
  out(
    `\nsummary (load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )} at end; in-process ${fmt(single.best)} rows/s single, ${fmt(batched.best)} rows/s in 64-row batches):\n${ratios.map((r) => `- ${r}`).join('\n')}\n`,
  );
  rec.write();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
