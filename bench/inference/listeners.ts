/**
 * `npm run bench:inference` (third part) / `npm run bench:inference:listeners`: `mlops serve --listeners N`
 * for N = 1, 2, 4 (node:cluster), with the sessions on worker threads (--workers split across listeners)
 * and on each listener's own event loop (--workers 0); single-row v2 infer from 32 and 128 closed-loop
 * clients and 64-row v2 tensors from 32, two rounds so each ratio to one listener with worker threads
 * comes from the same round. CPU per request is over the whole process tree (primary + listeners +
 * their session threads).
 *
 * On a 2-core machine that also runs the load generator this can show the cost of the extra processes
 * and whether a second event loop takes load off the first; it cannot show scaling beyond the cores
 * there are: with 4 listeners on 2 cores they only time-share.
 *
 * Env: MLOPS_BENCH_SECONDS (default 3), MLOPS_BENCH_WORKERS (default CPU cores), MLOPS_BENCH_ROUNDS (default 2).
 */
import * as os from 'node:os';
import { closedLoop, instrumented, type Measure } from './load';
import { Recorder } from './record';
import { startOurs, stopServer } from './servers';
import { v2ColumnsTarget, v2TensorTarget } from './targets';
import { fmt } from '../format';

const SECONDS = Number(process.env.MLOPS_BENCH_SECONDS ?? 3);
const WORKERS = Number(process.env.MLOPS_BENCH_WORKERS ?? os.availableParallelism());
const ROUNDS = Number(process.env.MLOPS_BENCH_ROUNDS ?? 2);
const LISTENERS = [1, 2, 4];
const CLIENTS = [32, 128];
const MODEL = 'churn-logreg';

const out = (s: string) => process.stdout.write(s);
const rec = new Recorder('listeners', SECONDS);

async function main(): Promise<void> {
  out(
    `inference listeners: ${os.availableParallelism()} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start, --workers ${WORKERS}, ${SECONDS} s per measurement, ${MODEL}, single-row v2 infer\n\n`,
  );
  out(
    '| round | listeners | sessions on | rows/request | clients | req/s | rows/s | vs 1 listener, worker threads | p50 ms | p99 ms | errors | server CPU µs/req (all processes) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n',
  );
  const loads = [...CLIENTS.map((clients) => ({ rows: 1, clients, target: v2ColumnsTarget(1) })), { rows: 64, clients: 32, target: v2TensorTarget(64) }];
  const summary: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const base: Measure[] = [];
    for (const n of LISTENERS) {
      for (const workers of [WORKERS, 0]) {
        const served = await startOurs(MODEL, ['--workers', String(workers), '--listeners', String(n)]);
        const sessions = workers === 0 ? 'event loops' : `${n === 1 ? WORKERS : n * Math.ceil(WORKERS / n)} threads`;
        try {
          for (const [i, load] of loads.entries()) {
            const m = rec.sample(
              {
                server: 'mlops serve',
                listeners: n,
                workers,
                model: MODEL,
                target: load.rows === 1 ? 'v2' : 'v2 tensor',
                rows: load.rows,
                clients: load.clients,
                round,
                loop: 'closed',
              },
              await instrumented(served.child.pid, -1, () => closedLoop(served.port, load.target, load.clients, SECONDS)),
            );
            if (n === 1 && workers > 0) base[i] = m;
            const ratio = m.rps / base[i].rps;
            out(
              `| ${round} | ${n} | ${sessions} | ${load.rows} | ${load.clients} | ${fmt(m.rps)} | ${fmt(m.rps * load.rows)} | ${fmt(ratio, 2)}x | ${fmt(m.p50, 2)} | ${fmt(m.p99, 2)} | ${m.errors} | ${fmt(m.serverCpuUs!)} |\n`,
            );
            if (n > 1 || workers === 0)
              summary.push(
                `round ${round}, ${load.rows}-row, ${load.clients} clients: ${n} listener(s), sessions on ${sessions}, ${fmt(ratio, 2)}x 1 listener with worker threads (${fmt(m.rps * load.rows)} vs ${fmt(base[i].rps * load.rows)} rows/s), CPU/req ${fmt(m.serverCpuUs!)} vs ${fmt(base[i].serverCpuUs!)} µs`,
              );
          }
        } finally {
          await stopServer(served);
        }
      }
    }
  }
  out(
    `\nsummary (load average ${os
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
