/**
 * `npm run bench:scale` (first half): how the tracking server's costs grow with the data already
 * stored, on PostgreSQL, measured in one run against the size-0 figures of the same run:
 *  - log_batch(10) / log_batch(500) latency, 1 and 20 clients, at 0 and MLOPS_SCALE_POINTS points
 *    already in `metrics` (default 0,1000000,10000000);
 *  - search_runs (bench/tracking/bench.ts's metric + param filter, max_results 100) at
 *    MLOPS_SCALE_RUNS runs in the experiment (default 10000,100000), with the plan of each size.
 * Rows are filled server-side (sql.ts) after `mlops tracking serve` created its schema; fills stop at
 * MLOPS_SCALE_FILL_BUDGET_S seconds (default 900) and the curve reports the sizes reached.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { call as request, load, type Result } from '../tracking/load';
import { writeResults } from '../measure';
import { createDatabase, dropDatabase, startOurs, stop } from '../tracking/servers';
import { explainSearch } from './explain';
import { insertHistorySql, insertRunsSql, insertSearchRowsSql, RELATION_SIZES_SQL, type HistoryShape } from './sql';
import { markdownTable, mib, ratio } from './table';
import { SEARCH_FILTER } from '../tracking/search-runs';
import type { RelationSize, SearchPoint, WritePoint } from './results';

const sizes = (env: string | undefined, fallback: string) => (env ?? fallback).split(',').map(Number);
const POINTS = sizes(process.env.MLOPS_SCALE_POINTS, '0,1000000,10000000');
const RUNS = sizes(process.env.MLOPS_SCALE_RUNS, '10000,100000');
const FILL_BUDGET_MS = Number(process.env.MLOPS_SCALE_FILL_BUDGET_S ?? 900) * 1000;
/** 10 keys × 1000 steps per run: a training run's loss/accuracy/lr… curves; 1M points = 100 runs. */
const HISTORY: HistoryShape = { keys: 10, steps: 1000 };
const RUNS_PER_STATEMENT = 100;
const DB = 'mlops_scale_tracking';

const api = (url: string, method: string, route: string, body?: unknown): Promise<any> => request(url, method, `/api/2.0/mlflow${route}`, body);
const seconds = (t0: number) => Number(((performance.now() - t0) / 1000).toFixed(1));

async function sqlAll(pg: Client, statements: string[]): Promise<void> {
  for (const s of statements) await pg.query(s);
}

async function experiment(url: string, pg: Client, name: string): Promise<{ id: number; root: string }> {
  const id = Number((await api(url, 'POST', '/experiments/create', { name })).experiment_id);
  const root = (await pg.query<{ artifact_location: string }>('SELECT artifact_location FROM experiments WHERE experiment_id = $1', [id])).rows[0];
  return { id, root: root.artifact_location };
}

async function relationSizes(pg: Client): Promise<RelationSize[]> {
  const rows = (await pg.query<{ table: string; total: string; indexes: string }>(RELATION_SIZES_SQL)).rows;
  return rows.map((r) => ({ table: r.table, totalMiB: mib(Number(r.total)), indexesMiB: mib(Number(r.indexes)) }));
}

/** The four log_batch workloads against 20 runs of their own; `seq` (across sizes) keeps every point new. */
let seq = 0;
async function measureLogBatch(url: string, runs: string[], label: string): Promise<Result[]> {
  const batch = (n: number, run: string) => {
    const s = seq++;
    return {
      run_id: run,
      metrics: Array.from({ length: n }, (_, k) => ({
        key: `m${k % 10}`,
        value: 1 / (k + 1),
        timestamp: 1_700_000_000_000 + s,
        step: s * 50 + Math.floor(k / 10),
      })),
    };
  };
  const post = (n: number, client: number) => api(url, 'POST', '/runs/log-batch', batch(n, runs[client]));
  // The first size would otherwise also pay the server's and PostgreSQL's cold start (JIT, plans, buffers).
  await load(label, '(warm-up)', 200, (c) => post(500, c), 20);
  return [
    await load(label, 'log_batch(10), 1 client', 300, (c) => post(10, c), 1),
    await load(label, 'log_batch(10), 20 clients', 1500, (c) => post(10, c), 20),
    await load(label, 'log_batch(500), 1 client', 100, (c) => post(500, c), 1),
    await load(label, 'log_batch(500), 20 clients', 300, (c) => post(500, c), 20),
  ];
}

/** Grows `metrics` to each size of POINTS (filling runs of 10k points), measuring log_batch at each. */
async function writeCurve(url: string, pg: Client): Promise<WritePoint[]> {
  const fill = await experiment(url, pg, `scale-fill-${Date.now()}`);
  const measured = await experiment(url, pg, `scale-write-${Date.now()}`);
  const runs = await Promise.all(
    Array.from(
      { length: 20 },
      async () => (await api(url, 'POST', '/runs/create', { experiment_id: String(measured.id), start_time: Date.now() })).run.info.run_id as string,
    ),
  );
  const perRun = HISTORY.keys * HISTORY.steps;
  const curve: WritePoint[] = [];
  let filledRuns = 0;
  const started = performance.now();
  for (const target of POINTS) {
    const t0 = performance.now();
    while (filledRuns * perRun < target && performance.now() - started < FILL_BUDGET_MS) {
      const to = Math.min(filledRuns + RUNS_PER_STATEMENT, Math.ceil(target / perRun));
      await sqlAll(pg, [insertRunsSql(fill.id, 'fill', filledRuns, to, fill.root), ...insertHistorySql('fill', filledRuns, to, HISTORY)]);
      filledRuns = to;
      process.stdout.write(`  filled ${(filledRuns * perRun).toLocaleString('en')} points (${seconds(started)} s)\r`);
    }
    const filled = filledRuns * perRun;
    if (filled < target) console.log(`\n  fill budget (${FILL_BUDGET_MS / 1000} s) spent at ${filled} points; stopping the curve there`);
    // What autovacuum would do after a bulk load: the planner sees the new sizes.
    await pg.query('ANALYZE metrics; ANALYZE latest_metrics; ANALYZE runs');
    const fillSeconds = seconds(t0);
    // Counted, not computed: the earlier sizes' measurements logged points too.
    const points = Number((await pg.query<{ n: string }>('SELECT count(*) AS n FROM metrics')).rows[0].n);
    console.log(`\n${filled.toLocaleString('en')} points filled, ${points.toLocaleString('en')} in metrics (filled in ${fillSeconds} s)`);
    const sizes = await relationSizes(pg);
    curve.push({ filled, points, fillSeconds, sizes, results: await measureLogBatch(url, runs, `${filled} points`) });
    if (filled < target) break;
  }
  return curve;
}

