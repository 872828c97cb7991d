import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { trimTrailingSlashes } from '../slashes';

/** What `-m` names, parsed. Stages follow MLflow: None, Staging, Production, Archived (any case). */
export type ModelUri =
  | { kind: 'alias'; name: string; alias: string; uri: string }
  | { kind: 'version'; name: string; version: string; uri: string }
  | { kind: 'stage'; name: string; stage: string; uri: string }
  | { kind: 'latest'; name: string; uri: string }
  | { kind: 'run'; runId: string; path: string; uri: string }
  | { kind: 'local'; path: string; uri: string };

const STAGES = ['None', 'Staging', 'Production', 'Archived'];

export function parseModelUri(uri: string): ModelUri {
  if (uri.startsWith('models:/')) {
    const rest = uri.slice('models:/'.length);
    const at = rest.lastIndexOf('@');
    if (at > 0) {
      const name = rest.slice(0, at);
      const alias = rest.slice(at + 1);
      if (!alias || alias.includes('/')) throw new Error(`invalid model URI ${uri}: expected models:/<name>@<alias>`);
      return { kind: 'alias', name, alias, uri };
    }
    const parts = rest.split('/');
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new Error(`invalid model URI ${uri}: expected models:/<name>@<alias>, models:/<name>/<version> or models:/<name>/<stage>`);
    const [name, ref] = parts;
    if (/^\d+$/.test(ref)) return { kind: 'version', name, version: ref, uri };
    if (ref.toLowerCase() === 'latest') return { kind: 'latest', name, uri };
    const stage = STAGES.find((s) => s.toLowerCase() === ref.toLowerCase());
    if (!stage) throw new Error(`invalid model URI ${uri}: '${ref}' is not a version number, 'latest' or a stage (${STAGES.join(', ')})`);
    return { kind: 'stage', name, stage, uri };
  }
  if (uri.startsWith('runs:/')) {
    const m = /^runs:\/([^/]+)\/(.+)$/.exec(uri);
    if (!m) throw new Error(`invalid run URI ${uri}: expected runs:/<run_id>/<artifact path>`);
    return { kind: 'run', runId: m[1], path: trimTrailingSlashes(m[2]), uri };
  }
  if (uri.startsWith('file://')) return { kind: 'local', path: new URL(uri).pathname, uri };
  if (/^[a-z][a-z0-9+.-]*:\//i.test(uri)) throw new Error(`unsupported model URI scheme in ${uri}: use models:/, runs:/, a file:// URI or a local path`);
  return { kind: 'local', path: path.resolve(uri), uri };
}

export interface TrackingClientOptions {
  /** Tracking server base URL (MLFLOW_TRACKING_URI), e.g. http://mlflow.mlops-platform:5000. */
  trackingUri: string;
  /** Basic auth (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD). */
  username?: string;
  password?: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN), used when no username is set. */
  token?: string;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
}

/** A resolved model version: what to download and how to label it. */
export interface ResolvedVersion {
  name: string;
  version: string;
  /** Artifact location of the version (mlflow-artifacts:/…, runs:/…, file://…). */
  artifactUri: string;
  runId?: string;
}

export class TrackingError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode?: string,
  ) {
    super(message);
    this.name = 'TrackingError';
  }
}

/** The few tracking-server REST calls the inference server needs (MLflow REST API 2.0). */
export class TrackingClient {
  private readonly base: string;
  private readonly headers: Record<string, string> = {};

