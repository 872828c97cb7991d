import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseBasicAuth } from './credentials';
import { LoginRefused } from './login-guard';
import { classify, protectedPath, routeOf } from './places';
import { forbidden, unauthenticated } from './replies';
import type { AuthState } from './state';
import type { UserRow } from './store';

/** Who each authenticated request is, for the later steps (authorize, after the response). */
export type Identities = WeakMap<FastifyRequest, UserRow>;

/**
 * Step 1, onRequest: HTTP Basic credentials on every protected path, verified through the credential
 * cache and the login limits. Sets `request.user` / `request.userIsAdmin` and records the identity.
 */
export function authenticate(state: AuthState, identities: Identities) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    // Filtered pages are refilled in process now; a request still claiming to be the server's own
    // sub-request (the header earlier versions used) is refused rather than treated as anonymous.
    if (request.headers['x-mlops-internal'] !== undefined) return forbidden(reply);
    const route = routeOf(request);
    // Unmatched API paths (no route, or the UI's `/*` fallback) still need credentials: 401 before 404.
    const isProtected = (route !== undefined && classify(route) !== undefined) || protectedPath(request.url.split('?')[0]);
    if (!isProtected) return;
    const credentials = parseBasicAuth(request.headers.authorization);
    if (!credentials) return unauthenticated(reply);
    let user: UserRow | undefined;
    try {
      // request.ip: the peer, or the client a trusted proxy names in X-Forwarded-For (--forwarded-allow-ips).
      user = await state.verifier.verify(credentials.username, credentials.password, request.ip);
    } catch (err) {
      if (!(err instanceof LoginRefused)) throw err;
      return reply.code(err.status).header('retry-after', String(err.retryAfterSeconds)).send(err.toJSON());
    }
    if (!user) return unauthenticated(reply);
    identities.set(request, user);
    request.user = user.username;
    request.userIsAdmin = user.is_admin;
  };
}
