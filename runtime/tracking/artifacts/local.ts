import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MlflowError } from '../http/errors';
import type { ArtifactFileInfo, ArtifactRepository } from './repository';

/** Where a relative path lands, found without following any link: the path, and its lstat if it exists. */
interface Located {
  full: string;
  stat?: fs.Stats;
}

const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * Artifacts in a local directory (a path or a `file://` URI). The root is resolved to its real path
 * once (an operator may point the server at a symlinked volume); below it no symbolic link is ever
 * followed: every existing component of a path is lstat-ed and a link anywhere is a 400, and files
 * are opened with O_NOFOLLOW. A path that reached here has passed safeArtifactPath (no `..`).
 */
export class LocalArtifactRepository implements ArtifactRepository {
  readonly root: string;
  readonly rootUri: string;
  private realRoot?: string;

  constructor(destination: string, create = true) {
    this.root = path.resolve(destination.startsWith('file:') ? fileURLToPath(destination) : destination);
    this.rootUri = pathToFileURL(this.root).toString();
    if (create) {
      fs.mkdirSync(this.root, { recursive: true });
      this.realRoot = fs.realpathSync(this.root);
    }
  }

  /**
   * The root's real path: resolved at construction, or at first use for a root the server does not
   * create (an allow-listed directory); undefined while it does not exist.
   */
  async resolvedRoot(): Promise<string | undefined> {
    if (!this.realRoot) {
      try {
        this.realRoot = await fs.promises.realpath(this.root);
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    }
    return this.realRoot;
  }

  private async requireRoot(): Promise<string> {
    const root = await this.resolvedRoot();
    if (!root) throw MlflowError.notFound(`The artifact root ${this.rootUri} does not exist.`);
    return root;
  }

  /** Walks `rel` from the real root with lstat, refusing links; stops at the first missing component. */
  private async locate(rel: string): Promise<Located> {
    const parts = rel === '' ? [] : rel.split('/');
    const root = await this.resolvedRoot();
    if (!root) return { full: path.join(this.root, ...parts) };
    let full = root;
    for (let i = 0; i < parts.length; i++) {
      full = path.join(full, parts[i]);
      let stat: fs.Stats;
      try {
        stat = await fs.promises.lstat(full);
      } catch (err) {
        if (isMissing(err)) return { full: path.join(full, ...parts.slice(i + 1)) };
        throw fsError(err, rel);
      }
      if (stat.isSymbolicLink()) throw MlflowError.invalid(`Invalid path '${rel}': it goes through a symbolic link, which the artifact store does not follow.`);
      if (i === parts.length - 1) return { full, stat };
      if (!stat.isDirectory()) return { full: path.join(full, ...parts.slice(i + 1)) };
    }
    return { full, stat: await fs.promises.lstat(full) };
  }

  async put(rel: string, body: Readable): Promise<void> {
    if (rel === '') throw MlflowError.invalid('An artifact path is required to upload a file.');
    const { full: target, stat } = await this.locate(rel);
    if (stat?.isDirectory()) throw MlflowError.invalid(`Invalid path '${rel}': a directory exists there.`);
    await this.makeParents(rel);
    // Write to a short temp name beside the target and rename: a client that disconnects mid-upload
    // leaves no truncated artifact, and a 255-byte file name still fits. 'wx' never opens a link.
    const tmp = path.join(path.dirname(target), `.${randomBytes(6).toString('hex')}.partial`);
    try {
      await pipeline(body, fs.createWriteStream(tmp, { flags: 'wx' }));
      await fs.promises.rename(tmp, target);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw fsError(err, rel);
    }
  }

  /** Creates the missing parent directories of `rel` one at a time, refusing links and files in the way. */
  private async makeParents(rel: string): Promise<void> {
    let full = await this.requireRoot();
    const parents = rel.split('/').slice(0, -1);
    for (const part of parents) {
      full = path.join(full, part);
      try {
        await fs.promises.mkdir(full);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, rel);
      }
      const stat = await fs.promises.lstat(full);
      if (stat.isSymbolicLink()) throw MlflowError.invalid(`Invalid path '${rel}': it goes through a symbolic link, which the artifact store does not follow.`);
      if (!stat.isDirectory()) throw MlflowError.invalid(`Invalid path '${rel}': '${part}' is a file, not a directory.`);
    }
  }

  async get(rel: string): Promise<{ body: Readable; size?: number }> {
    const { full, stat } = await this.locate(rel);
    if (!stat || !stat.isFile()) throw MlflowError.notFound(`Artifact '${rel}' does not exist.`);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      if (isMissing(err)) throw MlflowError.notFound(`Artifact '${rel}' does not exist.`);
      throw fsError(err, rel);
    }
    return { body: handle.createReadStream(), size: stat.size };
  }

  async list(rel: string): Promise<ArtifactFileInfo[]> {
    const { full, stat } = await this.locate(rel);
    if (!stat?.isDirectory()) return [];
    const entries = await fs.promises.readdir(full, { withFileTypes: true }).catch(() => []);
    const out: ArtifactFileInfo[] = [];
    // Links are not artifacts of this run: they are neither listed nor followed.
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.endsWith('.partial')) continue;
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) out.push({ path: childRel, is_dir: true });
      else if (e.isFile()) out.push({ path: childRel, is_dir: false, file_size: (await fs.promises.lstat(path.join(full, e.name))).size });
    }
    return out;
  }

  async delete(rel: string): Promise<void> {
    if (rel === '') throw MlflowError.invalid('An artifact path is required: the root of the artifact store cannot be deleted.');
    const { full, stat } = await this.locate(rel);
    // rm does not follow links inside the tree it removes; the path to it was checked above.
    if (stat) await fs.promises.rm(full, { recursive: true, force: true });
  }
}

/** Filesystem errors a client's path can cause, as 4xx; anything else stays an internal error. */
function fsError(err: unknown, rel: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENAMETOOLONG') return MlflowError.invalid(`Invalid path '${rel.slice(0, 100)}…': the name is too long for the file system.`);
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') return MlflowError.invalid(`Invalid path '${rel}': a file or directory is in the way.`);
  if (code === 'ELOOP') return MlflowError.invalid(`Invalid path '${rel}': it goes through a symbolic link, which the artifact store does not follow.`);
  return err;
}
