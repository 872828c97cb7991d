/**
 * MLflow's error model: every failure leaves the server as `{"error_code", "message"}` with the HTTP
 * status MLflow assigns to that code (mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS). The MLflow client
 * retries 429 and 5xx on every method, so user errors must never surface as 5xx.
 */
export const ERROR_STATUS = {
  INTERNAL_ERROR: 500,
  INVALID_STATE: 500,
  DATA_LOSS: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  REQUEST_LIMIT_EXCEEDED: 429,
  RESOURCE_EXHAUSTED: 429,
  ABORTED: 409,
  RESOURCE_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  NOT_FOUND: 404,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_DOES_NOT_EXIST: 404,
  PERMISSION_DENIED: 403,
  CUSTOMER_UNAUTHORIZED: 401,
  UNAUTHENTICATED: 401,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_PARAMETER_VALUE: 400,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class MlflowError extends Error {
  constructor(
    readonly errorCode: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MlflowError';
  }

  get status(): number {
    return ERROR_STATUS[this.errorCode];
  }

  toJSON(): { error_code: ErrorCode; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }

  static invalid(message: string): MlflowError {
    return new MlflowError('INVALID_PARAMETER_VALUE', message);
  }

  static notFound(message: string): MlflowError {
    return new MlflowError('RESOURCE_DOES_NOT_EXIST', message);
  }

  static alreadyExists(message: string): MlflowError {
    return new MlflowError('RESOURCE_ALREADY_EXISTS', message);
  }
}

/** Network-level and server-shutdown failures of a database connection: retrying later can succeed. */
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
/** PostgreSQL SQLSTATE classes 08 (connection exception) and 57P (operator intervention: admin shutdown, crash shutdown, cannot connect now), plus serialization/deadlock (40001, 40P01). */
const TRANSIENT_SQLSTATE = /^(08|57P|53300|40001|40P01)/;

/** SQLSTATE 57014: PostgreSQL canceled the statement (statement_timeout, or pg_cancel_backend). */
const QUERY_CANCELED = '57014';

/** True when an error from the store means "the database is unavailable right now", not "the request is wrong". */
export function isTransientDatabaseError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (TRANSIENT_NODE_CODES.has(code) || TRANSIENT_SQLSTATE.test(code)) return true;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection/i.test(
    message,
  );
}

/** Turns anything thrown by a handler into the MLflow error it should be reported as. */
export function toMlflowError(err: unknown): MlflowError {
  if (err instanceof MlflowError) return err;
  if ((err as { code?: unknown } | null)?.code === QUERY_CANCELED) {
    return new MlflowError('TEMPORARILY_UNAVAILABLE', "The query ran longer than the backend store's statement timeout; narrow the request or retry later.");
  }
  if (isTransientDatabaseError(err)) {
    return new MlflowError('TEMPORARILY_UNAVAILABLE', 'The backend store is temporarily unavailable; retry the request.');
  }
  return new MlflowError('INTERNAL_ERROR', 'Internal server error');
}
