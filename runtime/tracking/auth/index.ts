import type { FastifyInstance } from 'fastify';
import { MlflowError } from '../http/errors';
import type { TrackingContext, TrackingFeature, TrackingPlugin } from '../plugin';
import { afterResponse, needsAfterResponse } from './after-response';
import { authenticate, type Identities } from './authenticate';
import { authorize, Permissions } from './authorize';
import { CredentialVerifier, type CredentialCacheOptions } from './credentials';
import { LoginGuard, type LoginLimitOptions } from './login-guard';
import { parsePermission, type PermissionName } from './permissions';
import { verifyPassword } from './passwords';
import { authRoutes } from './routes';
import type { AuthState } from './state';
import { AuthStore } from './store';

export { AuthStore, validatePassword, validateUsername, MIN_PASSWORD_LENGTH, type UserJson } from './store';
export { CredentialVerifier, parseBasicAuth } from './credentials';
export { LOGIN_LIMIT_DEFAULTS, LoginGuard, LoginRefused, type LoginLimitOptions } from './login-guard';
export { hashPassword, verifyPassword } from './passwords';
export { PERMISSIONS, PERMISSION_NAMES, parsePermission, type PermissionName } from './permissions';
export { API_RULES, ARTIFACT_RULES, ROOT_RULES } from './rules';

/** `mlops tracking serve --app-name basic-auth`: what MLflow's basic_auth.ini configures. */
export interface BasicAuthOptions {
  /** The admin account created at start when it does not exist yet. Default `admin`. */
  adminUsername?: string;
  /**
   * Its password (MLFLOW_AUTH_ADMIN_PASSWORD or a mounted Secret file). Required: there is no
   * default. Used only to create the admin; once it exists, rotate it with users/update-password.
   */
  adminPassword: string;
  /** Permission of a user on an experiment / registered model without an explicit grant. Default READ (MLflow's default). */
  defaultPermission?: PermissionName;
  /**
   * Non-admin users to create at start when missing (the in-cluster training and inference logins, from
   * Secrets). The Secret is the source of truth: an existing user whose password no longer matches gets
   * it reset, so rotating the Secret and restarting the server is enough. Default: none.
   */
  serviceUsers?: ReadonlyArray<{ username: string; password: string }>;
  /** Verified-credential cache (credentials.ts). */
  cache?: CredentialCacheOptions;
  /** Failed-login limits and the bounded KDF queue (login-guard.ts); defaults in LOGIN_LIMIT_DEFAULTS. */
  loginLimits?: LoginLimitOptions;
  /** How long users and permissions read on the request path are reused; see AuthStoreOptions. Default 1000 ms. */
  readCacheTtlMs?: number;
}

export type { AuthState } from './state';

/** The feature to hand to startTrackingServer/createTrackingApp, plus the state for tests and the CLI. */
export interface BasicAuth extends TrackingFeature {
  beforeRoutes: (app: FastifyInstance, context: TrackingContext) => Promise<void>;
  plugins: TrackingPlugin[];
  /** Available after the app is built. */
  readonly state: AuthState;
}

/**
 * HTTP Basic authentication and MLflow's permission model for the tracking server, as a tracking
 * feature: `beforeRoutes` adds the hooks (authenticate.ts, authorize.ts, after-response.ts) and
 * `plugins` adds the users / permissions endpoints under both API prefixes.
 */
export function basicAuth(options: BasicAuthOptions): BasicAuth {
  if (!options.adminPassword) throw new Error('basic-auth needs an admin password: set MLFLOW_AUTH_ADMIN_PASSWORD or --auth-admin-password-file');
  const defaultPermission = parsePermission(options.defaultPermission ?? 'READ');
  const adminUsername = options.adminUsername ?? 'admin';
  const clash = options.serviceUsers?.find((u) => u.username === adminUsername);
  if (clash) throw new Error(`service user '${clash.username}' is the admin account: give the in-cluster clients their own logins`);
  let state: AuthState | undefined;
  const current = (): AuthState => {
    if (!state) throw new Error('basic auth is not initialised: pass beforeRoutes to the tracking app');
    return state;
  };

  const beforeRoutes = async (app: FastifyInstance, context: TrackingContext): Promise<void> => {
    const store = new AuthStore(context.connection.db, { readCacheTtlMs: options.readCacheTtlMs });
    const verifier = new CredentialVerifier(store, options.cache, new LoginGuard(options.loginLimits, app.metricsRegistry));
    state = { store, verifier, defaultPermission, adminUsername };
    await ensureUser(store, adminUsername, options.adminPassword, 'admin');
    for (const user of options.serviceUsers ?? []) await ensureUser(store, user.username, user.password, 'service');
    await warnAboutLookAlikes(app, store);
    installHooks(app, state, context);
  };

  return {
    beforeRoutes,
    plugins: [authRoutes(current)],
    get state() {
      return current();
    },
  };
}

/**
 * Creates a user at start when it does not exist (another replica may create it first: that is fine).
 * The admin (MLflow's create_admin_user) keeps its password once it exists: it is rotated through the API.
 * A service user follows its Secret: a password that no longer matches is reset, so replicas end equal.
 */
async function ensureUser(store: AuthStore, username: string, password: string, role: 'admin' | 'service'): Promise<void> {
  try {
    const existing = await store.findUser(username);
    if (!existing) {
      try {
        await store.createUser(username, password, role === 'admin');
      } catch (err) {
        if (!(err instanceof MlflowError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
      }
    } else if (role === 'service' && !(await verifyPassword(password, existing.password_hash))) {
      await store.updatePassword(username, password);
    }
  } catch (err) {
    if (err instanceof MlflowError) throw new Error(`${role} user '${username}': ${err.message}`);
    throw err;
  }
}

/** Accounts that predate case-insensitive names and collide with an older one (migration 0006 kept them). */
async function warnAboutLookAlikes(app: FastifyInstance, store: AuthStore): Promise<void> {
  const twins = await store.lookAlikeUsers();
  if (twins.length) {
    app.log.warn(
      { users: twins },
      'basic-auth: these accounts differ from an older one only in case or look-alike letters; they still log in by their exact name — delete the ones that should not exist',
    );
  }
}

/**
 * The three steps, each its own hook: authenticate (onRequest), authorize (preHandler, once the body
 * is parsed), and after the response (onSend, only on the routes with something to do then: creator
 * grants, renames, filtered searches — the hot write paths such as log-batch skip it).
 */
function installHooks(app: FastifyInstance, state: AuthState, context: TrackingContext): void {
  const identities: Identities = new WeakMap();
  const permissions = new Permissions(state);
  // Roots laid out as `<root>/<experiment id>/…` whose URIs name an experiment (references.ts).
  const artifactRoots = [context.artifacts?.rootUri, context.store.defaultArtifactRoot].filter((r): r is string => !!r && !/^mlflow-artifacts:/i.test(r));
  app.addHook('onRequest', authenticate(state, identities));
  app.addHook(
    'preHandler',
    authorize(identities, permissions, { stores: { runs: context.store, loggedModels: context.loggedModels, traces: context.traces }, artifactRoots }),
  );
  const onSend = afterResponse(identities, permissions, state.store);
  app.addHook('onRoute', (route) => {
    if (!needsAfterResponse(route)) return;
    const existing = route.onSend ? ([] as unknown[]).concat(route.onSend) : [];
    route.onSend = [...existing, onSend] as typeof route.onSend;
  });
}
