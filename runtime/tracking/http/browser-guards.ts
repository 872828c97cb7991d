import { BlockList, isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * What a browser can be made to do to a tracking server it can reach, and the guards against it
 * (MLflow 3.5's security middleware sets the names and defaults; the rules are ours):
 *
 * - DNS rebinding: a page on `evil.example` re-resolves its name to 127.0.0.1 or a private address and
 *   reads the server as same-origin. The Host header still says `evil.example`, so only listed hosts
 *   are served (`--allowed-hosts`, default the loopback names and private addresses).
 * - Cross-site writes: the UI's login is HTTP Basic, which the browser attaches to any request to the
 *   server. A state-changing API request whose Origin is neither the server's own nor a listed one is
 *   refused, whatever its content type (JSON-only bodies already stop form posts; this does not rely on it).
 * - Cross-origin reads: no CORS header is sent unless the origin is listed (`--cors-allowed-origins`);
 *   MLflow answers any origin, with credentials.
 * - Framing and sniffing: `X-Frame-Options` (default SAMEORIGIN) and `X-Content-Type-Options: nosniff` on every answer.
 */
export interface BrowserGuardOptions {
  /**
   * Host header values served: names or addresses (the port is ignored), `*` globs (`*.corp.example`),
   * or `*` alone for any host.
   * @default localhost, 127.0.0.1, ::1, 0.0.0.0 and every private address (10/8, 172.16/12, 192.168/16, fc00::/7)
   */
  readonly allowedHosts?: readonly string[];
  /** Browser origins besides the server's own that may call the API (exact, or `*` globs; `*` for any). @default [] */
  readonly corsAllowedOrigins?: readonly string[];
  /** `X-Frame-Options` on every answer; `NONE` sends none. @default "SAMEORIGIN" */
  readonly xFrameOptions?: string;
}

/** Probes and scrapers reach pods by address with whatever Host they like; these paths reveal nothing. */
const UNGUARDED_PATHS = new Set(['/health', '/version', '/metrics']);
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1', '0.0.0.0'];
export const INVALID_HOST_MESSAGE = 'Invalid Host header - possible DNS rebinding attack detected';
export const CROSS_ORIGIN_MESSAGE = 'Cross-origin request blocked';
/** Bounds on configuration, so a typo'd environment variable cannot build a pathological matcher. */
export const GUARD_LIMITS = { entries: 256, entryLength: 253, headerLength: 300 } as const;

const PRIVATE = new BlockList();
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');

/** The name or address in a Host header or URL host, lowercased, without port or IPv6 brackets. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  return colon >= 0 && h.indexOf(':', colon + 1) < 0 ? h.slice(0, colon) : h;
}

type Matcher = (value: string) => boolean;

/** `*` globs (exact entries in a set); the matcher is the linear-backtrack wildcard walk, never a RegExp built from config. */
function globMatcher(patterns: readonly string[]): Matcher {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((p) => !p.includes('*')).map((p) => p.toLowerCase()));
  const globs = patterns.filter((p) => p.includes('*')).map((p) => p.toLowerCase());
  return (value) => exact.has(value) || globs.some((g) => wildcardMatch(g, value));
}

/** Whole-string match of `pattern` (only `*` is special) against `value`: O(pattern × value) at worst. */
export function wildcardMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let resume = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === value[v]) {
      p++;
      v++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = v;
    } else if (star >= 0) {
      p = star + 1;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Checks a configured list: the error names the flag's meaning, so a bad env var stops the start. */
export function checkGuardList(what: string, list: readonly string[]): void {
  if (list.length > GUARD_LIMITS.entries) throw new Error(`${what}: at most ${GUARD_LIMITS.entries} entries`);
  for (const entry of list) {
    if (!entry || entry.length > GUARD_LIMITS.entryLength || /[\s\\]/.test(entry))
      throw new Error(`${what}: "${entry.slice(0, 60)}" is not a host or origin pattern`);
  }
}

function hostMatcher(allowed: readonly string[] | undefined): Matcher {
  if (allowed === undefined) {
    return (name) => LOCAL_NAMES.includes(name) || (isIP(name) !== 0 && PRIVATE.check(name, isIP(name) === 6 ? 'ipv6' : 'ipv4'));
  }
  const names = globMatcher(allowed.map(hostName));
  return (name) => names(name);
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    // Scheme not compared: TLS ends at the ingress, so the server sees http while the page is https.
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

function isApiPath(url: string): boolean {
  return url.startsWith('/api/') || url.startsWith('/ajax-api/');
}

function refuse(reply: FastifyReply, message: string): FastifyReply {
  return reply.status(403).type('application/json').send({ error_code: 'PERMISSION_DENIED', message });
}

function answerPreflight(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const asked = (request.headers['access-control-request-headers'] ?? '').slice(0, 1024);
  reply.header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
  if (asked) reply.header('access-control-allow-headers', asked);
  reply.header('access-control-max-age', '600');
  return reply.status(204).send();
}

/** Installs the guards as the first onRequest hook, so a refused request never reaches authentication. */
export function installBrowserGuards(app: FastifyInstance, options: BrowserGuardOptions = {}): void {
  if (options.allowedHosts) checkGuardList('allowed hosts', options.allowedHosts);
  const origins = options.corsAllowedOrigins ?? [];
  checkGuardList('CORS allowed origins', origins);
  const hostAllowed = hostMatcher(options.allowedHosts);
  const corsAllowed = globMatcher(origins);
  const frame = (options.xFrameOptions ?? 'SAMEORIGIN').toUpperCase();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (frame !== 'NONE') reply.header('x-frame-options', frame);
    const path = request.url.split('?')[0];
    if (UNGUARDED_PATHS.has(path)) return;
    const host = request.headers.host;
    if (!host || host.length > GUARD_LIMITS.headerLength || !hostAllowed(hostName(host))) return refuse(reply, INVALID_HOST_MESSAGE);
    const origin = request.headers.origin;
    if (origin === undefined || (origin.length <= GUARD_LIMITS.headerLength && sameOrigin(origin, host))) return;
    const listed = origins.length > 0 && origin.length <= GUARD_LIMITS.headerLength && corsAllowed(origin.toLowerCase());
    if (listed) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
      reply.header('vary', 'Origin');
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) return answerPreflight(request, reply);
    } else if (STATE_CHANGING.has(request.method) && isApiPath(path)) {
      return refuse(reply, CROSS_ORIGIN_MESSAGE);
    }
  });
}
