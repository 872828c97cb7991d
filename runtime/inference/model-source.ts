import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MLMODEL_FILE, ONNX_MODEL_FILE } from '../model';

/** Where model versions come from: a client that can download an artifact location (the MLflow client). */
export interface ArtifactSource {
  downloadArtifacts(artifactUri: string, dest: string): Promise<void>;
}

/** Default cache: MLOPS_MODEL_CACHE, else ~/.cache/mlops/models. */
export function defaultCacheDir(): string {
  return process.env.MLOPS_MODEL_CACHE ?? path.join(os.homedir(), '.cache', 'mlops', 'models');
}

/**
 * Downloads an artifact location once per (tracking server, location) into the cache: a finished
 * download is renamed into place atomically, so a crash never leaves a half model that looks complete.
 */
export async function cachedDownload(client: ArtifactSource, trackingUri: string, artifactUri: string, cacheDir: string): Promise<string> {
  const id = createHash('sha256').update(`${trackingUri}\n${artifactUri}`).digest('hex').slice(0, 24);
  const final = path.join(cacheDir, id);
  if (fs.existsSync(final)) return final;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = path.join(cacheDir, `.tmp-${id}-${randomBytes(4).toString('hex')}`);
  try {
    await client.downloadArtifacts(artifactUri, tmp);
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
  if (fs.existsSync(path.join(dir, MLMODEL_FILE)) || fs.existsSync(path.join(dir, ONNX_MODEL_FILE))) return dir;
  const onnx = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx'));
  if (onnx.length === 1) return path.join(dir, onnx[0]);
  throw new Error(`downloaded artifacts at ${dir} hold no MLmodel and ${onnx.length} .onnx files`);
}
