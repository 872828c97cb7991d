import { MlflowError } from './errors';
import { LIMITS } from './limits';

// Python's \w is Unicode-aware; \p{L}\p{N}\p{M}_ is the JavaScript equivalent.
const KEY_CHARS = /^[/\p{L}\p{N}\p{M}_.\- :]*$/u;
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
const EXPERIMENT_ID = /^[0-9]{1,10}$/;

/** Python's posixpath.normpath, which MLflow uses to reject keys that would alias other names as files. */
export function normpath(p: string): string {
  if (p === '') return '.';
  const absolute = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (part === '..' && absolute) continue;
    else out.push(part);
  }
  const joined = (absolute ? '/' : '') + out.join('/');
  return joined || (absolute ? '/' : '.');
}

function pathNotUnique(name: string): boolean {
  const norm = normpath(name);
  return norm !== name || norm === '.' || norm.startsWith('..') || norm.startsWith('/');
}

/** Metric, param and tag names: MLflow's character set, no path aliasing, ≤ 250 characters. */
export function validateKey(name: string, field: string, what = 'Key'): void {
  if (!KEY_CHARS.test(name)) {
    throw MlflowError.invalid(
      `Invalid value "${name}" for parameter '${field}' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`,
    );
  }
  if (pathNotUnique(name)) {
    throw MlflowError.invalid(
      `Invalid value "${name}" for parameter '${field}' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${normpath(name)}'`,
    );
  }
  validateLength(`${what} '${field}'`, LIMITS.MAX_ENTITY_KEY_LENGTH, name);
}

export function validateLength(entity: string, limit: number, value: string | null | undefined): void {
  if (value != null && value.length > limit) {
    throw MlflowError.invalid(`${entity} exceeds the maximum length of ${limit} characters (got ${value.length}).`);
  }
}

export function validateRunId(runId: string): void {
  if (!RUN_ID.test(runId)) throw MlflowError.invalid(`Invalid value "${runId}" for parameter 'run_id' supplied.`);
}

/** Largest experiment id: the column is INTEGER (int4 in PostgreSQL, where a larger bound is a database error). */
const MAX_EXPERIMENT_ID = 2_147_483_647;

/** Experiment ids are integers in the SQL stores; anything else cannot name an experiment. */
export function parseExperimentId(id: string): number {
  if (!EXPERIMENT_ID.test(id) || Number(id) > MAX_EXPERIMENT_ID) {
    throw MlflowError.invalid(`Invalid experiment ID: '${id}'`);
  }
  return Number(id);
}

export function validateExperimentName(name: string): void {
  if (name.trim() === '') throw MlflowError.invalid(`Invalid experiment name: '${name}'`);
  validateLength("Experiment name 'name'", LIMITS.MAX_EXPERIMENT_NAME_LENGTH, name);
}

export function validateBatchLimits(metrics: number, params: number, tags: number): void {
  const check = (entity: string, limit: number, n: number) => {
    if (n > limit) {
      throw MlflowError.invalid(
        `A batch logging request can contain at most ${limit} ${entity}. Got ${n} ${entity}. Please split up ${entity} across multiple requests and try again.`,
      );
    }
  };
  check('metrics', LIMITS.MAX_METRICS_PER_BATCH, metrics);
  check('params', LIMITS.MAX_PARAMS_TAGS_PER_BATCH, params);
  check('tags', LIMITS.MAX_PARAMS_TAGS_PER_BATCH, tags);
  check('metrics, params, and tags', LIMITS.MAX_ENTITIES_PER_BATCH, metrics + params + tags);
}

export function validateMaxResults(n: number | undefined, threshold: number = LIMITS.SEARCH_MAX_RESULTS_THRESHOLD): number | undefined {
  if (n === undefined) return undefined;
  if (n < 1 || n > threshold) {
    throw MlflowError.invalid(`Invalid value ${n} for parameter 'max_results' supplied. It must be at least 1 and at most ${threshold}.`);
  }
  return n;
}
