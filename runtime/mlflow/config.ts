import { readFileSync } from 'node:fs';
import type { RetryPolicy } from './retry';
import { trimTrailingSlashes } from '../slashes';

/**
 * How to reach a tracking server. Each option falls back to the environment variable MLflow's Python
 * client reads (mlflow/environment_variables.py), parsed as strictly as MLflow parses it.
 */
export interface MlflowConnectionOptions {
  /** Base URL of the tracking server, e.g. http://127.0.0.1:5000. @default MLFLOW_TRACKING_URI */
  readonly trackingUri?: string;
  /** Basic-auth user; used only with a non-empty password. @default MLFLOW_TRACKING_USERNAME */
  readonly username?: string;
  /** @default MLFLOW_TRACKING_PASSWORD */
  readonly password?: string;
  /** Bearer token, used when no username and password are set. @default MLFLOW_TRACKING_TOKEN */
  readonly token?: string;
  /** @default MLFLOW_HTTP_REQUEST_MAX_RETRIES, else 7 */
  readonly maxRetries?: number;
  /** Seconds. @default MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, else 2 */
  readonly backoffFactor?: number;
  /** Seconds. @default MLFLOW_HTTP_REQUEST_BACKOFF_JITTER, else 1 */
  readonly backoffJitter?: number;
  /** @default MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER, else true */
  readonly respectRetryAfter?: boolean;
  /** Seconds an attempt may go without progress (connect, answer, each body chunk). @default MLFLOW_HTTP_REQUEST_TIMEOUT, else 120 */
  readonly timeoutSeconds?: number;
  /** Skip verifying the server's certificate. @default MLFLOW_TRACKING_INSECURE_TLS, else false */
  readonly insecureTls?: boolean;
  /** CA bundle (PEM file) to verify the server with. @default MLFLOW_TRACKING_SERVER_CERT_PATH */
  readonly serverCertPath?: string;
  /** Where the defaults come from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The resolved connection: what every request of one client uses. */
export interface MlflowConnection {
  readonly trackingUri: string;
  /** The Authorization header, when credentials are configured. */
  readonly authorization?: string;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  /** TLS settings beyond Node's defaults (system CAs, verification on). */
  readonly tls?: { readonly rejectUnauthorized: boolean; readonly ca?: Buffer };
}

/** rest_utils.http_request: Basic when username and password are both non-empty, else Bearer with a token. */
export function authorizationHeader(creds: { username?: string; password?: string; token?: string }): string | undefined {
  if (creds.username && creds.password) return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  if (creds.token) return `Bearer ${creds.token}`;
  return undefined;
}

/** Python's int(): optional sign and surrounding whitespace, digits (underscores between them) only. */
function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined) return fallback;
  if (!/^\s*[+-]?\d+(?:_\d+)*\s*$/.test(raw)) throw new Error(`Failed to convert '${raw}' for ${name}: not an integer`);
  return Number(raw.replace(/_/g, ''));
}

function envFloat(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || Number.isNaN(n)) throw new Error(`Failed to convert '${raw}' for ${name}: not a number`);
  return n;
}

/** MLflow's boolean variables: true/false/1/0 in any case; anything else is an error. */
function envBool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined) return fallback;
  const v = raw.toLowerCase();
  if (!['true', 'false', '1', '0'].includes(v)) throw new Error(`${name} value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got ${raw}`);
  return v === 'true' || v === '1';
}

/** rest_utils._validate_max_retries / _validate_backoff_factor, with their (internal) limit variables. */
function retryPolicy(opts: MlflowConnectionOptions, env: NodeJS.ProcessEnv): RetryPolicy {
  const maxRetries = opts.maxRetries ?? envInt(env, 'MLFLOW_HTTP_REQUEST_MAX_RETRIES', 7);
  const backoffFactor = opts.backoffFactor ?? envInt(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', 2);
  const retryLimit = envInt(env, '_MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT', 10);
  const factorLimit = envInt(env, '_MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT', 120);
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new Error(`The max_retries value must be either 0 a positive integer. Got ${maxRetries}`);
  if (maxRetries > retryLimit)
    throw new Error(`The configured max_retries value (${maxRetries}) is in excess of the maximum allowable retries (${retryLimit})`);
  if (!(backoffFactor >= 0)) throw new Error(`The backoff_factor value must be either 0 a positive integer. Got ${backoffFactor}`);
  if (backoffFactor > factorLimit)
    throw new Error(`The configured backoff_factor value (${backoffFactor}) is in excess of the maximum allowable backoff_factor limit (${factorLimit})`);
  return {
    maxRetries,
    backoffFactor,
    backoffJitter: opts.backoffJitter ?? envFloat(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', 1),
    respectRetryAfter: opts.respectRetryAfter ?? envBool(env, 'MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER', true),
  };
}

function tlsSettings(opts: MlflowConnectionOptions, env: NodeJS.ProcessEnv): MlflowConnection['tls'] {
  const insecure = opts.insecureTls ?? envBool(env, 'MLFLOW_TRACKING_INSECURE_TLS', false);
  const certPath = opts.serverCertPath ?? env.MLFLOW_TRACKING_SERVER_CERT_PATH;
  if (insecure && certPath !== undefined) {
    throw new Error(
      'MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both set: only one of them may be (skip verification, or verify with that CA bundle)',
    );
  }
  if (insecure) return { rejectUnauthorized: false };
  if (certPath !== undefined) return { rejectUnauthorized: true, ca: readFileSync(certPath) };
  return undefined;
}

/** Resolves options and environment into a connection; throws naming the variable that is wrong. */
export function resolveConnection(opts: MlflowConnectionOptions = {}): MlflowConnection {
  const env = opts.env ?? process.env;
  const uri = opts.trackingUri ?? env.MLFLOW_TRACKING_URI;
  if (!uri) throw new Error('no tracking server: set MLFLOW_TRACKING_URI or pass --tracking-uri');
  if (!/^https?:\/\//.test(uri)) throw new Error(`MLFLOW_TRACKING_URI must be an http(s) URL of a tracking server (got ${uri})`);
  const timeoutSeconds = opts.timeoutSeconds ?? envInt(env, 'MLFLOW_HTTP_REQUEST_TIMEOUT', 120);
  if (!(timeoutSeconds > 0)) throw new Error(`MLFLOW_HTTP_REQUEST_TIMEOUT must be a positive number of seconds (got ${timeoutSeconds})`);
  return {
    trackingUri: trimTrailingSlashes(uri),
    authorization: authorizationHeader({
      username: opts.username ?? env.MLFLOW_TRACKING_USERNAME,
      password: opts.password ?? env.MLFLOW_TRACKING_PASSWORD,
      token: opts.token ?? env.MLFLOW_TRACKING_TOKEN,
    }),
    retry: retryPolicy(opts, env),
    timeoutMs: timeoutSeconds * 1000,
    tls: tlsSettings(opts, env),
  };
}
