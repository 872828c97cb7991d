import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Response } from 'undici';
import type { MlflowHttp } from './http';
import type { ArtifactFileInfo } from './types';
import { trimTrailingSlashes } from '../slashes';

/** `mlflow-artifacts:/x/y` or `mlflow-artifacts://host/x/y` → `x/y`; undefined for other schemes. */
function proxiedPath(artifactUri: string): string | undefined {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
  return m ? trimTrailingSlashes(m[1]) : undefined;
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

/**
 * Uploads one artifact under a run's artifact URI: proxied (`mlflow-artifacts:`) through the tracking
 * server, or straight into a `file://` / `s3://` store (servers run with --no-serve-artifacts; S3 settings
 * from MLFLOW_S3_ENDPOINT_URL and the AWS environment, as MLflow's client does).
 */
export async function uploadArtifact(http: MlflowHttp, artifactUri: string, relPath: string, data: Buffer): Promise<void> {
  const base = proxiedPath(artifactUri);
  if (base !== undefined) {
    const res = await http.send({
      method: 'PUT',
      path: `/api/2.0/mlflow-artifacts/artifacts/${encodePath([base, relPath].filter(Boolean).join('/'))}`,
      body: data,
    });
    await res.arrayBuffer();
    return;
  }
  const { artifactRepositoryFor } = await import('../tracking/artifacts');
  const repo = artifactRepositoryFor(artifactUri, { create: true });
  try {
    await repo.put(relPath, Readable.from([data]));
  } finally {
    repo.close?.();
  }
}

async function save(res: Response, file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await pipeline(Readable.fromWeb(res.body as WebReadableStream), fs.createWriteStream(file));
}

async function downloadProxied(http: MlflowHttp, rel: string, dest: string): Promise<void> {
  const { files = [] } = await http.json<{ files?: ArtifactFileInfo[] }>({ method: 'GET', path: '/api/2.0/mlflow-artifacts/artifacts', query: { path: rel } });
  if (files.length === 0) {
    // A file URI (e.g. …/model.onnx) lists nothing: fetch it directly.
    await save(await http.send({ method: 'GET', path: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(rel)}` }), path.join(dest, path.posix.basename(rel)));
    return;
  }
  for (const f of files) {
    const name = path.posix.basename(f.path);
    if (f.is_dir) await downloadProxied(http, `${rel}/${name}`, path.join(dest, name));
    else await save(await http.send({ method: 'GET', path: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(`${rel}/${name}`)}` }), path.join(dest, name));
  }
}

async function downloadRun(http: MlflowHttp, runId: string, rel: string, dest: string): Promise<void> {
  const run = await http.json<{ run: { info: { artifact_uri: string } } }>({ method: 'GET', path: '/api/2.0/mlflow/runs/get', query: { run_id: runId } });
  const root = trimTrailingSlashes(run.run.info.artifact_uri);
  // Proxied roots go through the artifact proxy; others through the run's artifact listing + /get-artifact.
  if (root.startsWith('mlflow-artifacts:')) return downloadArtifacts(http, `${root}/${rel}`, dest);
  const fetchFile = async (sub: string, file: string) =>
    save(await http.send({ method: 'GET', path: '/get-artifact', query: { run_id: runId, path: sub } }), file);
  const walk = async (sub: string, into: string): Promise<void> => {
    const { files = [] } = await http.json<{ files?: ArtifactFileInfo[] }>({
      method: 'GET',
      path: '/api/2.0/mlflow/artifacts/list',
      query: { run_id: runId, path: sub },
    });
    if (files.length === 0 && sub === rel) return fetchFile(sub, path.join(into, path.posix.basename(sub)));
    for (const f of files) {
      const name = path.posix.basename(f.path);
      if (f.is_dir) await walk(`${sub}/${name}`, path.join(into, name));
      else await fetchFile(`${sub}/${name}`, path.join(into, name));
    }
  };
  await walk(rel, dest);
}

/** Downloads every file under an artifact URI (mlflow-artifacts:/, runs:/, file://) into `dest`. */
export async function downloadArtifacts(http: MlflowHttp, artifactUri: string, dest: string): Promise<void> {
  const proxied = proxiedPath(artifactUri);
  if (proxied !== undefined) return downloadProxied(http, proxied, dest);
  const run = /^runs:\/([^/]+)\/?(.*)$/.exec(artifactUri);
  if (run) return downloadRun(http, run[1], trimTrailingSlashes(run[2]), dest);
  if (artifactUri.startsWith('file://') || artifactUri.startsWith('/')) {
    const src = artifactUri.startsWith('file://') ? new URL(artifactUri).pathname : artifactUri;
    if (!fs.existsSync(src)) throw new Error(`artifact location ${artifactUri} is not reachable from this machine`);
    fs.cpSync(src, dest, { recursive: true });
    return;
  }
  throw new Error(
    `cannot download ${artifactUri}: only mlflow-artifacts:/, runs:/ and file:// locations are supported (serve artifacts through the tracking server)`,
  );
}
