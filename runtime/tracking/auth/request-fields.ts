import type { FastifyRequest } from 'fastify';
import { MlflowError } from '../http/errors';

/**
 * For the authorization hooks, which read what a request targets before any handler parses it (the
 * handlers parse with http/request.ts). Reads a field as any handler could: the JSON body for
 * POST/PATCH/PUT/DELETE (MLflow clients send DELETE bodies), the query string otherwise or as a
 * fallback, the last value of a repeated query key. Numbers are accepted as their decimal text.
 */
function source(request: FastifyRequest, name: string): unknown {
  const body = request.body;
  if (request.method !== 'GET' && request.method !== 'HEAD' && body && typeof body === 'object' && !Array.isArray(body) && name in body) {
    return (body as Record<string, unknown>)[name];
  }
  return ((request.query ?? {}) as Record<string, unknown>)[name];
}

export function optionalField(request: FastifyRequest, name: string): string | undefined {
  let value = source(request, name);
  if (Array.isArray(value)) value = value[value.length - 1];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') throw MlflowError.invalid(`Invalid value for parameter '${name}' supplied: expected a string.`);
  return value;
}

/** A required field that must be a JSON string (user names and passwords are never numbers). */
export function requiredString(request: FastifyRequest, name: string): string {
  const value = source(request, name);
  if (value === undefined || value === null || value === '') throw MlflowError.invalid(`Missing value for required parameter '${name}'.`);
  if (typeof value !== 'string') throw MlflowError.invalid(`Invalid value for parameter '${name}' supplied: expected a string.`);
  return value;
}

export function requiredField(request: FastifyRequest, name: string): string {
  const value = optionalField(request, name);
  if (value === undefined || value === '') throw MlflowError.invalid(`Missing value for required parameter '${name}'.`);
  return value;
}

/** A list field: a JSON array, a repeated query key, or one value. */
export function listField(request: FastifyRequest, name: string): string[] {
  const value = source(request, name);
  const items = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  return items.map((item) => {
    if (typeof item === 'number' && Number.isFinite(item)) return String(item);
    if (typeof item !== 'string') throw MlflowError.invalid(`Invalid value for parameter '${name}' supplied: expected a list of strings.`);
    return item;
  });
}

/**
 * Every value a handler could end up reading for `name`: the body's and the query's. A handler that
 * falls back from one to the other (the registry's DELETE routes) must not act on a value the
 * permission check never saw, so authorization requires all of them.
 */
export function fieldCandidates(request: FastifyRequest, name: string): string[] {
  const out = new Set<string>();
  const add = (value: unknown, fromQuery = false) => {
    // A repeated query key means its last value (as the handlers read it); a JSON array is no id.
    if (Array.isArray(value) && fromQuery) value = value[value.length - 1];
    if (typeof value === 'number' && Number.isFinite(value)) out.add(String(value));
    else if (typeof value === 'string' && value !== '') out.add(value);
    else if (value !== undefined && value !== null && value !== '')
      throw MlflowError.invalid(`Invalid value for parameter '${name}' supplied: expected a string.`);
  };
  const body = request.body;
  if (body && typeof body === 'object' && !Array.isArray(body)) add((body as Record<string, unknown>)[name]);
  add(((request.query ?? {}) as Record<string, unknown>)[name], true);
  return [...out];
}
