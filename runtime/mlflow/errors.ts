/**
 * The one error of the MLflow REST client: an error answer of the tracking server (with MLflow's
 * `error_code`), or no answer at all (`status` undefined: unreachable, timed out, cancelled).
 */
export class MlflowApiError extends Error {
  override name = 'MlflowApiError';

  constructor(
    /** HTTP status of the answer; undefined when the server never answered. */
    readonly status: number | undefined,
    /** MLflow's error code (`RESOURCE_DOES_NOT_EXIST`, …), `HTTP_<status>` when the body had none. */
    readonly errorCode: string,
    message: string,
    readonly method: string,
    /** Request path without the query, e.g. `/api/2.0/mlflow/runs/get`. */
    readonly path: string,
  ) {
    super(message);
  }
}

/** `GET /api/2.0/mlflow/runs/get: HTTP 404 RESOURCE_DOES_NOT_EXIST: Run 'x' not found`. */
export async function errorFromResponse(
  method: string,
  path: string,
  res: { status: number; statusText: string; text(): Promise<string> },
): Promise<MlflowApiError> {
  const text = await res.text().catch(() => '');
  let code: string | undefined;
  let detail = text.slice(0, 300) || res.statusText;
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === 'string') code = body.error_code;
    if (typeof body.message === 'string') detail = body.message;
  } catch {
    // Not JSON (a proxy's HTML page, a plain-text 502): keep the text.
  }
  return new MlflowApiError(
    res.status,
    code ?? `HTTP_${res.status}`,
    `${method} ${path}: HTTP ${res.status}${code ? ` ${code}` : ''}: ${detail}`,
    method,
    path,
  );
}
