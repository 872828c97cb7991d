import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { basicAuth } from '../../runtime/tracking/auth';
import type { TrackingServerOptions } from '../../runtime/tracking';
import type { PermissionName } from '../../runtime/tracking/auth';
import { ADMIN, call, type Credentials, type Res } from '../auth/helpers';
import { startTestServer, tmpDir, type StoreKind, type TestServer } from '../tracking/helpers';

/**
 * Where a security suite's server keeps things, all under one temp directory `base`:
 * `wide/` is the admins' allow-listed prefix and holds the SQLite store (`wide/store/`) and the
 * artifacts destination (`wide/dest/`), so a location that only looks allowed can point at them;
 * `wide-evil/` shares the prefix's leading characters; `outside/` holds a file no request may reach.
 */
export interface ArtifactLayout {
  base: string;
  wide: string;
  storeDir: string;
  dest: string;
  outside: string;
  wideEvil: string;
}

export interface ArtifactServer extends TestServer {
  layout: ArtifactLayout;
}

export const SECRET = 'outside-secret-0451\n';

export function artifactLayout(): ArtifactLayout {
  const base = tmpDir('security-artifacts');
  const layout = {
    base,
    wide: path.join(base, 'wide'),
    storeDir: path.join(base, 'wide', 'store'),
    dest: path.join(base, 'wide', 'dest'),
    outside: path.join(base, 'outside'),
    wideEvil: path.join(base, 'wide-evil'),
  };
  for (const dir of [layout.storeDir, layout.dest, layout.outside, layout.wideEvil]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(layout.outside, 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(layout.wideEvil, 'secret.txt'), SECRET);
  return layout;
}

/**
 * A real tracking server on loopback: artifacts proxied to `wide/dest`, admins allowed `file://<wide>`
 * and `s3://shared/prefix`, and (by default) `--app-name basic-auth` with NO_PERMISSIONS as the default,
 * so a fresh user can touch nothing but what it creates.
 */
export async function startArtifactServer(
  kind: StoreKind,
  opts: { auth?: boolean; defaultPermission?: PermissionName; server?: (layout: ArtifactLayout) => Partial<TrackingServerOptions> } = {},
): Promise<ArtifactServer> {
  const layout = artifactLayout();
  const auth =
    opts.auth === false
      ? undefined
      : basicAuth({ adminUsername: ADMIN.username, adminPassword: ADMIN.password, defaultPermission: opts.defaultPermission ?? 'NO_PERMISSIONS' });
  let server: TestServer;
  try {
    server = await startTestServer(kind, {
      ...(kind === 'sqlite' ? { backendStoreUri: `sqlite:///${path.join(layout.storeDir, 'mlflow.db')}` } : {}),
      artifactsDestination: layout.dest,
      allowedArtifactRoots: [`file://${layout.wide}`, 's3://shared/prefix'],
      ...(auth ? { beforeRoutes: auth.beforeRoutes, plugins: auth.plugins } : {}),
      ...(opts.server?.(layout) ?? {}),
    });
  } catch (err) {
    fs.rmSync(layout.base, { recursive: true, force: true });
    throw err;
  }
  return {
    ...server,
    layout,
    stop: async () => {
      await server.stop();
      fs.rmSync(layout.base, { recursive: true, force: true });
    },
  };
}

/** One request with the path sent byte for byte (fetch would collapse `/.` and `/%2e` segments first). */
export function rawRequest(url: string, who: Credentials | null, method: string, rawPath: string, body?: string | Buffer): Promise<Res> {
  const { hostname, port } = new URL(url);
  const headers: Record<string, string> = {};
  if (who) headers.authorization = `Basic ${Buffer.from(`${who.username}:${who.password}`).toString('base64')}`;
  if (body !== undefined) headers['content-type'] = 'application/octet-stream';
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // artifact bytes
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: new Headers(res.headers as Record<string, string>) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Creates an experiment and a run as `who`; returns their ids and the run's artifact URI. */
export async function experimentWithRun(
  url: string,
  who: Credentials,
  name: string,
  artifactLocation?: string,
): Promise<{ exp: string; run: string; artifactUri: string }> {
  const created = await call(url, who, 'POST', '/experiments/create', {
    name,
    ...(artifactLocation !== undefined ? { artifact_location: artifactLocation } : {}),
  });
  if (created.status !== 200) throw new Error(`experiments/create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  const exp = String(created.body.experiment_id);
  const run = await call(url, who, 'POST', '/runs/create', { experiment_id: exp });
  if (run.status !== 200) throw new Error(`runs/create in ${exp}: ${run.status} ${JSON.stringify(run.body)}`);
  return { exp, run: run.body.run.info.run_id, artifactUri: run.body.run.info.artifact_uri };
}

/** `mlflow-artifacts:/a/b` → `/api/2.0/mlflow-artifacts/artifacts/a/b` (each segment URL-encoded). */
export function proxiedUrlPath(uri: string, ...rel: string[]): string {
  const inner = uri.replace(/^mlflow-artifacts:\/*/, '');
  return `/api/2.0/mlflow-artifacts/artifacts/${[...inner.split('/'), ...rel.flatMap((r) => r.split('/'))].filter(Boolean).map(encodeURIComponent).join('/')}`;
}

/** Uploads bytes through the proxy as `who`; throws unless the server answers 200. */
export async function upload(url: string, who: Credentials, uri: string, rel: string, body: string): Promise<void> {
  const res = await rawRequest(url, who, 'PUT', proxiedUrlPath(uri, rel), body);
  if (res.status !== 200) throw new Error(`PUT ${uri}/${rel}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Every file under `dir` (relative paths, sorted): what a test compares before and after an attack. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/**
 * Asserts a refusal: a 4xx (or exactly `status`) in MLflow's error shape whose body leaks none of `secret`.
 * `what` names the attempt in the failure message.
 */
export function expectRefused(res: Res, what: string, status?: number, secret = SECRET.trim()): void {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  const shaped = typeof res.body === 'object' && res.body !== null && typeof res.body.error_code === 'string';
  const ok = (status === undefined ? res.status >= 400 && res.status < 500 : res.status === status) && shaped && !text.includes(secret);
  if (!ok) throw new Error(`${what}: expected a refusal${status ? ` (${status})` : ''}, got ${res.status} ${text.slice(0, 300)}`);
}
