/**
 * MLflow's HTTP retry policy (mlflow/utils/rest_utils.py `http_request` → request_utils.py, a urllib3
 * `Retry`): the same statuses, the same exponential backoff with jitter, the same Retry-After rule.
 */

export interface RetryPolicy {
  /** Retries after the first attempt (MLFLOW_HTTP_REQUEST_MAX_RETRIES, default 7, at most 10). */
  readonly maxRetries: number;
  /** Seconds; the n-th consecutive failure waits factor · 2^(n-1) (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, default 2). */
  readonly backoffFactor: number;
  /** Up to this many seconds of random jitter added to each backoff (MLFLOW_HTTP_REQUEST_BACKOFF_JITTER, default 1). */
  readonly backoffJitter: number;
  /** Wait what a Retry-After header asks instead of the backoff (MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER, default true). */
  readonly respectRetryAfter: boolean;
}

/** request_utils._TRANSIENT_FAILURE_RESPONSE_CODES. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
/** urllib3 Retry.RETRY_AFTER_STATUS_CODES: retried too when they carry a Retry-After header. */
export const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([413, 429, 503]);
/** urllib3 Retry.DEFAULT_BACKOFF_MAX: no backoff is longer. */
export const BACKOFF_MAX_SECONDS = 120;
/** urllib3 Retry.DEFAULT_RETRY_AFTER_MAX: a Retry-After is honoured up to this. */
export const RETRY_AFTER_MAX_SECONDS = 21_600;

/** Whether an answer with this status is retried (retries left aside). */
export function isRetryableStatus(status: number, hasRetryAfter: boolean, policy: RetryPolicy): boolean {
  if (TRANSIENT_STATUSES.has(status)) return true;
  return policy.respectRetryAfter && hasRetryAfter && RETRY_AFTER_STATUSES.has(status);
}

/**
 * Seconds to wait after the `failures`-th consecutive failure (1-based), as urllib3 computes it: the first
 * retry goes at once, then factor · 2^(n-1) plus up to `backoffJitter` seconds, capped at 120 s.
 */
export function backoffSeconds(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  if (failures <= 1) return 0;
  let seconds = policy.backoffFactor * 2 ** (failures - 1);
  if (policy.backoffJitter !== 0) seconds += random() * policy.backoffJitter;
  return Math.max(0, Math.min(BACKOFF_MAX_SECONDS, seconds));
}

/**
 * A Retry-After value in seconds: delta-seconds or an HTTP date, floored at 0 and capped. Undefined when
 * absent or unreadable (urllib3 raises on an unreadable one; here the backoff applies instead).
 */
export function retryAfterSeconds(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  let seconds: number;
  if (/^\s*\d+\s*$/.test(value)) seconds = Number(value);
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    seconds = (at - now) / 1000;
  }
  return Math.min(Math.max(seconds, 0), RETRY_AFTER_MAX_SECONDS);
}

/** The wait before the next attempt: the server's Retry-After when honoured and positive, else the backoff. */
export function retryDelaySeconds(failures: number, policy: RetryPolicy, retryAfter?: string | null, random?: () => number, now?: number): number {
  if (policy.respectRetryAfter) {
    const asked = retryAfterSeconds(retryAfter, now);
    if (asked) return asked;
  }
  return backoffSeconds(failures, policy, random);
}