/** Grows one experiment to each size of RUNS, measuring search_runs and capturing its plan at each. */
async function searchCurve(url: string, pg: Client, dbUrl: string): Promise<(SearchPoint & { plan: string })[]> {
  const exp = await experiment(url, pg, `scale-search-${Date.now()}`);
  const curve: (SearchPoint & { plan: string })[] = [];
  let seeded = 0;
  for (const target of RUNS) {
    const t0 = performance.now();
    for (; seeded < target; seeded = Math.min(target, seeded + 50_000)) {
      const to = Math.min(target, seeded + 50_000);
      await sqlAll(pg, [insertRunsSql(exp.id, 'search', seeded, to, exp.root), ...insertSearchRowsSql('search', seeded, to)]);
    }
    await pg.query('ANALYZE');
    console.log(`\n${target.toLocaleString('en')} runs in the experiment (seeded in ${seconds(t0)} s)`);
    const search = async () => {
      const r = await api(url, 'POST', '/runs/search', { experiment_ids: [String(exp.id)], filter: SEARCH_FILTER, max_results: 100 });
      if (!r.runs?.length) throw new Error('search returned no runs');
    };
    await load(`${target} runs`, '(warm-up)', 10, search, 1);
    const results = [
      await load(`${target} runs`, 'search_runs, 1 client', 30, search, 1),
      await load(`${target} runs`, 'search_runs, 20 clients', 100, search, 20),
    ];
    curve.push({ runs: target, results, plan: await explainSearch(dbUrl, String(exp.id), SEARCH_FILTER) });
  }
  return curve;
}

function printWriteCurve(curve: WritePoint[]): void {
  const base = curve[0];
  const rows = curve.flatMap((p) =>
    p.results.map((r, i) => [p.filled, r.workload, r.p50, r.p99, ratio(r.p50, base.results[i].p50), ratio(r.p99, base.results[i].p99), r.rps]),
  );
  console.log('\nlog_batch latency vs points already in metrics (PostgreSQL)\n');
  console.log(markdownTable(['points filled', 'workload', 'p50 ms', 'p99 ms', 'p50 / size-0', 'p99 / size-0', 'req/s'], rows));
  console.log('\ntable sizes (pg_total_relation_size; indexes = pg_indexes_size), MiB\n');
  const tables = curve[0]?.sizes.map((s) => s.table) ?? [];
  const sizeRows = curve.map((p) => [
    p.filled,
    p.points,
    ...tables.flatMap((t) => [p.sizes.find((s) => s.table === t)?.totalMiB ?? NaN, p.sizes.find((s) => s.table === t)?.indexesMiB ?? NaN]),
  ]);
  console.log(markdownTable(['points filled', 'rows in metrics', ...tables.flatMap((t) => [`${t} total`, `${t} indexes`])], sizeRows));
}

function printSearchCurve(curve: SearchPoint[]): void {
  const base = curve[0];
  const rows = curve.flatMap((p) =>
    p.results.map((r, i) => [p.runs, r.workload, r.p50, r.p99, ratio(r.p50, base.results[i].p50), ratio(r.p99, base.results[i].p99), r.rps]),
  );
  console.log(`\nsearch_runs (${SEARCH_FILTER}, max_results 100) vs runs in the experiment (PostgreSQL)\n`);
  console.log(markdownTable(['runs', 'workload', 'p50 ms', 'p99 ms', `p50 / ${base.runs}`, `p99 / ${base.runs}`, 'req/s'], rows));
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-scale-'));
  const dbUrl = await createDatabase(DB);
  const server = await startOurs(dbUrl, dir);
  const pg = new Client({ connectionString: dbUrl });
  await pg.connect();
  const load0 = os.loadavg();
  try {
    console.log(`scale benchmark (tracking, PostgreSQL): ${os.cpus().length} CPUs, load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
    const write = await writeCurve(server.url, pg);
    printWriteCurve(write);
    const search = await searchCurve(server.url, pg, dbUrl);
    printSearchCurve(search);
    const plansDir = path.join(__dirname, 'plans');
    fs.mkdirSync(plansDir, { recursive: true });
    for (const p of search) fs.writeFileSync(path.join(plansDir, `search-runs-postgres-${p.runs}.txt`), p.plan);
    console.log(`\nplans: ${path.relative(process.cwd(), plansDir)}/search-runs-postgres-<runs>.txt`);
    const load1 = os.loadavg();
    console.log(`load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
    writeResults('scale-tracking', {
      loadAverage: { start: load0, end: load1 },
      history: HISTORY,
      write,
      search: search.map(({ plan: _plan, ...rest }) => rest),
    });
  } finally {
    await pg.end();
    await stop(server.child);
    await dropDatabase(DB);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
