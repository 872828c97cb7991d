/**
 * How long hostile requests hold the tracking server's event loop. Each request of issue 14's finding 5
 * (test/security/limits-helpers.ts hostileRequests: oversized order_by, experiment_ids, filters, page
 * tokens, deep and large JSON bodies, on every search endpoint) is sent alone while a loop of GET
 * /health runs; the longest gap between two /health answers during it is its stall. Both stores,
 * basic-auth on, 1,000 seeded runs so searches have rows to sort. Then the inference server: a deep
 * body, a 10 MiB one (JSON.parse of up to --max-body-bytes runs before any check) and a valid 100,000-row
 * request for comparison.
 *
 *   npx tsx bench/security/hostile-stall.ts            # MLOPS_BENCH_STORES=sqlite,postgres (default)
 */
import * as os from 'node:os';
import { startInferenceServer } from '../../runtime/inference';
import { expected, model } from '../../test/inference/helpers';
import { hostileRequests, nestedArrays, startSecureServer, USER, watchHealth } from '../../test/security/limits-helpers';
import type { StoreKind } from '../../test/tracking/helpers';

const API = '/api/2.0/mlflow';
const RUNS = Number(process.env.MLOPS_BENCH_RUNS ?? 1000);

async function seed(server: Awaited<ReturnType<typeof startSecureServer>>): Promise<string> {
  const exp = (await server.call(USER, 'POST', `${API}/experiments/create`, { name: 'stall' })).body.experiment_id as string;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < RUNS) {
        const i = next++;
        const id = (await server.call(USER, 'POST', `${API}/runs/create`, { experiment_id: exp, start_time: 1_700_000_000_000 + i })).body.run.info.run_id;
        await server.call(USER, 'POST', `${API}/runs/log-batch`, {
          run_id: id,
          metrics: [{ key: 'm', value: i / RUNS, timestamp: 1, step: 0 }],
          params: [{ key: 'p', value: String(i % 3) }],
        });
      }
    }),
  );
  return exp;
}

async function benchStore(kind: StoreKind): Promise<void> {
  const server = await startSecureServer(kind);
  try {
    const exp = await seed(server);
    const cases = [
      ...hostileRequests(exp),
      {
        name: 'a 16 MB body of nesting on log-inputs',
        method: 'POST' as const,
        path: '/runs/log-inputs',
        payload: nestedArrays(8 * 1024 * 1024 - 8),
        message: /nested/,
      },
    ];
    console.log(`\n${kind} (${RUNS} runs): request | status | answered in | longest /health gap`);
    let worst = { name: '', gap: 0 };
    for (const c of cases) {
      const health = watchHealth(server.url);
      const r = await server.call(c.who ?? USER, c.method, `${API}${c.path}`, c.payload);
      const seen = await health.stop();
      if (seen.failures.length) console.log(`  /health FAILED during ${c.name}: ${seen.failures.join('; ')}`);
      if (seen.maxGapMs > worst.gap) worst = { name: c.name, gap: seen.maxGapMs };
      console.log(`  ${c.name} | ${r.status} | ${r.ms.toFixed(1)} ms | ${seen.maxGapMs.toFixed(1)} ms`);
    }
    console.log(`  worst stall: ${worst.gap.toFixed(1)} ms (${worst.name})`);
  } finally {
    await server.stop();
  }
}

/** The inference server: JSON.parse of a body up to --max-body-bytes (10 MiB) runs before any check. */
async function benchInference(): Promise<void> {
  const server = await startInferenceServer({ model: model('churn-logreg'), port: 0, workers: 1, logger: false, defaultMetrics: false });
  try {
    const rows = JSON.stringify({
      dataframe_split: { columns: expected.columns, data: Array.from({ length: 100_000 }, (_, i) => expected.rows[i % expected.rows.length]) },
    });
    const cases: Array<[string, string]> = [
      ['instances nested 10,000 deep', `{"instances": ${nestedArrays(10_000)}}`],
      ['a 10 MiB body of nesting', nestedArrays(5 * 1024 * 1024 - 8)],
      [`a valid ${(rows.length / 1e6).toFixed(1)} MB dataframe_split (100,000 rows)`, rows],
    ];
    console.log('\ninference (churn-logreg): request | status | answered in | longest /health gap');
    for (const [name, body] of cases) {
      const health = watchHealth(server.url.replace(/\/$/, ''), 30_000, '\n');
      const started = performance.now();
      const res = await fetch(`${server.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.text();
      const ms = performance.now() - started;
      const seen = await health.stop();
      console.log(
        `  ${name} | ${res.status} | ${ms.toFixed(1)} ms | ${seen.maxGapMs.toFixed(1)} ms${seen.failures.length ? ` (/health failed: ${seen.failures[0]})` : ''}`,
      );
    }
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const stores = (process.env.MLOPS_BENCH_STORES ?? 'sqlite,postgres').split(',').filter(Boolean) as StoreKind[];
  for (const kind of stores) await benchStore(kind);
  if (process.env.MLOPS_BENCH_INFERENCE !== 'false') await benchInference();
  console.log(
    `\n(${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
