/**
 * `npm run bench:inference:profile`: where the HTTP thread's CPU goes. Starts `mlops serve` under
 * `node --cpu-prof`, drives it with the benchmark's load generator (closed loop, keep-alive), stops it,
 * and prints the main thread's top self-time frames and a breakdown by origin (Node's HTTP internals,
 * Fastify, prom-client, this server's code, GC) in µs of CPU per request. Only samples taken while the
 * load ran count (the profile's clock and process.hrtime are both CLOCK_MONOTONIC on Linux), so start-up
 * and model loading stay out.
 *
 * Env: MLOPS_PROFILE_SECONDS (default 5), MLOPS_PROFILE_CLIENTS (default 32), MLOPS_PROFILE_TARGET
 * (v2 = one [N] tensor per column | v2-tensor = one [N, 4] tensor | invocations = dataframe_split; default v2), MLOPS_PROFILE_ROWS (rows per request, default 1), MLOPS_PROFILE_MODEL
 * (fixture name, default churn-logreg), MLOPS_PROFILE_TOP (frames printed, default 25), MLOPS_PROFILE_WORKERS
 * (the server's --workers; default its own, one per core; 0 runs the sessions on the profiled thread),
 * MLOPS_PROFILE_ARGS (more `mlops serve` arguments, space-separated, e.g. `--max-batch-size 1024`).
 * Writes bench/results/inference-profile-<time>.json (profile-results.ts) for the README's table.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compiledMlops } from '../compiled';
import { processCpuMs, writeResults } from '../measure';
import { batchStats, closedLoop, type Target } from './load';
import type { ProfileResults, ProfileShare } from './profile-results';
import { invocationsTarget, v2ColumnsTarget, v2TensorTarget } from './targets';

const repoRoot = path.resolve(__dirname, '..', '..');
const SECONDS = Number(process.env.MLOPS_PROFILE_SECONDS ?? 5);
const CLIENTS = Number(process.env.MLOPS_PROFILE_CLIENTS ?? 32);
const ROWS = Number(process.env.MLOPS_PROFILE_ROWS ?? 1);
const MODEL = process.env.MLOPS_PROFILE_MODEL ?? 'churn-logreg';
const TOP = Number(process.env.MLOPS_PROFILE_TOP ?? 25);
const WORKERS = process.env.MLOPS_PROFILE_WORKERS === undefined ? undefined : Number(process.env.MLOPS_PROFILE_WORKERS);
const EXTRA_ARGS = (process.env.MLOPS_PROFILE_ARGS ?? '').split(' ').filter(Boolean);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code comes from, for the per-origin breakdown. */
function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native / V8 builtins)';
  if (
    url.includes('/node_modules/fastify') ||
    url.includes('/node_modules/find-my-way') ||
    url.includes('/node_modules/light-my-request') ||
    url.includes('/node_modules/avvio')
  )
    return 'fastify';
  if (url.includes('/node_modules/prom-client')) return 'prom-client';
  if (url.includes('/node_modules/pino')) return 'pino';
  if (url.includes('/node_modules/')) return `node_modules/${url.split('/node_modules/').pop()!.split('/')[0]}`;
  if (url.startsWith('node:internal/http') || url.startsWith('node:_http') || url.startsWith('node:http')) return 'node http';
  if (url.startsWith('node:net') || url.startsWith('node:internal/stream') || url.startsWith('node:stream')) return 'node net/streams';
  if (url.startsWith('node:')) return 'node (other)';
  if (url.includes('/runtime/inference/')) return 'runtime/inference';
  if (url.includes('/runtime/')) return 'runtime (other)';
  return 'other';
}

interface Window {
  requests: number;
  from: number;
  to: number;
  rps: number;
  rowsPerRun: number;
  /** CPU time of the server's main thread per request, from /proc (NaN elsewhere). */
  threadCpuUs: number;
}

async function runProfiled(dir: string, target: Target): Promise<Window> {
  const child = spawn(
    process.execPath,
    [
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      '--cpu-prof-interval=200',
      compiledMlops(),
      'serve',
      '-m',
      path.join(repoRoot, 'test', 'fixtures', 'models', MODEL),
      '--name',
      'churn',
      '--port',
      '0',
      '--max-queue',
      '4096',
      ...(WORKERS === undefined ? [] : ['--workers', String(WORKERS)]),
      ...EXTRA_ARGS,
    ],
    { cwd: repoRoot, env: { ...process.env, MLOPS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"inference server listening"'));
      if (line) resolve(Number(new URL(JSON.parse(line).url).port));
    });
    child.once('exit', (code) => reject(new Error(`mlops serve exited with ${code}: ${out}`)));
  });
  try {
    await closedLoop(port, target, CLIENTS, 1); // warm-up: JIT, batch sizes settle
    const before = await batchStats(port);
    const cpu = processCpuMs(child.pid, child.pid);
    const from = Number(process.hrtime.bigint() / 1000n);
    const m = await closedLoop(port, target, CLIENTS, SECONDS);
    const to = Number(process.hrtime.bigint() / 1000n);
    const threadCpuUs = ((processCpuMs(child.pid, child.pid) - cpu) * 1000) / Math.max(1, m.requests);
    const after = await batchStats(port);
    return { requests: m.requests, from, to, rps: m.rps, rowsPerRun: (after.sum - before.sum) / (after.count - before.count), threadCpuUs };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/** Self time (µs) per profile node over the load window's samples only. */
function selfTimes(profile: CpuProfile, window: Window): Map<number, number> {
  const self = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < window.from || t > window.to) continue;
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i];
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  if (self.size === 0) throw new Error('no profile samples fall in the load window (clocks differ?)');
  return self;
}

