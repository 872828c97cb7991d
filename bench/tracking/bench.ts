/**
 * `npm run bench:tracking`: latency (p50/p99) and throughput of the tracking server at 20 concurrent
 * clients, on the embedded SQLite store and on PostgreSQL, and — when an `mlflow` executable with the
 * full server is available (MLOPS_BENCH_MLFLOW=/path/to/mlflow, or .venv-mlflow-server/) — MLflow's own Python server
 * on the same PostgreSQL, measured in the same run, for a ratio. Loopback only; bounded request counts.
 *
 * Env: MLOPS_BENCH_RUNS (runs seeded for search, default 10000), MLOPS_BENCH_HISTORY (points, default
 * 100000), MLOPS_BENCH_TARGETS (comma-separated subset of sqlite,postgres,mlflow; default all),
 * MLOPS_BENCH_BEFORE (a checkout of an older commit, with node_modules: its server is measured on
 * PostgreSQL too, as "before", for before/after figures in one run), MLOPS_TEST_POSTGRES_URL (admin URL, default postgres:postgres@127.0.0.1:5432).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { call as request, load as loadFrom, type Result } from './load';
import { SEARCH_FILTER } from './search-runs';
import { createDatabase, dropDatabase, MLFLOW_MISSING, mlflowExecutable, startMlflowServer, startOurs, stop } from './servers';
import { writeResults } from '../measure';

const CONCURRENCY = 20;
const SEARCH_RUNS = Number(process.env.MLOPS_BENCH_RUNS ?? 10_000);
const HISTORY_POINTS = Number(process.env.MLOPS_BENCH_HISTORY ?? 100_000);
const TARGETS = new Set((process.env.MLOPS_BENCH_TARGETS ?? 'sqlite,postgres,mlflow').split(',').map((t) => t.trim()));

const call = (url: string, method: string, route: string, body?: unknown): Promise<any> => request(url, method, `/api/2.0/mlflow${route}`, body);
const load = (target: string, workload: string, total: number, f: (client: number, i: number) => Promise<unknown>, clients = CONCURRENCY) =>
  loadFrom(target, workload, total, f, clients);

/** The workloads of the issue, identical for every target. */
async function benchTarget(target: string, url: string): Promise<Result[]> {
  console.log(`\n${target}`);
  const results: Result[] = [];
  const exp = (await call(url, 'POST', '/experiments/create', { name: `bench-${Date.now()}` })).experiment_id as string;
  const newRun = async () => (await call(url, 'POST', '/runs/create', { experiment_id: exp, start_time: Date.now() })).run.info.run_id as string;

  results.push(await load(target, 'create_run', 2000, () => newRun()));

  const runs = await Promise.all(Array.from({ length: CONCURRENCY }, newRun));
  // log_batch bodies are built before their load starts (as the inference bench prebuilds its requests):
  // the clock and the two shared cores then measure the server, not the load generator's JSON.stringify
  // of 500 points. Request i logs step i; its client's run id goes in front when it is sent.
  const points = (n: number, i: number) =>
    Array.from({ length: n }, (_, k) => ({ key: `m${k % 10}`, value: Math.random(), timestamp: 1_700_000_000_000 + i, step: i }));
  const tails = (n: number, total: number, first = 0) => Array.from({ length: total }, (_, i) => `"metrics":${JSON.stringify(points(n, first + i))}}`);
  const logBatch = (client: number, tail: string) => call(url, 'POST', '/runs/log-batch', `{"run_id":"${runs[client]}",${tail}`);
  const small = tails(10, 2000);
  results.push(await load(target, 'log_batch(10 metrics)', 2000, (c, i) => logBatch(c, small[i])));
  const large = tails(500, 400);
  results.push(await load(target, 'log_batch(500 metrics)', 400, (c, i) => logBatch(c, large[i])));
  // One client alone: the request's own latency, without queueing behind 19 others.
  const alone = tails(500, 200, 400);
  results.push(await load(target, 'log_batch(500 metrics), 1 client', 200, (_c, i) => logBatch(0, alone[i]), 1));

  // search_experiments as mlflow-go's k6 script sends it: a page of up to 100 experiments, here out of 100.
  await Promise.all(Array.from({ length: 98 }, (_, i) => call(url, 'POST', '/experiments/create', { name: `bench-list-${Date.now()}-${i}` })));
  results.push(
    await load(target, 'search_experiments(100 experiments)', 1000, async () => {
      const r = await call(url, 'POST', '/experiments/search', { max_results: 100 });
      if (r.experiments?.length !== 100) throw new Error(`search_experiments returned ${r.experiments?.length} experiments`);
    }),
  );

  // 10,000 runs, each with a metric and a param; half match each predicate.
  const searchExp = (await call(url, 'POST', '/experiments/create', { name: `bench-search-${Date.now()}` })).experiment_id as string;
  const seedStart = performance.now();
  await load(target, `(seed ${SEARCH_RUNS} runs)`, SEARCH_RUNS, async (_c, i) => {
    const id = (await call(url, 'POST', '/runs/create', { experiment_id: searchExp, start_time: 1_700_000_000_000 + i })).run.info.run_id;
    await call(url, 'POST', '/runs/log-batch', {
      run_id: id,
      metrics: [{ key: 'accuracy', value: (i % 100) / 100, timestamp: 1, step: 0 }],
      params: [{ key: 'lr', value: i % 2 ? '0.01' : '0.1' }],
      tags: [{ key: 'team', value: `t${i % 7}` }],
    });
  });
  console.log(`  (seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s)`);
  for (const max of [100, 1000]) {
    results.push(
      await load(target, `search_runs(${SEARCH_RUNS} runs, max ${max})`, 200, async () => {
        const r = await call(url, 'POST', '/runs/search', { experiment_ids: [searchExp], filter: SEARCH_FILTER, max_results: max });
        if (!r.runs?.length) throw new Error('search returned no runs');
      }),
    );
  }

  const historyRun = await newRun();
  for (let start = 0; start < HISTORY_POINTS; start += 1000) {
    await call(url, 'POST', '/runs/log-batch', {
      run_id: historyRun,
      metrics: Array.from({ length: Math.min(1000, HISTORY_POINTS - start) }, (_, k) => ({
        key: 'loss',
        value: 1 / (start + k + 1),
        timestamp: 1_700_000_000_000 + start + k,
        step: start + k,
      })),
    });
  }
  results.push(
    await load(target, `get_metric_history(${HISTORY_POINTS} points)`, 40, async () => {
      const r = await call(url, 'GET', '/metrics/get-history', { run_id: historyRun, metric_key: 'loss' });
      if (r.metrics.length !== HISTORY_POINTS) throw new Error(`got ${r.metrics.length} points`);
    }),
  );
  return results;
}

