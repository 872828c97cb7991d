/**
 * The processes the inference benchmarks measure: `mlops serve` from this checkout, the in-process
 * `session.run` limit, and the peers users would deploy instead (`mlflow models serve`, MLServer 1.7),
 * installed from PyPI into a venv the bench creates and reuses.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { compiledMlops } from '../compiled';
import { freePort } from '../measure';
import { COLUMNS, rowsOf } from './targets';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const fixtures = path.join(repoRoot, 'test', 'fixtures', 'models');

/** Servers still running, killed (with their process group) if the benchmark dies half-way. */
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => killGroup(c, 'SIGKILL')));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(130));
process.stdout.on('error', () => process.exit(1));

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}

/** A server in its own process group (stopServer stops the whole group), killed with it if the benchmark dies half-way. */
function spawnServer(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface Served {
  child: ChildProcess;
  port: number;
  /** Printed next to the figures: what ran, with which settings. */
  describe: string;
}

/** Waits for a line of the child's stdout, or for an HTTP GET to answer 200. */
async function ready(
  child: ChildProcess,
  probe: { line: (l: string) => number | undefined } | { url: string },
  what: string,
  timeoutMs = 180_000,
): Promise<number> {
  let out = '';
  let exited: string | undefined;
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} ${exited}: ${out.slice(-2000)}`);
    let port: number | undefined;
    if ('line' in probe)
      port = out
        .split('\n')
        .map(probe.line)
        .find((p) => p !== undefined);
    else if (
      await fetch(probe.url).then(
        (r) => r.ok,
        () => false,
      )
    )
      port = Number(new URL(probe.url).port);
    if (port !== undefined) {
      // From here on the output (a peer's access log) is drained, not kept.
      for (const stream of [child.stdout, child.stderr]) stream?.removeAllListeners('data').on('data', () => undefined);
      return port;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  killGroup(child, 'SIGKILL');
  throw new Error(`${what} not ready after ${timeoutMs / 1000} s: ${out.slice(-2000)}`);
}

/** Compiled `mlops serve` from this checkout on a free port (its own process group, so stopping it stops all). */
export async function startOurs(modelName: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const argv = [compiledMlops(), 'serve', '-m', path.join(fixtures, modelName), '--name', 'churn', '--port', '0', '--max-queue', '4096', ...args];
  const child = spawnServer(process.execPath, argv, {
    cwd: repoRoot,
    env: { ...process.env, MLOPS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await ready(
    child,
    { line: (l) => (l.includes('"inference server listening"') ? Number(new URL(JSON.parse(l).url).port) : undefined) },
    'mlops serve',
  );
  return { child, port, describe: `mlops serve ${args.join(' ')}`.trim() };
}

/**
 * The floor for any Node HTTP server under this load generator: plain node:http on one event loop that
 * reads each request's body and writes `answer` (the bytes our server answered), nothing else: no
 * parsing, no model. Its CPU per request is what Node's HTTP parser, streams and socket writes cost here.
 */
export async function startHttpFloor(answer: string): Promise<Served> {
  const script = `const http = require('node:http');
const body = Buffer.from(process.env.FLOOR_ANSWER);
const headers = ['content-type', 'application/json; charset=utf-8', 'content-length', String(body.length)];
const server = http.createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => { res.writeHead(200, headers); res.end(body); });
});
server.listen(0, '127.0.0.1', () => console.log('floor listening ' + server.address().port));`;
  const child = spawnServer(process.execPath, ['-e', script], { env: { ...process.env, FLOOR_ANSWER: answer }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await ready(
    child,
    { line: (l) => (l.startsWith('floor listening ') ? Number(l.slice('floor listening '.length)) : undefined) },
    'node:http floor',
  );
  return { child, port, describe: 'node:http, fixed answer' };
}

export async function stopServer(s: Served): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  killGroup(s.child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(s.child, 'SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  // Workers of a peer (uvicorn, MLServer's pool) may outlive their parent by a moment.
  killGroup(s.child, 'SIGKILL');
}

/**
 * In-process limit: session.run on `rows`-row inputs back to back on one thread (one intra-op thread,
 * as each server worker uses). onnxruntime-node keeps getting faster for a second or two and other
 * jobs only slow it down, so after a 1 s warm-up the best of `seconds` one-second windows is the limit.
 */
export async function inProcessRate(modelName: string, rows: number, seconds: number): Promise<{ best: number; mean: number; cpuUs: number }> {
  const session = await ort.InferenceSession.create(path.join(fixtures, modelName, 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const data = rowsOf(rows);
  const feeds: Record<string, ort.Tensor> =
    session.inputNames.length === 1
      ? { [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(data.flat()), [rows, COLUMNS.length]) }
      : Object.fromEntries(session.inputNames.map((n) => [n, new ort.Tensor('float32', Float32Array.from(data.map((r) => r[COLUMNS.indexOf(n)])), [rows, 1])]));
  const window = async (ms: number) => {
    let n = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 100; i++) await session.run(feeds);
      n += 100;
    }
    const used = process.cpuUsage(cpu);
    return { rate: (n * rows) / ((performance.now() - start) / 1000), cpuUs: (used.user + used.system) / (n * rows) };
  };
  await window(1000);
  const windows = [];
  for (let w = 0; w < Math.max(1, Math.round(seconds)); w++) windows.push(await window(1000));
  await session.release();
  const best = windows.reduce((a, b) => (b.rate > a.rate ? b : a));
  return { best: best.rate, mean: windows.reduce((a, b) => a + b.rate, 0) / windows.length, cpuUs: best.cpuUs };
}

// ---- peers ----

export const PEER_VENV = process.env.MLOPS_BENCH_VENV ?? path.join(os.homedir(), '.cache', 'mlops-blueprint', 'bench-venv');
/** mlserver 1.7.1's workers do not start with uvloop 0.22. scikit-learn as the fixtures were made with. */
export const PEER_PACKAGES = [
  'mlflow==3.17.2',
  'mlserver==1.7.1',
  'mlserver-sklearn==1.7.1',
  'uvloop<0.22',
  'scikit-learn==1.9.1',
  'skl2onnx==1.20.0',
  'onnxruntime==1.32.0',
];
const venvBin = (name: string) => path.join(PEER_VENV, 'bin', name);
const peerEnv = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${path.join(PEER_VENV, 'bin')}:${process.env.PATH}`, PYTHONUNBUFFERED: '1' });

