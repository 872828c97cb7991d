/**
 * `npm run bench:auth`: what `--app-name basic-auth` costs on log_batch. Two `mlops tracking serve`
 * processes on the same store kind — one without auth, one with basic-auth and a non-admin user who
 * owns the experiment (so every request pays authentication AND the permission check, not the
 * admin shortcut) — measured in the same run, in alternating rounds so machine noise hits both
 * alike. Reports p50/p99 per side, the server process's CPU per request (from /proc, much less
 * noisy than latency on a shared machine) and the ratios (auth / no auth). Also times one scrypt
 * verification (what each request would pay without the verified-credential cache) and, first, the
 * same comparison in one process through Fastify's inject (CPU per request, no network).
 *
 * Env: MLOPS_BENCH_CONCURRENCY (clients, default 20), MLOPS_BENCH_ROUNDS (alternations, default 3),
 * MLOPS_BENCH_REQUESTS (per side per round, default 1500), MLOPS_TEST_POSTGRES_URL (admin URL;
 * the PostgreSQL pair is skipped with a message when it is unreachable).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, percentile, processCpuMs } from '../measure';
import { startTrackingServer } from '../../runtime/tracking';
import { basicAuth } from '../../runtime/tracking/auth';
import { hashPassword, verifyPassword } from '../../runtime/tracking/auth/passwords';

const repoRoot = path.resolve(__dirname, '..', '..');
const CONCURRENCY = Number(process.env.MLOPS_BENCH_CONCURRENCY ?? 20);
const ROUNDS = Number(process.env.MLOPS_BENCH_ROUNDS ?? 3);
const REQUESTS = Number(process.env.MLOPS_BENCH_REQUESTS ?? 1500);
const ADMIN_URL = process.env.MLOPS_TEST_POSTGRES_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';
// Random per run: the bench never ships a fixed password.
const ADMIN_PASSWORD = `bench-admin-${Math.random().toString(36).slice(2)}-${Date.now()}`;
const USER = { username: 'bench', password: `bench-user-${Math.random().toString(36).slice(2)}` };

interface Side {
  label: 'no auth' | 'basic-auth';
  url: string;
  child: ChildProcess;
  authorization?: string;
  runs: string[];
  latencies: number[];
  errors: number;
  /** Server process CPU (user + system) spent in the measured rounds, ms; undefined without /proc. */
  cpuMs?: number;
}

async function call(url: string, authorization: string | undefined, route: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}/api/2.0/mlflow${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

const basic = (u: { username: string; password: string }) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mlops tracking serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('mlops tracking serve did not become healthy');
}

async function start(label: Side['label'], backendStoreUri: string, dir: string): Promise<Side> {
  const port = await freePort();
  const args = [
    path.join(repoRoot, 'bin', 'mlops.js'),
    'tracking',
    'serve',
    '--port',
    String(port),
    '--backend-store-uri',
    backendStoreUri,
    '--artifacts-destination',
    path.join(dir, `artifacts-${port}`),
    '--upgrade-db',
  ];
  if (label === 'basic-auth') args.push('--app-name', 'basic-auth');
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, MLOPS_LOG_LEVEL: 'warn', MLFLOW_AUTH_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, child);
  let authorization: string | undefined;
  if (label === 'basic-auth') {
    await call(url, basic({ username: 'admin', password: ADMIN_PASSWORD }), '/users/create', USER);
    authorization = basic(USER);
  }
  // The bench user creates the experiment (and gets MANAGE on it, as any creator does).
  const exp = (await call(url, authorization, '/experiments/create', { name: `auth-bench-${Date.now()}` })).experiment_id;
  const runs: string[] = [];
  for (let i = 0; i < CONCURRENCY; i++)
    runs.push((await call(url, authorization, '/runs/create', { experiment_id: exp, start_time: Date.now() })).run.info.run_id);
  return { label, url, child, authorization, runs, latencies: [], errors: 0 };
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

