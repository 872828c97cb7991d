import { MlflowError } from '../errors';

/**
 * Validates a client-supplied artifact path before it is joined to a trusted root (MLflow's
 * validate_path_is_safe): decoded until stable, so `%2e%2e%2f` or a double-encoded traversal is caught,
 * then rejected if it has `..` segments, is absolute, or uses `\\`, `#` or control characters.
 * Returns the normalised relative path ('' for the root).
 */
export function safeArtifactPath(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '';
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
  return path
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}
