import type { FastifyRequest } from 'fastify';
import { API_PREFIXES, API_V3_PREFIXES, ARTIFACT_PREFIXES } from '../plugin';
import { API_RULES, ARTIFACT_RULES, ROOT_RULES, ruleFor, type Rule } from './rules';

/** Where a route sits in the rule tables: its table and its key there (prefix removed, parameters as `:`). */
export type Place = { table: Record<string, unknown>; key: string } | undefined;

/** Routes are a fixed set: each is classified once (three hooks ask on every request). */
const places = new Map<string, Place>();

export function classify(routeUrl: string): Place {
  if (places.has(routeUrl)) return places.get(routeUrl);
  const place = classifyUncached(routeUrl);
  places.set(routeUrl, place);
  return place;
}

function classifyUncached(routeUrl: string): Place {
  const strip = (prefixes: readonly string[]) => prefixes.find((p) => routeUrl === p || routeUrl.startsWith(`${p}/`));
  const normalize = (rest: string) => rest.replace(/:[^/]+/g, ':') || '/';
  const artifacts = strip(ARTIFACT_PREFIXES);
  if (artifacts) return { table: ARTIFACT_RULES, key: normalize(routeUrl.slice(artifacts.length)) };
  // The 3.0 prefixes (traces, server-info) share the table: their routes are keyed like the 2.0 ones.
  const api = strip(API_PREFIXES) ?? strip(API_V3_PREFIXES);
  if (api) return { table: API_RULES, key: normalize(routeUrl.slice(api.length)) };
  if (ROOT_RULES[routeUrl]) return { table: ROOT_RULES, key: routeUrl };
  if (/^\/(api|ajax-api)\//.test(routeUrl)) return { table: {}, key: routeUrl };
  return undefined;
}

/** The route a request matched (undefined when none did). */
export const routeOf = (request: FastifyRequest): string | undefined => request.routeOptions.url;

/** The matched route's place, if it has one. */
export function placeOf(request: FastifyRequest): Place {
  const route = routeOf(request);
  return route !== undefined ? classify(route) : undefined;
}

/** The rule for the request's route and method; undefined for a route missing from its table (refused). */
export function ruleOf(request: FastifyRequest): Rule | undefined {
  const place = placeOf(request);
  return place ? ruleFor(place.table as never, place.key, request.method) : undefined;
}

/**
 * Paths that need credentials when no route matched (so an unknown API path answers 401, then 404).
 * The UI's page itself too, as MLflow protects `/`: the browser gets the Basic challenge at once and
 * asks for credentials instead of loading a shell whose every call fails. Its static assets stay open
 * (MLflow's `/static`), as do /health, /version and /metrics for probes and Prometheus.
 */
export function protectedPath(path: string): boolean {
  return /^\/(api|ajax-api)\//.test(path) || path === '/' || path === '/index.html' || path === '/get-artifact' || path === '/model-versions/get-artifact';
}
