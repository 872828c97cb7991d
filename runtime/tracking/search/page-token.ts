import { MlflowError } from '../http/errors';
import { checkLength, excerpt, REQUEST_LIMITS } from '../http/limits';

/** Opaque page tokens, as MLflow makes them: base64 of {"offset": n}. */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

export function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  checkLength('page_token', token, REQUEST_LIMITS.PAGE_TOKEN_MAX_LENGTH);
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isSafeInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // fall through
  }
  throw MlflowError.invalid(`Invalid page token '${excerpt(token)}'.`);
}
