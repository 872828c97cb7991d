import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MlflowError } from './errors';
import { jsonShapeProblem } from '../../json-shape';
import { REQUEST_LIMITS } from './limits';

/**
 * How request bytes become handler input before any route runs: the JSON body parser (shape-checked
 * before JSON.parse, malformed JSON as MLflow's INVALID_PARAMETER_VALUE), a guard against NUL
 * characters, which PostgreSQL refuses in text (both stores refuse them alike), and the answer to requests
 * Node's HTTP parser rejects (an oversized request line or headers, e.g. a GET search with a huge
 * query string), in MLflow's error shape instead of Fastify's.
 */

const SHAPE = { maxDepth: REQUEST_LIMITS.JSON_MAX_DEPTH, maxTokens: REQUEST_LIMITS.JSON_MAX_TOKENS };

/** True when a JSON string in `text` holds U+0000 (written `\u0000`; a raw NUL is not valid JSON). */
export function hasEscapedNul(text: string): boolean {
  for (let at = text.indexOf('\\u0000'); at >= 0; at = text.indexOf('\\u0000', at + 1)) {
    let k = at - 1;
    while (text.charCodeAt(k) === 92) k--;
    // The backslash starts an escape only after an even number of backslashes.
    if ((at - 1 - k) % 2 === 0) return true;
  }
  return false;
}

const NUL_MESSAGE = 'Request values may not contain the NUL character (U+0000): PostgreSQL cannot store it in text.';

function parseChecked(text: string): unknown {
  const problem = jsonShapeProblem(text, SHAPE);
  if (problem) throw MlflowError.invalid(`The request body has ${problem}.`);
  if (hasEscapedNul(text)) throw MlflowError.invalid(NUL_MESSAGE);
  try {
    return JSON.parse(text);
  } catch {
    throw MlflowError.invalid('Malformed JSON in the request body.');
  }
}

/** Parses JSON text as MLflow's handlers do: shape-checked, and a double-encoded body decoded once more. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  const parsed = parseChecked(text);
  // Older MLflow clients double-encode the body as a JSON string.
  return typeof parsed === 'string' ? parseChecked(parsed) : parsed;
}

/** Replaces Fastify's JSON parser; records the body's byte length (log-batch checks MLflow's 1 MB). */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.bodyBytes = Buffer.byteLength(text);
    try {
      done(null, parseJsonBody(text));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** NUL in the query string or a path parameter (only possible as `%00`): refused on every route. */
export function installNulGuard(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    if (/%00/.test(request.url)) {
      done(MlflowError.invalid(NUL_MESSAGE));
      return;
    }
    done();
  });
}

/** Fastify `clientErrorHandler`: 400 INVALID_PARAMETER_VALUE as MLflow JSON, then close the socket. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const message =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? `The request line and headers exceed ${http.maxHeaderSize} bytes; send long search filters and lists in a POST body where the endpoint takes one.`
      : timeout
        ? 'The request was not received in time.'
        : 'Malformed HTTP request.';
  const status = timeout ? 408 : 400;
  const body = JSON.stringify(new MlflowError(timeout ? 'BAD_REQUEST' : 'INVALID_PARAMETER_VALUE', message).toJSON());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
