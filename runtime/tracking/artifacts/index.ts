import { LocalArtifactRepository } from './local';
import type { ArtifactRepository } from './repository';
import { S3ArtifactRepository } from './s3';

export type { ArtifactRepository, ArtifactFileInfo } from './repository';
export { ARTIFACT_PATH_LIMITS, joinArtifactPath, requiredArtifactPath, safeArtifactPath } from './paths';
export { MAX_ARTIFACT_LOCATION_LENGTH, formatArtifactLocation, isWithin, parseArtifactLocation, type ArtifactLocation } from './locations';
export { ArtifactRoots, type ArtifactOwnerRef, type ArtifactRootsOptions, type Caller, type ResolvedRoot } from './roots';
export { findArtifactOwner } from './owners';
export { LocalArtifactRepository } from './local';
export { S3ArtifactRepository, s3ClientFromEnv } from './s3';

/** The repository for an `--artifacts-destination`: `s3://bucket/prefix`, `file:///dir`, or a plain directory. */
export function artifactRepositoryFor(destination: string, opts: { create?: boolean } = {}): ArtifactRepository {
  if (destination.startsWith('s3://')) return new S3ArtifactRepository(destination);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination) && !destination.startsWith('file://')) {
    throw new Error(`unsupported artifact destination ${destination}: use a local path, file:// or s3://`);
  }
  return new LocalArtifactRepository(destination, opts.create ?? true);
}
