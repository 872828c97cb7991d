/**
 * `npm run bench:tracking`: latency (p50/p99) and throughput of the tracking server at 20 concurrent
 * clients, on the embedded SQLite store and on PostgreSQL, and — when an `mlflow` executable with the
 * full server is available (MLOPS_BENCH_MLFLOW=/path/to/mlflow, or .venv-mlflow-server/) — MLflow's own Python server
 * on the same PostgreSQL, measured in the same run, for a ratio. Loopback only; bounded request counts.
 *
 * Env: MLOPS_BENCH_RUNS (runs seeded for search, default 10000), MLOPS_BENCH_HISTORY (points, default
 * 100000), MLOPS_TEST_POSTGRES_URL (admin URL, default postgres:postgres@127.0.0.1:5432).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, percentile } from '../measure';

const repoRoot = path.resolve(__dirname, '..', '..');
const CONCURRENCY = 20;
const SEARCH_RUNS = Number(process.env.MLOPS_BENCH_RUNS ?? 10_000);
const HISTORY_POINTS = Number(process.env.MLOPS_BENCH_HISTORY ?? 100_000);
const ADMIN_URL = process.env.MLOPS_TEST_POSTGRES_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';

interface Result {
  target: string;
  workload: string;
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  rps: number;
}

async function call(url: string, method: string, route: string, body?: unknown): Promise<any> {
  let target = `${url}/api/2.0/mlflow${route}`;
  const init: RequestInit = { method };
  if (method === 'GET') target += `?${new URLSearchParams(body as Record<string, string>).toString()}`;
  else {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(target, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** Runs `total` requests from CONCURRENCY clients; each client gets its index to pick its own run. */
async function load(target: string, workload: string, total: number, request: (client: number, i: number) => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, client) => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        try {
          await request(client, i);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errors <= 3) console.error(`  ${workload}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const r: Result = {
    target,
    workload,
    requests: total,
    errors,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    rps: latencies.length / elapsed,
  };
  console.log(
    `  ${workload.padEnd(34)} p50 ${r.p50.toFixed(1).padStart(8)} ms   p99 ${r.p99.toFixed(1).padStart(8)} ms   ${r.rps.toFixed(0).padStart(6)} req/s${errors ? `   ${errors} errors` : ''}`,
  );
  return r;
}

async function waitForHealth(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become healthy`);
}

