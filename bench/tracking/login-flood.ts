/**
 * `npm run bench:login-flood`: how long a legitimate first login (a cache miss: it pays the scrypt
 * KDF) takes while a flood of wrong passwords hits `mlops tracking serve --app-name basic-auth`.
 *
 * One server process (SQLite store; the KDF, not the store, is what is measured). Per round: FLOOD
 * concurrent logins with wrong passwords from ADDRESSES loopback source addresses (4 in 5 for one
 * existing user, the rest for unknown names), and once the server is hashing them, one first login
 * of a fresh user from an address of its own. Reports that login's latency against the same login
 * on an idle server, what the flood got back (401 / 429 / 503) and how many KDF runs it cost.
 *
 * Env: MLOPS_BENCH_ROUNDS (default 5), MLOPS_BENCH_FLOOD (concurrent bad logins per round, default
 * 200), MLOPS_BENCH_ADDRESSES (default 8), MLOPS_BENCH_MLOPS_BIN (the `bin/mlops.js` to run, e.g. of
 * another checkout to measure it before a change; default this checkout's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, percentile } from '../measure';

const repoRoot = path.resolve(__dirname, '..', '..');
const ROUNDS = Number(process.env.MLOPS_BENCH_ROUNDS ?? 5);
const FLOOD = Number(process.env.MLOPS_BENCH_FLOOD ?? 200);
const ADDRESSES = Number(process.env.MLOPS_BENCH_ADDRESSES ?? 8);
const BIN = process.env.MLOPS_BENCH_MLOPS_BIN ?? path.join(repoRoot, 'bin', 'mlops.js');
// Random per run: the bench never ships a fixed password.
const ADMIN = { username: 'admin', password: `bench-admin-${Math.random().toString(36).slice(2)}` };

interface Answer {
  status: number;
  ms: number;
}

const basic = (u: { username: string; password: string }) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;

/** One request on a fresh connection from `localAddress` (all of 127.0.0.0/8 reaches 127.0.0.1 on Linux). */
function request(
  url: string,
  localAddress: string,
  method: string,
  route: string,
  who: { username: string; password: string },
  body?: unknown,
): Promise<Answer> {
  const target = new URL(route, url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method,
        localAddress,
        agent: false,
        headers: { authorization: basic(who), ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const login = (url: string, from: string, who: { username: string; password: string }) => request(url, from, 'GET', '/api/2.0/mlflow/users/current', who);

async function createUser(url: string, username: string): Promise<{ username: string; password: string }> {
  const who = { username, password: `${username}-password-0001` };
  const res = await request(url, '127.0.0.1', 'POST', '/api/2.0/mlflow/users/create', ADMIN, who);
  if (res.status !== 200) throw new Error(`users/create ${username}: ${res.status}`);
  return who;
}

/** Sum of a metric's samples whose line starts with `prefix` (name plus optional label text); NaN when absent. */
async function metric(url: string, prefix: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith(prefix));
  return lines.length ? lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0) : NaN;
}

async function startServer(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const args = [
    BIN,
    'tracking',
    'serve',
    '--app-name',
    'basic-auth',
    '--port',
    String(port),
    '--backend-store-uri',
    `sqlite:///${path.join(dir, 'mlflow.db')}`,
    '--artifacts-destination',
    path.join(dir, 'artifacts'),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, MLOPS_LOG_LEVEL: 'error', MLFLOW_AUTH_ADMIN_PASSWORD: ADMIN.password },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`mlops tracking serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, child };
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('mlops tracking serve did not become healthy');
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

interface RoundResult {
  legit: Answer;
  statuses: Record<number, number>;
  kdfRuns: number;
  floodMs: number;
  /** KDF runs the priority lane's logins (the legitimate one, and the flood's single first try for its target) waited behind, at most. */
  priorityWaitMax: number;
}

/** The largest bucket bound of mlflow_auth_kdf_wait_runs{lane="priority"} that is below every observation's count, i.e. the max wait. */
async function priorityWaitMax(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = [...text.matchAll(/^mlflow_auth_kdf_wait_runs_bucket\{le="([^"]+)",lane="priority"\} (\d+)$/gm)].map((m) => ({
    le: Number(m[1]),
    n: Number(m[2]),
  }));
  const total = buckets.find((b) => !Number.isFinite(b.le))?.n;
  return total === undefined ? NaN : (buckets.find((b) => b.n === total)?.le ?? NaN);
}

async function floodRound(url: string, round: number): Promise<RoundResult> {
  const target = await createUser(url, `flood-target-${round}`);
  const good = await createUser(url, `flood-good-${round}`);
  const kdfBefore = await metric(url, 'mlflow_auth_kdf_runs_total');
  const t0 = performance.now();
  const flood = Array.from({ length: FLOOD }, (_, i) =>
    login(url, `127.${10 + round}.0.${(i % ADDRESSES) + 1}`, {
      username: i % 5 === 4 ? `nobody-${round}-${i}` : target.username,
      password: `wrong-password-${i}`,
    }),
  );
  // Once the server is busy with the flood (bounded wait), the legitimate first login.
  await new Promise((r) => setTimeout(r, 50));
  const legit = await login(url, `127.${10 + round}.1.1`, good);
  const answers = await Promise.all(flood);
  const floodMs = performance.now() - t0;
  const statuses: Record<number, number> = {};
  for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  return { legit, statuses, kdfRuns: (await metric(url, 'mlflow_auth_kdf_runs_total')) - kdfBefore, floodMs, priorityWaitMax: await priorityWaitMax(url) };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-login-flood-'));
  const { url, child } = await startServer(dir);
  try {
    console.log(
      `login flood: ${ROUNDS} rounds of ${FLOOD} concurrent bad logins from ${ADDRESSES} addresses; ${os.cpus().length} cores; server ${path.relative(repoRoot, BIN) || BIN}`,
    );
    const idle: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const who = await createUser(url, `idle-${i}`);
      const res = await login(url, `127.9.0.${i + 1}`, who);
      if (res.status !== 200) throw new Error(`idle login: ${res.status}`);
      idle.push(res.ms);
    }
    const underFlood: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const { legit, statuses, kdfRuns, floodMs, priorityWaitMax: waited } = await floodRound(url, r);
      underFlood.push(legit.ms);
      const runs = Number.isNaN(kdfRuns) ? 'n/a (no metric)' : String(kdfRuns);
      const behind = Number.isNaN(waited) ? '' : `; priority-lane logins so far waited behind ≤ ${waited} KDF runs`;
      console.log(
        `  round ${r + 1}: legitimate login ${legit.status} in ${fmt(legit.ms)}; flood ${JSON.stringify(statuses)} in ${fmt(floodMs)}, KDF runs ${runs}${behind}`,
      );
      if (legit.status !== 200) console.log(`    (the legitimate login was refused: ${legit.status})`);
    }
    idle.sort((a, b) => a - b);
    underFlood.sort((a, b) => a - b);
    console.log(`first login, idle server:  p50 ${fmt(percentile(idle, 50))}, max ${fmt(idle[idle.length - 1])}`);
    console.log(`first login, under flood:  p50 ${fmt(percentile(underFlood, 50))}, max ${fmt(underFlood[underFlood.length - 1])}`);
  } finally {
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
