import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MlflowError } from './errors';
import { checkCount, REQUEST_LIMITS } from './limits';

/**
 * Request parsing shared by the resource plugins. GET takes the query string (repeated keys for list
 * fields, as MLflow's handlers read them), every other method a JSON object body. Fields are validated
 * with zod; any mismatch becomes INVALID_PARAMETER_VALUE naming the field, before any store call.
 */

/** int64 as MLflow clients send it: a JSON number or (protobuf JSON) a decimal string. */
export const int64 = z.union([
  z.number().int().refine(Number.isSafeInteger, 'integer out of range'),
  z
    .string()
    .regex(/^-?\d{1,19}$/, 'expected an integer')
    .transform(Number)
    .refine(Number.isSafeInteger, 'integer out of range'),
]);

/** double as protobuf JSON writes it: a number, or "NaN" / "Infinity" / "-Infinity", or a numeric string. */
export const double = z.union([
  z.number(),
  z
    .string()
    .refine((s) => s === 'NaN' || s === 'Infinity' || s === '-Infinity' || (s.trim() !== '' && Number.isFinite(Number(s))), 'expected a number')
    .transform((s) => (s === 'NaN' ? Number.NaN : Number(s))),
]);

/** proto3 enums arrive by name (JSON) or by number. */
export function protoEnum<const T extends readonly [string, ...string[]]>(names: T) {
  return z.union([
    z.enum(names),
    z
      .number()
      .int()
      .refine((n) => n >= 1 && n <= names.length, 'unknown enum value')
      .transform((n) => names[n - 1] as T[number]),
  ]);
}

export const boolish = z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False']).transform((s) => s.toLowerCase() === 'true')]);

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  if (issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined) {
    return `Missing value for required parameter '${field}'.`;
  }
  return `Invalid value for parameter '${field || '(body)'}' supplied: ${issue.message}`;
}

/** The first few issues: a list of 90,000 wrong items must not become a 9 MB message. */
function describeIssues(issues: z.core.$ZodIssue[], shown = 5): string {
  const text = issues.slice(0, shown).map(describeIssue).join(' ');
  return issues.length > shown ? `${text} (and ${issues.length - shown} more)` : text;
}

/** Raw request fields: the query string for GET (list fields as arrays), else the JSON body. */
export function rawFields(request: FastifyRequest, listFields: readonly string[] = []): Record<string, unknown> {
  if (request.method === 'GET' || request.method === 'DELETE') {
    const query = (request.query ?? {}) as Record<string, string | string[]>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(query)) {
      if (listFields.includes(k)) out[k] = Array.isArray(v) ? v : [v];
      else out[k] = Array.isArray(v) ? v[v.length - 1] : v;
    }
    return out;
  }
  const body = request.body;
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw MlflowError.invalid('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

/**
 * Parses and validates a request against a zod schema; user mistakes become INVALID_PARAMETER_VALUE.
 * Lists are counted first: zod checks every item (90,000 wrong ones took 150 ms) before any size rule.
 */
export function parseRequest<S extends z.ZodType>(request: FastifyRequest, schema: S, listFields: readonly string[] = []): z.output<S> {
  const fields = rawFields(request, listFields);
  for (const [name, value] of Object.entries(fields)) if (Array.isArray(value)) checkCount(name, value.length, REQUEST_LIMITS.LIST_MAX_ITEMS);
  const result = schema.safeParse(fields, { reportInput: true });
  if (!result.success) throw MlflowError.invalid(describeIssues(result.error.issues));
  return result.data;
}

/** Either run_id or its deprecated alias run_uuid, required. */
export function runIdOf(req: { run_id?: string; run_uuid?: string }): string {
  const id = req.run_id || req.run_uuid;
  if (!id) throw MlflowError.invalid("Missing value for required parameter 'run_id'.");
  return id;
}

/**
 * MLflow's client sends DELETE requests with a JSON body; curl users put the fields in the query
 * string. Both are accepted (body fields win).
 */
export function parseBodyAndQuery<S extends z.ZodType>(request: FastifyRequest, schema: S, listFields: readonly string[] = []): z.output<S> {
  if (request.method === 'DELETE' && request.body && typeof request.body === 'object' && !Array.isArray(request.body)) {
    const merged = { ...(request.query as object), ...request.body };
    const result = schema.safeParse(merged);
    if (result.success) return result.data;
  }
  return parseRequest(request, schema, listFields);
}
