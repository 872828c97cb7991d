import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MlflowError } from '../errors';
import type { ArtifactFileInfo, ArtifactRepository } from './repository';

/** Artifacts in a local directory (a path or a `file://` URI). */
export class LocalArtifactRepository implements ArtifactRepository {
  readonly root: string;
  readonly rootUri: string;

  constructor(destination: string, create = true) {
    this.root = path.resolve(destination.startsWith('file:') ? fileURLToPath(destination) : destination);
    this.rootUri = pathToFileURL(this.root).toString();
    if (create) fs.mkdirSync(this.root, { recursive: true });
  }

  /** Joins and re-checks containment, so even a path that slipped past validation cannot leave the root. */
  private resolve(rel: string): string {
    const full = path.resolve(this.root, rel);
    if (full !== this.root && !full.startsWith(this.root + path.sep)) throw MlflowError.invalid('Invalid path');
    return full;
  }

  async put(rel: string, body: Readable): Promise<void> {
    if (rel === '') throw MlflowError.invalid('An artifact path is required to upload a file.');
    const target = this.resolve(rel);
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    // Write to a temp file and rename: a client that disconnects mid-upload leaves no truncated artifact.
    const tmp = `${target}.${randomBytes(6).toString('hex')}.partial`;
    try {
      await pipeline(body, fs.createWriteStream(tmp));
      await fs.promises.rename(tmp, target);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }

  async get(rel: string): Promise<{ body: Readable; size?: number }> {
    const full = this.resolve(rel);
    const stat = await fs.promises.stat(full).catch(() => undefined);
    if (!stat || !stat.isFile()) throw MlflowError.notFound(`Artifact '${rel}' does not exist.`);
    return { body: fs.createReadStream(full), size: stat.size };
  }

  async list(rel: string): Promise<ArtifactFileInfo[]> {
    const dir = this.resolve(rel);
    const entries = await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => []);
    const out: ArtifactFileInfo[] = [];
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.endsWith('.partial')) continue;
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) out.push({ path: childRel, is_dir: true });
      else if (e.isFile()) out.push({ path: childRel, is_dir: false, file_size: (await fs.promises.stat(path.join(dir, e.name))).size });
    }
    return out;
  }

  async delete(rel: string): Promise<void> {
    await fs.promises.rm(this.resolve(rel), { recursive: true, force: true });
  }
}
