import { MlflowError } from '../http/errors';

/**
 * Caps on a client-supplied artifact path, checked before any filesystem or S3 call so an oversized
 * path is a 400 and never ENAMETOOLONG: S3's key limit for the whole path, Linux's NAME_MAX for one
 * segment, and a depth no MLflow client produces.
 */
export const ARTIFACT_PATH_LIMITS = {
  /** UTF-8 bytes of the whole relative path (S3's object key limit). */
  maxPathBytes: 1024,
  /** UTF-8 bytes of one segment (NAME_MAX on Linux filesystems). */
  maxSegmentBytes: 255,
  maxSegments: 64,
} as const;

function checkLimits(path: string): void {
  const { maxPathBytes, maxSegmentBytes, maxSegments } = ARTIFACT_PATH_LIMITS;
  if (Buffer.byteLength(path) > maxPathBytes) throw MlflowError.invalid(`Invalid path: an artifact path may be at most ${maxPathBytes} bytes.`);
  const segments = path.split('/');
  if (segments.length > maxSegments) throw MlflowError.invalid(`Invalid path: an artifact path may have at most ${maxSegments} segments.`);
  if (segments.some((s) => Buffer.byteLength(s) > maxSegmentBytes))
    throw MlflowError.invalid(`Invalid path: a path segment may be at most ${maxSegmentBytes} bytes.`);
}

/**
 * Validates a client-supplied artifact path before it is joined to a trusted root (MLflow's
 * validate_path_is_safe): decoded until stable, so `%2e%2e%2f` or a double-encoded traversal is caught,
 * then rejected if it has `..` segments, is absolute, uses `\\`, `#` or control characters, or exceeds
 * ARTIFACT_PATH_LIMITS. Returns the normalised relative path ('' for the root).
 */
export function safeArtifactPath(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '';
  // Percent-encoding at most triples a path: anything longer cannot decode to an allowed one.
  if (raw.length > 3 * ARTIFACT_PATH_LIMITS.maxPathBytes + 16)
    throw MlflowError.invalid(`Invalid path: an artifact path may be at most ${ARTIFACT_PATH_LIMITS.maxPathBytes} bytes.`);
  let path = raw;
  for (let i = 0; i < 5; i++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      throw MlflowError.invalid('Invalid path');
    }
    if (decoded === path) break;
    path = decoded;
  }
  if (path.startsWith('file://')) throw MlflowError.invalid('Invalid path');
  if (
    path.includes('#') ||
    path.includes('\\') ||
    /[\u0000-\u001f]/.test(path) ||
    path.startsWith('/') ||
    /^[a-zA-Z]:/.test(path) ||
    path.split('/').includes('..')
  ) {
    throw MlflowError.invalid('Invalid path');
  }
  const normalised = path
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
  checkLimits(normalised);
  return normalised;
}

/** Like safeArtifactPath, but the destination root itself ('' after normalising) is refused too. */
export function requiredArtifactPath(raw: string | undefined): string {
  const rel = safeArtifactPath(raw);
  if (rel === '') throw MlflowError.invalid('An artifact path is required: the root of the artifact store cannot be read, written, listed or deleted.');
  return rel;
}

/** Joins '/'-separated relative paths, skipping empty ones. */
export function joinArtifactPath(...parts: string[]): string {
  return parts.filter(Boolean).join('/');
}
