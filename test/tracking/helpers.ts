import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { openStore, startTrackingServer, type RunningTrackingServer, type StoreConnection, type TrackingServerOptions } from '../../runtime/tracking';
import { prepareSchema } from '../../runtime/tracking/db/migrate';
import { TrackingStore } from '../../runtime/tracking/runs/store';
import { repoRoot } from '../helpers/cli';
import { createTestDatabase, postgresAvailability } from '../helpers/postgres';
import { pythonExecutable } from '../helpers/python';
import { commandAvailable, type Availability } from '../helpers/tools';

export type StoreKind = 'sqlite' | 'postgres';

/** Probed once per suite file; both stores run everywhere PostgreSQL is available (always under CI). */
export const postgres = postgresAvailability();

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mlops-${prefix}-`));
}

export interface TestStore {
  /** The database's URL, for a second connection (another replica, a concurrent transaction). */
  url: string;
  conn: StoreConnection;
  store: TrackingStore;
  /** Closes the connection, drops the database and removes the artifact dir. */
  close(): Promise<void>;
}

/** A fresh PostgreSQL database (`mlops_<prefix>_…`) with the current schema and a TrackingStore on it, in process (no HTTP). */
export async function postgresTestStore(prefix: string): Promise<TestStore> {
  const dir = tmpDir(prefix);
  const db = await createTestDatabase(`mlops_${prefix.replace(/-/g, '_')}`);
  const close = async (conn?: StoreConnection) => {
    await conn?.close();
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let conn: StoreConnection | undefined;
  try {
    conn = await openStore(db.url);
    await prepareSchema(conn.db, 'postgres', { upgrade: true });
  } catch (err) {
    await close(conn);
    throw err;
  }
  const store = new TrackingStore(conn.db, 'postgres', { defaultArtifactRoot: path.join(dir, 'artifacts') });
  return { url: db.url, conn, store, close: () => close(conn) };
}

export interface TestServer extends RunningTrackingServer {
  dir: string;
  backendStoreUri: string;
  stop(): Promise<void>;
}

/** A real server on a random loopback port with a fresh store of the given kind and a temp artifact dir. */
export async function startTestServer(kind: StoreKind, opts: Partial<TrackingServerOptions> = {}): Promise<TestServer> {
  const dir = tmpDir(`tracking-${kind}`);
  let backendStoreUri = `sqlite:///${path.join(dir, 'mlflow.db')}`;
  let drop: () => Promise<void> = () => Promise.resolve();
  if (kind === 'postgres') {
    const db = await createTestDatabase('mlops_tracking');
    backendStoreUri = db.url;
    drop = db.drop;
  }
  const server = await startTrackingServer({
    port: 0,
    backendStoreUri,
    artifactsDestination: path.join(dir, 'artifacts'),
    upgradeDb: true,
    logger: false,
    ...opts,
  });
  return {
    ...server,
    dir,
    backendStoreUri,
    stop: async () => {
      await server.close();
      await drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

/** Calls the REST API like a client: GET with a query string (repeated keys for arrays), others with JSON. */
export async function api<T = any>(baseUrl: string, method: string, route: string, payload?: unknown, prefix = '/api/2.0/mlflow'): Promise<ApiResponse<T>> {
  let url = `${baseUrl}${prefix}${route}`;
  const init: RequestInit = { method };
  if (method === 'GET' && payload && typeof payload === 'object') {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(payload as Record<string, unknown>)) {
      for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
    }
    url += `?${qs.toString()}`;
  } else if (payload !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (artifact bytes, /version)
  }
  return { status: res.status, body };
}

/** The interpreter with the MLflow 2.x client: MLOPS_MLFLOW2_PYTHON, else `.venv-mlflow2` (created by .ci/run). */
export function mlflow2Python(): string {
  if (process.env.MLOPS_MLFLOW2_PYTHON) return process.env.MLOPS_MLFLOW2_PYTHON;
  return path.join(repoRoot, '.venv-mlflow2', 'bin', 'python');
}

/** The interpreter with an early MLflow 3 client (3.1, the v2 trace API): MLOPS_MLFLOW31_PYTHON, else `.venv-mlflow31` (created by .ci/run). */
export function mlflow31Python(): string {
  if (process.env.MLOPS_MLFLOW31_PYTHON) return process.env.MLOPS_MLFLOW31_PYTHON;
  return path.join(repoRoot, '.venv-mlflow31', 'bin', 'python');
}

/** Whether `python` has an MLflow client of the given major version. */
export function mlflowClientAvailability(python: string, major: 2 | 3): Availability {
  const a = commandAvailable(
    python,
    ['-c', `import mlflow,sys; sys.exit(0 if mlflow.__version__.startswith("${major}.") else 1)`],
    `MLflow ${major}.x client (${python})`,
  );
  return a;
}

export const mlflowClients: { name: string; python: string; availability: Availability }[] = [
  { name: 'MLflow 3.x client', python: pythonExecutable(), availability: mlflowClientAvailability(pythonExecutable(), 3) },
  { name: 'MLflow 2.x client', python: mlflow2Python(), availability: mlflowClientAvailability(mlflow2Python(), 2) },
];

/** Environment for every MLflow client process: fail fast instead of the client's retry backoff; no telemetry calls from tests. */
export const MLFLOW_CLIENT_ENV = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0', MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true' };

/**
 * Runs a Python script (absolute path) with an MLflow client interpreter; resolves with the last stdout
 * line parsed as JSON. Asynchronous on purpose: the server under test runs in this process's event loop.
 */
export function runPythonScript(python: string, scriptPath: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000): Promise<any> {
  const script = path.basename(scriptPath);
  return new Promise((resolve, reject) => {
    execFile(
      python,
      [scriptPath, ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...MLFLOW_CLIENT_ENV, ...env } },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${script} failed (${err.message}):\n${stderr}\n${stdout}`));
          return;
        }
        const lines = stdout.trim().split('\n');
        try {
          resolve(JSON.parse(lines[lines.length - 1]));
        } catch {
          reject(new Error(`${script} printed no JSON result:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** Runs a script from test/tracking/python (see runPythonScript). */
export function runPython(python: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<any> {
  return runPythonScript(python, path.join(__dirname, 'python', script), args, env);
}

/** Store kinds to run a suite on: always SQLite; PostgreSQL when reachable (a skip is printed otherwise, a failure under CI). */
export function storeKinds(): StoreKind[] {
  return ['sqlite', 'postgres'];
}

export function storeAvailability(kind: StoreKind): Availability {
  return kind === 'postgres' ? postgres : { ok: true, reason: '' };
}

/**
 * The clients the tracing suites run `tracing_workflow.py` with. `early`: the v2 trace API (StartTrace/EndTrace),
 * no assessments outside Databricks and no link_traces_to_run — 3.1 and 2.x.
 */
export const tracingClients = [
  {
    name: 'MLflow 3.x client',
    early: false,
    prefix: '3.',
    tag: '3x',
    python: pythonExecutable(),
    availability: mlflowClientAvailability(pythonExecutable(), 3),
  },
  {
    name: 'MLflow 3.1 client',
    early: true,
    prefix: '3.1.',
    tag: '31',
    python: mlflow31Python(),
    availability: commandAvailable(
      mlflow31Python(),
      ['-c', 'import mlflow,sys; sys.exit(0 if mlflow.__version__.startswith("3.1.") else 1)'],
      `MLflow 3.1 client (${mlflow31Python()})`,
    ),
  },
  { name: 'MLflow 2.x client', early: true, prefix: '2.', tag: '2x', python: mlflow2Python(), availability: mlflowClientAvailability(mlflow2Python(), 2) },
];
