import type { Readable } from 'node:stream';

export interface ArtifactFileInfo {
  /** Path relative to the repository root, '/'-separated. */
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/**
 * Where proxied artifacts live (`--artifacts-destination`). Paths are relative, already validated by
 * safeArtifactPath. Bodies are streams end to end: nothing is buffered whole in memory.
 */
export interface ArtifactRepository {
  /** Human-readable root, e.g. `file:///srv/mlartifacts` or `s3://bucket/prefix`. */
  readonly rootUri: string;
  put(path: string, body: Readable): Promise<void>;
  /** Throws RESOURCE_DOES_NOT_EXIST when there is no file at `path`. */
  get(path: string): Promise<{ body: Readable; size?: number }>;
  /** Immediate children of the directory `path` ('' = root); empty when it does not exist. */
  list(path: string): Promise<ArtifactFileInfo[]>;
  /** Deletes the file or the whole directory at `path`. */
  delete(path: string): Promise<void>;
  /** Releases connections (keep-alive sockets to S3) when the server stops. */
  close?(): void;
}
