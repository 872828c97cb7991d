/**
 * Slash trimming for URIs and paths that come from requests. Loops, not `/\/+$/`: a regex anchored at
 * the end backtracks over every slash of a long run that is not at the end (quadratic: 20,000 slashes
 * then a letter take half a second, a megabyte of them hours).
 */

const SLASH = 47;

/** `s` without trailing slashes. */
export function trimTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === SLASH) end--;
  return s.slice(0, end);
}

/** `s` without leading or trailing slashes. */
export function trimSlashes(s: string): string {
  let start = 0;
  while (start < s.length && s.charCodeAt(start) === SLASH) start++;
  return trimTrailingSlashes(s.slice(start));
}
