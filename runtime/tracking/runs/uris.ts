import { trimSlashes, trimTrailingSlashes } from '../../slashes';

/** Joins an artifact root and path segments with single slashes, keeping the scheme's `//`. */
export function joinUri(root: string, ...parts: string[]): string {
  return [trimTrailingSlashes(root), ...parts.map(trimSlashes)].join('/');
}
