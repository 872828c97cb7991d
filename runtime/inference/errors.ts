import { QueueFullError } from './batcher';
import { InputError } from './tensors';

/** Which error shape an answer takes: MLflow's {"error_code","message"} or the v2 protocol's {"error"}. */
export type Protocol = 'mlflow' | 'v2';

/** HTTP status, MLflow error code and message of a failed request (any error thrown while serving it). */
export function errorStatus(err: unknown): { status: number; code: string; message: string } {
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (err instanceof InputError) return { status: 400, code: 'BAD_REQUEST', message: err.message };
  if (err instanceof QueueFullError) return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message: err.message };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return { status: 413, code: 'REQUEST_LIMIT_EXCEEDED', message: 'the request body is larger than the server accepts' };
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, code: 'BAD_REQUEST', message: e.message ?? 'unsupported content type' };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return { status: e.statusCode, code: 'BAD_REQUEST', message: e.message ?? 'bad request' };
  return { status: 500, code: 'INTERNAL_ERROR', message: `inference failed: ${e.message ?? String(err)}` };
}

/** The answer body for an error, in the protocol's shape. */
export function errorBody(protocol: Protocol, code: string, message: string): { error: string } | { error_code: string; message: string } {
  return protocol === 'v2' ? { error: message } : { error_code: code, message };
}