async function benchSqlite(dir: string): Promise<Result[]> {
  const sqlite = await startOurs(`sqlite:///${path.join(dir, 'bench.db')}`, dir);
  try {
    return await benchTarget('mlops tracking (SQLite, embedded)', sqlite.url);
  } finally {
    await stop(sqlite.child);
  }
}

async function benchPostgres(dir: string, root?: string): Promise<Result[]> {
  const pg = await startOurs(await createDatabase('mlops_bench_ours'), dir, root);
  try {
    return await benchTarget(root ? `mlops tracking (PostgreSQL, before: ${root})` : 'mlops tracking (PostgreSQL)', pg.url);
  } finally {
    await stop(pg.child);
    await dropDatabase('mlops_bench_ours');
  }
}

/** MLflow's server on its own fresh database; the note says why it was skipped, if it was. */
async function benchMlflow(dir: string): Promise<{ results: Result[]; note: string }> {
  const mlflow = mlflowExecutable();
  if (!mlflow) return { results: [], note: MLFLOW_MISSING };
  const mlflowDb = await createDatabase('mlops_bench_mlflow');
  try {
    const server = await startMlflowServer(mlflow, mlflowDb, dir);
    try {
      return { results: await benchTarget(server.label, server.url), note: '' };
    } finally {
      await stop(server.child);
    }
  } catch (err) {
    return { results: [], note: (err as Error).message };
  } finally {
    await dropDatabase('mlops_bench_mlflow');
  }
}

/** Ratios of ours on PostgreSQL against `baseline` (p50 theirs / ours, throughput ours / theirs; higher = ours faster). */
function printRatios(all: Result[], isBaseline: (r: Result) => boolean, what: string): void {
  const ours = all.filter((r) => r.target === 'mlops tracking (PostgreSQL)');
  const theirs = all.filter(isBaseline);
  if (!theirs.length) return;
  console.log(`\nratio on PostgreSQL against ${what} (their p50 / our p50, our throughput / theirs; higher = mlops faster)`);
  for (const o of ours) {
    const t = theirs.find((x) => x.workload === o.workload);
    if (t) console.log(`  ${o.workload.padEnd(38)} p50 ${(t.p50 / o.p50).toFixed(1)}x   throughput ${(o.rps / t.rps).toFixed(1)}x`);
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-'));
  const all: Result[] = [];
  console.log(`tracking benchmark: ${CONCURRENCY} concurrent clients, ${os.cpus().length} CPUs, node ${process.version}`);
  if (TARGETS.has('sqlite')) all.push(...(await benchSqlite(dir)));
  if (process.env.MLOPS_BENCH_BEFORE) all.push(...(await benchPostgres(dir, path.resolve(process.env.MLOPS_BENCH_BEFORE))));
  if (TARGETS.has('postgres')) all.push(...(await benchPostgres(dir)));
  let baselineNote = '';
  if (TARGETS.has('mlflow')) {
    const baseline = await benchMlflow(dir);
    all.push(...baseline.results);
    baselineNote = baseline.note;
    if (baselineNote) console.log(`\n${baselineNote}`);
  }

  printRatios(all, (r) => r.target.startsWith('mlflow server'), 'mlflow server');
  printRatios(all, (r) => r.target.includes('before:'), 'the same server before this change');
  writeResults('tracking', { concurrency: CONCURRENCY, baselineNote, results: all });
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
