/**
 * The servers the tracking benchmarks compare, started the same way by each script: ours
 * (`mlops tracking serve`) on a given store, and MLflow's own `mlflow server` on a fresh PostgreSQL
 * database, with throw-away databases on the shared PostgreSQL server. Loopback only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compiledMlops } from '../compiled';
import { freePort } from '../measure';

export const repoRoot = path.resolve(__dirname, '..', '..');
/** Admin URL of the PostgreSQL server the benchmark databases are created on (MLOPS_TEST_POSTGRES_URL). */
export const ADMIN_URL = process.env.MLOPS_TEST_POSTGRES_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';

export interface Started {
  url: string;
  child: ChildProcess;
}

export async function waitForHealth(url: string, child: ChildProcess, what: string): Promise<void> {
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

async function admin(statement: string): Promise<void> {
  const { Client } = await import('pg');
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

/** A fresh, empty database `name` (dropped first if left over); returns its URL. */
export async function createDatabase(name: string): Promise<string> {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(name: string): Promise<void> {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Compiled `mlops tracking serve` (../compiled.ts) on `backendStoreUri`, artifacts under `dir`; `root`: another checkout's server (an older commit, for before/after). */
export async function startOurs(backendStoreUri: string, dir: string, root = repoRoot): Promise<Started> {
  const port = await freePort();
  const args = ['tracking', 'serve', '--port', String(port), '--backend-store-uri', backendStoreUri];
  args.push('--artifacts-destination', path.join(dir, 'artifacts'), '--upgrade-db');
  const child = spawn(process.execPath, [compiledMlops(root), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, child, 'mlops tracking serve');
  return { url, child };
}

/** MLflow's full server for the baseline: MLOPS_BENCH_MLFLOW, else `.venv-mlflow-server/bin/mlflow` (see README). */
export function mlflowExecutable(): string | undefined {
  const candidates = [process.env.MLOPS_BENCH_MLFLOW, path.join(repoRoot, '.venv-mlflow-server', 'bin', 'mlflow')].filter(Boolean) as string[];
  return candidates.find((c) => fs.existsSync(c));
}

export const MLFLOW_MISSING = 'MLflow Python server not available: create .venv-mlflow-server (see README) or set MLOPS_BENCH_MLFLOW';

export interface MlflowServer extends Started {
  /** e.g. `mlflow server 3.17.2 (PostgreSQL, 2 workers)`. */
  label: string;
}

/**
 * `mlflow server --workers <cores>` on database `dbUrl`, artifacts proxied under `dir`; throws with the
 * reason when it does not start (the caller prints it and skips the baseline).
 */
export async function startMlflowServer(mlflow: string, dbUrl: string, dir: string): Promise<MlflowServer> {
  const port = await freePort();
  const workers = String(os.cpus().length);
  const args = ['server', '--host', '127.0.0.1', '--port', String(port), '--backend-store-uri', dbUrl];
  args.push('--artifacts-destination', path.join(dir, 'mlflow-artifacts'), '--workers', workers);
  const child = spawn(mlflow, args, {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true' },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, child, 'mlflow server');
  } catch (err) {
    await stop(child);
    throw new Error(`MLflow Python server (${mlflow}) did not start: ${(err as Error).message}`);
  }
  const version = spawnSync(mlflow, ['--version'], { encoding: 'utf8' })
    .stdout.trim()
    .replace(/^mlflow, version /, '');
  return { url, child, label: `mlflow server ${version} (PostgreSQL, ${workers} workers)` };
}

/** Whether the child has neither exited nor been killed (read fresh: exit events change it across awaits). */
const stillRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

export async function stop(child: ChildProcess): Promise<void> {
  if (!stillRunning(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (stillRunning(child)) child.kill('SIGKILL');
}