function canImport(modules: string): boolean {
  return fs.existsSync(venvBin('python')) && spawnSync(venvBin('python'), ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0;
}

/**
 * The peers' venv: created and filled from PyPI on first use, reused afterwards. Returns why a peer
 * cannot run (undefined when it can) for each peer.
 */
export function preparePeers(log: (s: string) => void): { mlflow?: string; mlserver?: string; models?: string } {
  // onnxruntime: peer_models.py checks the refitted pipeline against the ONNX fixture's probabilities.
  const need = 'mlflow.pyfunc.scoring_server, uvicorn, mlserver, mlserver_sklearn, sklearn, skl2onnx, onnxruntime';
  if (!canImport(need)) {
    log(`installing the peers into ${PEER_VENV} (${PEER_PACKAGES.join(' ')}) ...\n`);
    if (!fs.existsSync(venvBin('python'))) {
      const venv = spawnSync('python3', ['-m', 'venv', PEER_VENV], { encoding: 'utf8' });
      if (venv.status !== 0) return { mlflow: `python3 -m venv failed: ${venv.stderr || venv.error}`, mlserver: 'no venv' };
    }
    const pip = spawnSync(venvBin('pip'), ['install', '-q', ...PEER_PACKAGES], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
    if (pip.status !== 0) log(`pip install failed: ${pip.stderr.slice(-1000)}\n`);
  }
  const reasons: { mlflow?: string; mlserver?: string; models?: string } = {};
  if (!canImport('mlflow.pyfunc.scoring_server, uvicorn, sklearn')) reasons.mlflow = `mlflow (with uvicorn, scikit-learn) cannot be imported from ${PEER_VENV}`;
  if (!canImport('mlserver, mlserver_sklearn, uvloop')) reasons.mlserver = `mlserver / mlserver_sklearn cannot be imported from ${PEER_VENV}`;
  if (!reasons.mlflow || !reasons.mlserver) {
    const made = spawnSync(venvBin('python'), [path.join(__dirname, 'peer_models.py'), peerModelsDir], { encoding: 'utf8' });
    if (made.status !== 0) reasons.models = `bench/inference/peer_models.py failed: ${(made.stderr || made.stdout).slice(-1500)}`;
    else log(made.stdout);
  }
  return reasons;
}

export const peerModelsDir = path.join(os.homedir(), '.cache', 'mlops-blueprint', 'bench-models', 'churn-logreg');

/** `mlflow models serve` on the sklearn pipeline (MLflow sklearn flavor), uvicorn with `workers` workers. */
export async function startMlflowServe(workers: number): Promise<Served> {
  const port = await freePort();
  const child = spawnServer(
    venvBin('mlflow'),
    ['models', 'serve', '-m', path.join(peerModelsDir, 'mlflow'), '--env-manager', 'local', '-h', '127.0.0.1', '-p', String(port), '-w', String(workers)],
    { env: peerEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await ready(child, { url: `http://127.0.0.1:${port}/ping` }, 'mlflow models serve');
  return { child, port, describe: `mlflow models serve --env-manager local -w ${workers} (MLflow 3.17.2, sklearn flavor)` };
}

/** MLServer 1.7.1 with mlserver-sklearn on the same pipeline, `workers` parallel inference workers, debug off. */
export async function startMlserver(workers: number): Promise<Served> {
  const [http, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...peerEnv(),
    MLSERVER_HTTP_PORT: String(http),
    MLSERVER_GRPC_PORT: String(grpc),
    MLSERVER_METRICS_PORT: String(metrics),
    MLSERVER_HOST: '127.0.0.1',
    MLSERVER_PARALLEL_WORKERS: String(workers),
    MLSERVER_DEBUG: 'false',
  };
  const child = spawnServer(venvBin('mlserver'), ['start', path.join(peerModelsDir, 'mlserver')], {
    env,
    cwd: path.join(peerModelsDir, 'mlserver'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await ready(child, { url: `http://127.0.0.1:${http}/v2/models/churn/ready` }, 'mlserver start');
  return { child, port: http, describe: `mlserver start (MLServer 1.7.1, mlserver-sklearn, parallel_workers ${workers}, debug off)` };
}