  constructor(private readonly opts: TrackingClientOptions) {
    if (!/^https?:\/\//.test(opts.trackingUri)) throw new Error(`MLFLOW_TRACKING_URI must be an http(s) URL to resolve models:/ and runs:/ URIs, got '${opts.trackingUri}'`);
    this.base = trimTrailingSlashes(opts.trackingUri);
    if (opts.username) this.headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
    else if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
  }

  private async fetch(route: string, init: RequestInit = {}): Promise<Response> {
    const url = `${this.base}${route}`;
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { ...this.headers, ...(init.headers as Record<string, string>) }, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (err) {
      throw new TrackingError(`tracking server ${this.base} unreachable: ${err instanceof Error ? err.message : String(err)}`, 503);
    }
    if (!res.ok) {
      const text = await res.text();
      let message = text.slice(0, 300);
      let code: string | undefined;
      try {
        const body = JSON.parse(text) as { error_code?: string; message?: string };
        message = body.message ?? message;
        code = body.error_code;
      } catch {
        // not JSON: keep the text
      }
      throw new TrackingError(`${init.method ?? 'GET'} ${route.split('?')[0]}: HTTP ${res.status}${code ? ` ${code}` : ''}: ${message}`, res.status, code);
    }
    return res;
  }

  async json<T>(route: string, query?: Record<string, string>, body?: unknown): Promise<T> {
    const qs = query ? `?${new URLSearchParams(query)}` : '';
    const init: RequestInit = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    return (await (await this.fetch(`/api/2.0/mlflow${route}${qs}`, init)).json()) as T;
  }

  /** models:/ URI → the registered version it names now. */
  async resolve(uri: Extract<ModelUri, { name: string }>): Promise<ResolvedVersion> {
    type Mv = { name: string; version: string; source?: string; run_id?: string };
    let mv: Mv;
    if (uri.kind === 'alias') mv = (await this.json<{ model_version: Mv }>('/registered-models/alias', { name: uri.name, alias: uri.alias })).model_version;
    else if (uri.kind === 'version') mv = (await this.json<{ model_version: Mv }>('/model-versions/get', { name: uri.name, version: uri.version })).model_version;
    else {
      const body = uri.kind === 'stage' ? { name: uri.name, stages: [uri.stage] } : { name: uri.name };
      const versions = (await this.json<{ model_versions?: Mv[] }>('/registered-models/get-latest-versions', undefined, body)).model_versions ?? [];
      const latest = versions.sort((a, b) => Number(b.version) - Number(a.version))[0];
      if (!latest) throw new TrackingError(`${uri.uri}: registered model '${uri.name}' has no version${uri.kind === 'stage' ? ` in stage ${uri.stage}` : ''}`, 404, 'RESOURCE_DOES_NOT_EXIST');
      mv = latest;
    }
    const { artifact_uri } = await this.json<{ artifact_uri: string }>('/model-versions/get-download-uri', { name: mv.name, version: String(mv.version) });
    return { name: mv.name, version: String(mv.version), artifactUri: artifact_uri || mv.source || '', runId: mv.run_id };
  }

  /** Downloads every file under an artifact URI into `dest` (created). */
  async download(artifactUri: string, dest: string): Promise<void> {
    const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
    if (proxied) return this.downloadProxied(trimTrailingSlashes(proxied[1]), dest);
    const run = /^runs:\/([^/]+)\/?(.*)$/.exec(artifactUri);
    if (run) return this.downloadRun(run[1], trimTrailingSlashes(run[2]), dest);
    if (artifactUri.startsWith('file://') || artifactUri.startsWith('/')) {
      const src = artifactUri.startsWith('file://') ? new URL(artifactUri).pathname : artifactUri;
      if (!fs.existsSync(src)) throw new Error(`artifact location ${artifactUri} is not reachable from this machine`);
      fs.cpSync(src, dest, { recursive: true });
      return;
    }
    throw new Error(`cannot download ${artifactUri}: only mlflow-artifacts:/, runs:/ and file:// locations are supported (serve artifacts through the tracking server)`);
  }

  private async save(res: Response, file: string): Promise<void> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), fs.createWriteStream(file));
  }

  private async downloadProxied(rel: string, dest: string): Promise<void> {
    const { files = [] } = (await (await this.fetch(`/api/2.0/mlflow-artifacts/artifacts?${new URLSearchParams({ path: rel })}`)).json()) as { files?: Array<{ path: string; is_dir: boolean }> };
    if (files.length === 0) {
      // A file URI (e.g. …/model.onnx) lists nothing: fetch it directly.
      const res = await this.fetch(`/api/2.0/mlflow-artifacts/artifacts/${rel.split('/').map(encodeURIComponent).join('/')}`);
      await this.save(res, path.join(dest, path.posix.basename(rel)));
      return;
    }
    for (const f of files) {
      const name = path.posix.basename(f.path);
      if (f.is_dir) await this.downloadProxied(`${rel}/${name}`, path.join(dest, name));
      else await this.save(await this.fetch(`/api/2.0/mlflow-artifacts/artifacts/${`${rel}/${name}`.split('/').map(encodeURIComponent).join('/')}`), path.join(dest, name));
    }
  }

  private async downloadRun(runId: string, rel: string, dest: string): Promise<void> {
    const run = await this.json<{ run: { info: { artifact_uri: string } } }>('/runs/get', { run_id: runId });
    const root = trimTrailingSlashes(run.run.info.artifact_uri);
    // Proxied roots go through the artifact proxy; others through the run's artifact listing + /get-artifact.
    if (root.startsWith('mlflow-artifacts:')) return this.download(`${root}/${rel}`, dest);
    const walk = async (sub: string, into: string): Promise<void> => {
      const { files = [] } = await this.json<{ files?: Array<{ path: string; is_dir: boolean }> }>('/artifacts/list', { run_id: runId, path: sub });
      if (files.length === 0 && sub === rel) {
        await this.save(await this.fetch(`/get-artifact?${new URLSearchParams({ run_id: runId, path: sub })}`), path.join(into, path.posix.basename(sub)));
        return;
      }
      for (const f of files) {
        const name = path.posix.basename(f.path);
        if (f.is_dir) await walk(`${sub}/${name}`, path.join(into, name));
        else await this.save(await this.fetch(`/get-artifact?${new URLSearchParams({ run_id: runId, path: `${sub}/${name}` })}`), path.join(into, name));
      }
    };
    await walk(rel, dest);
  }
}

/** Default cache: MLOPS_MODEL_CACHE, else ~/.cache/mlops/models. */
export function defaultCacheDir(): string {
  return process.env.MLOPS_MODEL_CACHE ?? path.join(os.homedir(), '.cache', 'mlops', 'models');
}

/**
 * Downloads an artifact location once per (tracking server, location) into the cache: a finished
 * download is renamed into place atomically, so a crash never leaves a half model that looks complete.
 */
export async function cachedDownload(client: TrackingClient, trackingUri: string, artifactUri: string, cacheDir: string): Promise<string> {
  const id = createHash('sha256').update(`${trackingUri}\n${artifactUri}`).digest('hex').slice(0, 24);
  const final = path.join(cacheDir, id);
  if (fs.existsSync(final)) return final;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = path.join(cacheDir, `.tmp-${id}-${randomBytes(4).toString('hex')}`);
  try {
    await client.download(artifactUri, tmp);
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      // Another process finished the same download first: use theirs.
      if (!fs.existsSync(final)) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return final;
}

/** The model directory or file to load, when the download is a directory holding exactly one .onnx. */
export function modelLocationIn(dir: string): string {
  if (fs.statSync(dir).isFile()) return dir;
  if (fs.existsSync(path.join(dir, 'MLmodel')) || fs.existsSync(path.join(dir, 'model.onnx'))) return dir;
  const onnx = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx'));
  if (onnx.length === 1) return path.join(dir, onnx[0]);
  throw new Error(`downloaded artifacts at ${dir} hold no MLmodel and ${onnx.length} .onnx files`);
}
