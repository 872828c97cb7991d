import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MlflowError } from '../http/errors';
import { trimTrailingSlashes } from '../../slashes';

/**
 * Artifact locations (an experiment's artifact_location, a run's artifact_uri, a configured root) as
 * one canonical value, so containment is decided on segments and never on string prefixes:
 * `s3://bucket/prefix-evil` is not inside `s3://bucket/prefix`, `file:///a/../etc` is refused,
 * `/srv/x` and `file:///srv/x` are the same place, and `mlflow-artifacts://host/x` is the proxy's `x`.
 */
export type LocationScheme = 'file' | 's3' | 'mlflow-artifacts';

export interface ArtifactLocation {
  readonly scheme: LocationScheme;
  /** The S3 bucket; '' for `file` and `mlflow-artifacts`. */
  readonly bucket: string;
  /**
   * Path segments: for `file` below `/` (decoded once, as the filesystem sees them), for `s3` the key
   * (literal, as the SDK sends it), for `mlflow-artifacts` below the proxy root (decoded, as the
   * proxy's URL path is).
   */
  readonly segments: readonly string[];
}

/** MLflow's MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH default: an experiment location longer than this is refused. */
export const MAX_ARTIFACT_LOCATION_LENGTH = 2048;

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s;

function invalid(uri: string, why: string): MlflowError {
  return MlflowError.invalid(`Invalid artifact location '${uri.length > 200 ? `${uri.slice(0, 200)}…` : uri}': ${why}.`);
}

/** Percent-decodes until stable (at most 5 rounds): what a chain of decoders could finally make of it. */
function fullyDecoded(s: string, uri: string): string {
  let out = s;
  for (let i = 0; i < 5; i++) {
    let next: string;
    try {
      next = decodeURIComponent(out);
    } catch {
      throw invalid(uri, 'malformed percent-encoding');
    }
    if (next === out) return out;
    out = next;
  }
  throw invalid(uri, 'too many layers of percent-encoding');
}

/** A segment no decoding can turn into `.`, `..` or a separator. */
function checkSegment(segment: string, uri: string): void {
  const decoded = fullyDecoded(segment, uri);
  if (decoded === '.' || decoded === '..' || decoded.includes('/') || decoded.includes('\\'))
    throw invalid(uri, 'relative or encoded path segments are not allowed');
}

/** Splits a path (no leading `/`) into checked segments; a trailing `/` is ignored, `//` dropped or refused. */
function splitChecked(rawPath: string, uri: string, { dropEmpty }: { dropEmpty: boolean }): string[] {
  const trimmed = trimTrailingSlashes(rawPath);
  if (trimmed === '') return [];
  const out: string[] = [];
  for (const part of trimmed.split('/')) {
    if (part === '') {
      if (dropEmpty) continue;
      throw invalid(uri, 'empty path segments are not allowed');
    }
    checkSegment(part, uri);
    out.push(part);
  }
  return out;
}

function parseFile(rest: string, uri: string): ArtifactLocation {
  if (!rest.startsWith('//')) throw invalid(uri, 'a file: URI must be file:///absolute/path');
  let filePath: string;
  try {
    filePath = fileURLToPath(`file:${rest}`);
  } catch (err) {
    throw invalid(uri, (err as Error).message.replace(/\.$/, ''));
  }
  const slash = rest.indexOf('/', 2);
  splitChecked(slash < 0 ? '' : rest.slice(slash + 1), uri, { dropEmpty: true });
  return fileLocation(filePath, uri);
}

function fileLocation(filePath: string, uri: string): ArtifactLocation {
  if (!path.isAbsolute(filePath)) throw invalid(uri, 'a local path must be absolute');
  const segments = filePath.split('/').filter((s) => s !== '');
  for (const s of segments) if (s === '.' || s === '..') throw invalid(uri, 'relative path segments are not allowed');
  return { scheme: 'file', bucket: '', segments };
}