/** One round: REQUESTS log_batch calls (10 metrics each) from CONCURRENCY clients, each on its own run. */
async function round(side: Side, roundNo: number): Promise<void> {
  let next = 0;
  const cpuBefore = processCpuMs(side.child.pid);
  await Promise.all(
    side.runs.map(async (runId) => {
      for (let i = next++; i < REQUESTS; i = next++) {
        const step = roundNo * REQUESTS + i;
        const body = {
          run_id: runId,
          metrics: Array.from({ length: 10 }, (_, k) => ({ key: `m${k}`, value: Math.random(), timestamp: 1_700_000_000_000 + step, step })),
        };
        const t0 = performance.now();
        try {
          await call(side.url, side.authorization, '/runs/log-batch', body);
          side.latencies.push(performance.now() - t0);
        } catch (err) {
          if (++side.errors <= 3) console.error(`  ${side.label}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const cpuAfter = processCpuMs(side.child.pid);
  if (Number.isFinite(cpuBefore) && Number.isFinite(cpuAfter)) side.cpuMs = (side.cpuMs ?? 0) + cpuAfter - cpuBefore;
}

async function pgReachable(): Promise<string | undefined> {
  try {
    const { Client } = await import('pg');
    const c = new Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
    await c.connect();
    await c.end();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function withDatabase<T>(name: string, fn: (url: string) => Promise<T>): Promise<T> {
  const { Client } = await import('pg');
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: ADMIN_URL });
    await c.connect();
    await c.query(sql);
    await c.end();
  };
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  try {
    return await fn(u.toString());
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

interface PairResult {
  store: string;
  noAuth: { p50: number; p99: number; requests: number; errors: number; cpuMsPerRequest?: number };
  basicAuth: { p50: number; p99: number; requests: number; errors: number; cpuMsPerRequest?: number };
  ratioP50: number;
  ratioP99: number;
  ratioCpu?: number;
}

async function pair(store: string, uriFor: (label: string) => string, dir: string): Promise<PairResult> {
  console.log(`\n${store}: log_batch(10 metrics), ${CONCURRENCY} clients, ${ROUNDS} alternating rounds × ${REQUESTS} requests per side`);
  const off = await start('no auth', uriFor('off'), dir);
  let on: Side | undefined;
  try {
    on = await start('basic-auth', uriFor('on'), dir);
    // Warm-up: JIT, connection pools, the credential cache (one KDF run), the run → experiment cache.
    for (const side of [off, on])
      await Promise.all(
        side.runs.map((runId) =>
          call(side.url, side.authorization, '/runs/log-batch', { run_id: runId, metrics: [{ key: 'warm', value: 0, timestamp: 1, step: 0 }] }),
        ),
      );
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which side goes first so drift (other load on the machine) does not favour one.
      for (const side of r % 2 === 0 ? [off, on] : [on, off]) await round(side, r);
    }
  } finally {
    await stop(off.child);
    if (on) await stop(on.child);
  }
  const summary = (s: Side) => {
    const sorted = [...s.latencies].sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      requests: sorted.length,
      errors: s.errors,
      cpuMsPerRequest: s.cpuMs === undefined ? undefined : s.cpuMs / (sorted.length + s.errors),
    };
  };
  const noAuth = summary(off);
  const basicAuth = summary(on);
  const ratioCpu =
    basicAuth.cpuMsPerRequest !== undefined && noAuth.cpuMsPerRequest !== undefined ? basicAuth.cpuMsPerRequest / noAuth.cpuMsPerRequest : undefined;
  const result = { store, noAuth, basicAuth, ratioP50: basicAuth.p50 / noAuth.p50, ratioP99: basicAuth.p99 / noAuth.p99, ratioCpu };
  const cpu = (s: typeof noAuth) => (s.cpuMsPerRequest === undefined ? '' : `   server CPU ${s.cpuMsPerRequest.toFixed(3)} ms/request`);
  const line = (label: string, s: typeof noAuth) =>
    console.log(
      `  ${label.padEnd(11)} p50 ${s.p50.toFixed(2).padStart(7)} ms   p99 ${s.p99.toFixed(2).padStart(7)} ms${cpu(s)}   (${s.requests} requests${s.errors ? `, ${s.errors} errors` : ''})`,
    );
  line('no auth', noAuth);
  line('basic-auth', basicAuth);
  console.log(
    `  ratio       p50 ${result.ratioP50.toFixed(3)}x   p99 ${result.ratioP99.toFixed(3)}x${ratioCpu === undefined ? '' : `   CPU ${ratioCpu.toFixed(3)}x`}   (basic-auth / no auth; target < 1.10)`,
  );
  return result;
}

/**
 * The same comparison without network or a second process: both servers in this process, requests
 * through Fastify's inject, this process's CPU per log_batch. The steadiest figure on a shared
 * machine, since neither a load generator nor scheduling delays are in it.
 */
async function inProcess(dir: string): Promise<{ noAuthUs: number; basicAuthUs: number; ratio: number }> {
  const ROUNDS_IN_PROCESS = 10;
  const PER_ROUND = 500;
  const setup = async (withAuth: boolean) => {
    const auth = withAuth ? basicAuth({ adminPassword: ADMIN_PASSWORD }) : undefined;
    const server = await startTrackingServer({
      host: '127.0.0.1',
      port: 0,
      backendStoreUri: `sqlite:///${path.join(dir, `inject-${withAuth ? 'on' : 'off'}.db`)}`,
      artifactsDestination: path.join(dir, `inject-artifacts-${withAuth}`),
      logger: { level: 'warn' },
      ...(auth ? { beforeRoutes: auth.beforeRoutes, plugins: auth.plugins } : {}),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const inject = async (url: string, payload: unknown, as = headers) => {
      const res = await server.app.inject({ method: 'POST', url: `/api/2.0/mlflow${url}`, headers: as, payload: JSON.stringify(payload) });
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      return res.json();
    };
    if (withAuth) {
      await inject('/users/create', USER, { ...headers, authorization: basic({ username: 'admin', password: ADMIN_PASSWORD }) });
      headers.authorization = basic(USER);
    }
    const exp = (await inject('/experiments/create', { name: 'inject' })).experiment_id;
    const runId = (await inject('/runs/create', { experiment_id: exp })).run.info.run_id;
    let step = 0;
    const logBatch = () => {
      const s = step++;
      return inject('/runs/log-batch', {
        run_id: runId,
        metrics: Array.from({ length: 10 }, (_, k) => ({ key: `m${k}`, value: Math.random(), timestamp: 1_700_000_000_000 + s, step: s })),
      });
    };
    return { server, logBatch };
  };
  const off = await setup(false);
  const on = await setup(true);
  try {
    for (let i = 0; i < 300; i++) await Promise.all([off.logBatch(), on.logBatch()]);
    let offUs = 0;
    let onUs = 0;
    for (let r = 0; r < ROUNDS_IN_PROCESS; r++) {
      for (const side of r % 2 === 0 ? [off, on] : [on, off]) {
        const before = process.cpuUsage();
        for (let i = 0; i < PER_ROUND; i++) await side.logBatch();
        const used = process.cpuUsage(before);
        const us = (used.user + used.system) / PER_ROUND / ROUNDS_IN_PROCESS;
        if (side === off) offUs += us;
        else onUs += us;
      }
    }
    const result = { noAuthUs: offUs, basicAuthUs: onUs, ratio: onUs / offUs };
    console.log(
      `\nin-process (SQLite, Fastify inject, ${ROUNDS_IN_PROCESS} alternating rounds × ${PER_ROUND}): CPU per log_batch ${offUs.toFixed(0)} µs without auth, ${onUs.toFixed(0)} µs with basic-auth — ${result.ratio.toFixed(3)}x`,
    );
    return result;
  } finally {
    await off.server.close();
    await on.server.close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-auth-bench-'));
  console.log(`basic-auth overhead benchmark: ${os.cpus().length} CPUs, node ${process.version}`);

  // What a request would pay if every one ran the KDF (MLflow's basic-auth re-hashes per request).
  const hash = await hashPassword(USER.password);
  const kdf: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await verifyPassword(USER.password, hash);
    kdf.push(performance.now() - t0);
  }
  kdf.sort((a, b) => a - b);
  console.log(`one scrypt verification (N=2^15, r=8, p=1): median ${percentile(kdf, 50).toFixed(1)} ms — paid once per credential, then cached`);

  const results: PairResult[] = [];
  let injected: Awaited<ReturnType<typeof inProcess>> | undefined;
  try {
    injected = await inProcess(dir);
    results.push(await pair('SQLite', (label) => `sqlite:///${path.join(dir, `${label}.db`)}`, dir));
    const unreachable = await pgReachable();
    if (unreachable) console.log(`\nPostgreSQL skipped: ${unreachable}`);
    else {
      await withDatabase('mlops_auth_bench_off', (offUrl) =>
        withDatabase('mlops_auth_bench_on', async (onUrl) => {
          results.push(await pair('PostgreSQL', (label) => (label === 'off' ? offUrl : onUrl), dir));
        }),
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const outDir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `auth-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        cpus: os.cpus().length,
        concurrency: CONCURRENCY,
        rounds: ROUNDS,
        requestsPerSidePerRound: REQUESTS,
        kdfMedianMs: percentile(kdf, 50),
        inProcess: injected,
        results,
      },
      null,
      2,
    ),
  );
  console.log(`\nresults: ${path.relative(repoRoot, file)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