async function createDatabase(name: string): Promise<string> {
  const { Client } = await import('pg');
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function dropDatabase(name: string): Promise<void> {
  const { Client } = await import('pg');
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.end();
}

/** The workloads of the issue, identical for every target. */
async function benchTarget(target: string, url: string): Promise<Result[]> {
  console.log(`\n${target}`);
  const results: Result[] = [];
  const exp = (await call(url, 'POST', '/experiments/create', { name: `bench-${Date.now()}` })).experiment_id as string;
  const newRun = async () => (await call(url, 'POST', '/runs/create', { experiment_id: exp, start_time: Date.now() })).run.info.run_id as string;

  results.push(await load(target, 'create_run', 2000, () => newRun()));

  const runs = await Promise.all(Array.from({ length: CONCURRENCY }, newRun));
  const batch = (n: number, client: number, i: number) => ({
    run_id: runs[client],
    metrics: Array.from({ length: n }, (_, k) => ({ key: `m${k % 10}`, value: Math.random(), timestamp: 1_700_000_000_000 + i, step: i })),
  });
  results.push(await load(target, 'log_batch(10 metrics)', 2000, (c, i) => call(url, 'POST', '/runs/log-batch', batch(10, c, i))));
  results.push(await load(target, 'log_batch(500 metrics)', 400, (c, i) => call(url, 'POST', '/runs/log-batch', batch(500, c, i))));

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
  const filter = "metrics.accuracy > 0.9 and params.lr = '0.01'";
  for (const max of [100, 1000]) {
    results.push(
      await load(target, `search_runs(${SEARCH_RUNS} runs, max ${max})`, 200, async () => {
        const r = await call(url, 'POST', '/runs/search', { experiment_ids: [searchExp], filter, max_results: max });
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

async function startOurs(backendStoreUri: string, dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin', 'mlops.js'),
      'tracking',
      'serve',
      '--port',
      String(port),
      '--backend-store-uri',
      backendStoreUri,
      '--artifacts-destination',
      path.join(dir, 'artifacts'),
      '--upgrade-db',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, child, 'mlops tracking serve');
  return { url, child };
}

/** MLflow's full server for the baseline: MLOPS_BENCH_MLFLOW, else `.venv-mlflow-server/bin/mlflow` (see README). */
function mlflowExecutable(): string | undefined {
  const candidates = [process.env.MLOPS_BENCH_MLFLOW, path.join(repoRoot, '.venv-mlflow-server', 'bin', 'mlflow')].filter(Boolean) as string[];
  return candidates.find((c) => fs.existsSync(c));
}

/** Whether the child has neither exited nor been killed (read fresh: exit events change it across awaits). */
const stillRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

async function stop(child: ChildProcess): Promise<void> {
  if (!stillRunning(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (stillRunning(child)) child.kill('SIGKILL');
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-'));
  const all: Result[] = [];
  console.log(`tracking benchmark: ${CONCURRENCY} concurrent clients, ${os.cpus().length} CPUs, node ${process.version}`);

  const sqlite = await startOurs(`sqlite:///${path.join(dir, 'bench.db')}`, dir);
  try {
    all.push(...(await benchTarget('mlops tracking (SQLite, embedded)', sqlite.url)));
  } finally {
    await stop(sqlite.child);
  }

  const pgUrl = await createDatabase('mlops_bench_ours');
  const pg = await startOurs(pgUrl, dir);
  try {
    all.push(...(await benchTarget('mlops tracking (PostgreSQL)', pg.url)));
  } finally {
    await stop(pg.child);
    await dropDatabase('mlops_bench_ours');
  }

  const mlflow = mlflowExecutable();
  let baselineNote = '';
  if (mlflow) {
    const mlflowDb = await createDatabase('mlops_bench_mlflow');
    const port = await freePort();
    const child = spawn(
      mlflow,
      [
        'server',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--backend-store-uri',
        mlflowDb,
        '--artifacts-destination',
        path.join(dir, 'mlflow-artifacts'),
        '--workers',
        String(os.cpus().length),
      ],
      {
        stdio: ['ignore', 'ignore', 'ignore'],
        env: { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true' },
      },
    );
    let started = false;
    try {
      await waitForHealth(`http://127.0.0.1:${port}`, child, 'mlflow server');
      started = true;
    } catch (err) {
      baselineNote = `MLflow Python server (${mlflow}) did not start: ${(err as Error).message}`;
      console.log(`\n${baselineNote}`);
    }
    try {
      if (started)
        all.push(
          ...(await benchTarget(
            `mlflow server ${spawnSync(mlflow, ['--version'], { encoding: 'utf8' }).stdout.trim()} (PostgreSQL, ${os.cpus().length} workers)`,
            `http://127.0.0.1:${port}`,
          )),
        );
    } finally {
      await stop(child);
      await dropDatabase('mlops_bench_mlflow');
    }
  } else {
    baselineNote = 'MLflow Python server not available: create .venv-mlflow-server (see README) or set MLOPS_BENCH_MLFLOW';
    console.log(`\n${baselineNote}`);
  }

  const ours = all.filter((r) => r.target === 'mlops tracking (PostgreSQL)');
  const theirs = all.filter((r) => r.target.startsWith('mlflow server'));
  if (theirs.length) {
    console.log('\nratio on PostgreSQL (mlflow server p50 / mlops p50; higher = mlops faster)');
    for (const o of ours) {
      const t = theirs.find((x) => x.workload === o.workload);
      if (t) console.log(`  ${o.workload.padEnd(34)} ${(t.p50 / o.p50).toFixed(1)}x   (throughput ${(o.rps / t.rps).toFixed(1)}x)`);
    }
  }
  const outDir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `tracking-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, concurrency: CONCURRENCY, baselineNote, results: all }, null, 2),
  );
  console.log(`\nresults: ${path.relative(repoRoot, file)}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