function parseS3(rest: string, uri: string): ArtifactLocation {
  const m = /^\/\/([^/]*)(\/.*)?$/s.exec(rest);
  if (!m || !S3_BUCKET.test(m[1]) || m[1].includes('..')) throw invalid(uri, 'expected s3://<bucket>[/<key prefix>] with a valid bucket name');
  return { scheme: 's3', bucket: m[1], segments: splitChecked((m.at(2) ?? '').replace(/^\//, ''), uri, { dropEmpty: false }) };
}

function parseProxied(rest: string, uri: string): ArtifactLocation {
  // `mlflow-artifacts:/a/b` or `mlflow-artifacts://host:port/a/b`: the authority is dropped, the proxy is this server.
  const inner = rest.startsWith('//') ? rest.slice(2).replace(/^[^/]*/, '') : rest;
  const segments = splitChecked(inner.replace(/^\/+/, ''), uri, { dropEmpty: false }).map((s) => fullyDecoded(s, uri));
  return { scheme: 'mlflow-artifacts', bucket: '', segments };
}

/**
 * Parses and canonicalises an artifact location. A scheme-less value is a local path: absolute, or
 * (for server configuration only) resolved against `relativeTo`. Queries, fragments, params, control
 * characters, backslashes and `.`/`..` segments (also percent-encoded, at any depth) are refused.
 */
export function parseArtifactLocation(uri: string, opts: { relativeTo?: string } = {}): ArtifactLocation {
  if (uri.length > MAX_ARTIFACT_LOCATION_LENGTH) throw invalid(uri, `longer than ${MAX_ARTIFACT_LOCATION_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f\\]/.test(uri)) throw invalid(uri, 'control characters and backslashes are not allowed');
  if (/[?#;]/.test(uri)) throw invalid(uri, 'a query, fragment or params (?, #, ;) are not allowed');
  const m = SCHEME.exec(uri);
  if (!m) {
    if (opts.relativeTo !== undefined) return fileLocation(path.resolve(opts.relativeTo, uri), uri);
    if (!uri.startsWith('/')) throw invalid(uri, 'expected an absolute path or a file://, s3:// or mlflow-artifacts: URI');
    splitChecked(uri.slice(1), uri, { dropEmpty: true });
    return fileLocation(path.resolve(uri), uri);
  }
  const scheme = m[1].toLowerCase();
  if (scheme === 'file') return parseFile(m[2], uri);
  if (scheme === 's3') return parseS3(m[2], uri);
  if (scheme === 'mlflow-artifacts') return parseProxied(m[2], uri);
  throw invalid(uri, `the scheme '${scheme}:' is not supported here (file://, s3:// or mlflow-artifacts:)`);
}

/** The canonical URI of a location (what is stored for a new experiment). */
export function formatArtifactLocation(loc: ArtifactLocation): string {
  if (loc.scheme === 'file') return pathToFileURL(`/${loc.segments.join('/')}`).href;
  if (loc.scheme === 's3') return `s3://${[loc.bucket, ...loc.segments].join('/')}`;
  return `mlflow-artifacts:/${loc.segments.join('/')}`;
}

/** The local path of a `file` location. */
export function localPathOf(loc: ArtifactLocation): string {
  return `/${loc.segments.join('/')}`;
}

/** True when `inner` is `outer` or below it (`strict`: below only), comparing whole segments. */
export function isWithin(inner: ArtifactLocation, outer: ArtifactLocation, strict = false): boolean {
  if (inner.scheme !== outer.scheme || inner.bucket !== outer.bucket) return false;
  if (inner.segments.length < outer.segments.length + (strict ? 1 : 0)) return false;
  return outer.segments.every((s, i) => inner.segments[i] === s);
}

/** The segments of `inner` below `outer` (which must contain it). */
export function segmentsBelow(inner: ArtifactLocation, outer: ArtifactLocation): string[] {
  return inner.segments.slice(outer.segments.length);
}

/** `outer` extended by `more` segments. */
export function childLocation(outer: ArtifactLocation, more: readonly string[]): ArtifactLocation {
  return { ...outer, segments: [...outer.segments, ...more] };
}
