/**
 * `npm run bench:inference` (third part) / `npm run bench:inference:listeners`: `mlops serve --listeners N`
 * for N = 1, 2, 4 (node:cluster, --workers split across listeners), single-row v2 infer from 32 and 128
 * closed-loop clients, two rounds (1, 2, 4, 1, 2, 4) so each ratio to one listener comes from the same
 * round. CPU per request is over the whole process tree (primary + listeners + their session threads).
 *
 * On a 2-core machine that also runs the load generator this can show the cost of the extra processes
 * and whether a second event loop takes load off the first; it cannot show scaling beyond the cores
 * there are: with 4 listeners on 2 cores they only time-share.
 *
 * Env: MLOPS_BENCH_SECONDS (default 3), MLOPS_BENCH_WORKERS (default CPU cores), MLOPS_BENCH_ROUNDS (default 2).
 */
import * as os from 'node:os';
import { closedLoop, instrumented, type Measure } from './load';
import { startOurs, stopServer } from './servers';
import { v2ColumnsTarget } from './targets';

const SECONDS = Number(process.env.MLOPS_BENCH_SECONDS ?? 3);
const WORKERS = Number(process.env.MLOPS_BENCH_WORKERS ?? os.availableParallelism());
const ROUNDS = Number(process.env.MLOPS_BENCH_ROUNDS ?? 2);
const LISTENERS = [1, 2, 4];
const CLIENTS = [32, 128];
const MODEL = 'churn-logreg';

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
const out = (s: string) => process.stdout.write(s);

async function main(): Promise<void> {
  out(
    `inference listeners: ${os.availableParallelism()} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start, --workers ${WORKERS}, ${SECONDS} s per measurement, ${MODEL}, single-row v2 infer\n\n`,
  );
  out(
    '| round | listeners | session threads | clients | req/s | vs 1 listener | p50 ms | p99 ms | errors | server CPU µs/req (all processes) |\n|---|---|---|---|---|---|---|---|---|---|\n',
  );
  const target = v2ColumnsTarget(1);
  const summary: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const base: Record<number, Measure> = {};
    for (const n of LISTENERS) {
      const served = await startOurs(MODEL, ['--workers', String(WORKERS), '--listeners', String(n)]);
      const threads = n === 1 ? WORKERS : n * Math.ceil(WORKERS / n);
      try {
        for (const clients of CLIENTS) {
          const m = await instrumented(served.child.pid, -1, () => closedLoop(served.port, target, clients, SECONDS));
          if (n === 1) base[clients] = m;
          const ratio = m.rps / base[clients].rps;
          out(
            `| ${round} | ${n} | ${threads} | ${clients} | ${fmt(m.rps)} | ${fmt(ratio, 2)}x | ${fmt(m.p50, 2)} | ${fmt(m.p99, 2)} | ${m.errors} | ${fmt(m.serverCpuUs!)} |\n`,
          );
          if (n > 1)
            summary.push(
              `round ${round}, ${clients} clients: ${n} listeners ${fmt(ratio, 2)}x the req/s of 1 (${fmt(m.rps)} vs ${fmt(base[clients].rps)}), CPU/req ${fmt(m.serverCpuUs!)} vs ${fmt(base[clients].serverCpuUs!)} µs`,
            );
        }
      } finally {
        await stopServer(served);
      }
    }
  }
  out(
    `\nsummary (load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end):\n${summary.map((s) => `- ${s}`).join('\n')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