/** Non-idle self time by origin and by frame, as µs per request and share of the non-idle samples, largest first. */
function shares(profile: CpuProfile, window: Window): { origins: ProfileShare[]; frames: ProfileShare[]; busyShare: number; cpuPerRequest: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frames = new Map<string, { us: number; origin: string }>();
  const origins = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfTimes(profile, window)) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const o = origin(url, functionName);
    busy += us;
    origins.set(o, (origins.get(o) ?? 0) + us);
    const key =
      `${functionName || '(anonymous)'} ${url ? `${url.replace(`file://${repoRoot}/`, '').replace(/^.*node_modules\//, '')}:${lineNumber + 1}` : ''}`.trim();
    const f = frames.get(key) ?? { us: 0, origin: o };
    f.us += us;
    frames.set(key, f);
  }
  // The sampler records where the thread is, on CPU or not (a thread preempted on a loaded machine, or
  // blocked on a lock, keeps being sampled in its frame): the shares are of sampled time, and µs/request
  // scales them to the thread's CPU time measured from /proc over the same window.
  const cpuPerRequest = Number.isFinite(window.threadCpuUs) ? window.threadCpuUs : busy / window.requests;
  const share = (name: string, o: string, us: number): ProfileShare => ({ name, origin: o, us: (us / busy) * cpuPerRequest, share: us / busy });
  const byShare = (a: ProfileShare, b: ProfileShare) => b.share - a.share;
  return {
    origins: [...origins].map(([o, us]) => share(o, o, us)).sort(byShare),
    frames: [...frames].map(([k, f]) => share(k, f.origin, f.us)).sort(byShare),
    busyShare: busy / (window.to - window.from),
    cpuPerRequest,
  };
}

function report(profile: CpuProfile, window: Window): { origins: ProfileShare[]; frames: ProfileShare[]; cpuPerRequest: number } {
  const found = shares(profile, window);
  const seconds = (window.to - window.from) / 1e6;
  process.stdout.write(
    `\n${window.requests} requests in ${seconds.toFixed(1)} s (${Math.round(window.rps)} req/s, ${window.rowsPerRun.toFixed(1)} rows per session run); HTTP thread CPU ${found.cpuPerRequest.toFixed(1)} µs per request (/proc), non-idle in ${(100 * found.busyShare).toFixed(0)}% of the sampled time\n\n`,
  );
  process.stdout.write('| origin | µs/request (share × CPU) | share of non-idle samples |\n|---|---|---|\n');
  for (const o of found.origins) process.stdout.write(`| ${o.name} | ${o.us.toFixed(2)} | ${(100 * o.share).toFixed(1)}% |\n`);
  process.stdout.write(`\ntop ${TOP} self-time frames:\n\n| µs/request | share | origin | frame |\n|---|---|---|---|\n`);
  for (const f of found.frames.slice(0, TOP)) process.stdout.write(`| ${f.us.toFixed(2)} | ${(100 * f.share).toFixed(1)}% | ${f.origin} | \`${f.name}\` |\n`);
  return { origins: found.origins, frames: found.frames.slice(0, TOP), cpuPerRequest: found.cpuPerRequest };
}

async function main(): Promise<void> {
  const targetName = process.env.MLOPS_PROFILE_TARGET ?? 'v2';
  const target = targetName === 'invocations' ? invocationsTarget(ROWS) : targetName === 'v2-tensor' ? v2TensorTarget(ROWS) : v2ColumnsTarget(ROWS);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-cpuprof-'));
  const loadavgAtStart = os.loadavg();
  process.stdout.write(
    `profile of mlops serve ${MODEL}: ${CLIENTS} closed-loop clients, ${ROWS}-row ${targetName} requests, ${SECONDS} s; ${os.availableParallelism()} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  try {
    const window = await runProfiled(dir, target);
    // The main thread's file: CPU.<date>.<time>.<pid>.<thread id 0>.<seq>.cpuprofile (workers write their own).
    const file = fs.readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (!file) throw new Error(`no main-thread profile in ${dir}: ${fs.readdirSync(dir).join(', ')}`);
    const found = report(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile, window);
    const doc: Omit<ProfileResults, 'date' | 'cpus'> = {
      loadavgAtStart,
      model: MODEL,
      target: targetName,
      rows: ROWS,
      clients: CLIENTS,
      workers: WORKERS,
      seconds: SECONDS,
      requests: window.requests,
      rps: window.rps,
      rowsPerRun: window.rowsPerRun,
      threadCpuUs: found.cpuPerRequest,
      origins: found.origins,
      frames: found.frames,
    };
    writeResults('inference-profile', { ...doc });
    if (process.env.MLOPS_PROFILE_KEEP) process.stdout.write(`\nprofile kept: ${path.join(dir, file)} (open in Chrome DevTools › Performance)\n`);
  } finally {
    if (!process.env.MLOPS_PROFILE_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
