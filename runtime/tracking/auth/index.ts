import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { API_PREFIXES, ARTIFACT_PREFIXES, type TrackingContext, type TrackingPlugin } from '../app';
import { safeArtifactPath } from '../artifacts';
import { MlflowError, toMlflowError } from '../errors';
import { LoggedModelStore } from '../registry/logged-models';
import type { RegistryDb } from '../registry/schema';
import { validateRunId } from '../validation';
import { CredentialVerifier, parseBasicAuth, type CredentialCacheOptions } from './credentials';
import { LoginGuard, LoginRefused, type LoginLimitOptions } from './login-guard';
import { allows, parsePermission, type Action, type PermissionName } from './permissions';
import { ReferenceResolver, hasReferences, referencesOf } from './references';
import { fieldCandidates, listField, requiredField } from './request-fields';
import { verifyPassword } from './passwords';
import { authRoutes } from './routes';
import { AFTER_ACTIONS, API_RULES, ARTIFACT_RULES, ROOT_RULES, ruleFor, type Rule, type Target } from './rules';
import { AuthStore, canonicalExperimentId, type UserRow } from './store';

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

/** Live state once the server's store is open: the store, the verifier (its cache), the options. */
export interface AuthState {
  store: AuthStore;
  verifier: CredentialVerifier;
  defaultPermission: PermissionName;
  adminUsername: string;
}

/** What to pass to startTrackingServer/createTrackingApp, plus the state for tests and the CLI. */
export interface BasicAuth {
  beforeRoutes: (app: FastifyInstance, context: TrackingContext) => Promise<void>;
  plugins: TrackingPlugin[];
  /** Available after the app is built. */
  readonly state: AuthState;
}

const UNAUTHENTICATED_MESSAGE = 'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.';
const MAX_CACHED_IDS = 100_000;
/** Refill rounds for a filtered search page; a shorter page with a next_page_token is still correct paging. */
const MAX_REFILL_ROUNDS = 20;

type Place = { table: Record<string, unknown>; key: string } | undefined;
/** Routes are a fixed set: classify each once (three hooks ask on every request). */
const places = new Map<string, Place>();
function classify(routeUrl: string): Place {
  if (places.has(routeUrl)) return places.get(routeUrl);
  const place = classifyUncached(routeUrl);
  places.set(routeUrl, place);
  return place;
}

/** Route → the rule table it belongs to and its key there (prefix removed, parameters as `:`). */
function classifyUncached(routeUrl: string): Place {
  const strip = (prefixes: readonly string[]) => prefixes.find((p) => routeUrl === p || routeUrl.startsWith(`${p}/`));
  const normalize = (rest: string) => rest.replace(/:[^/]+/g, ':') || '/';
  const artifacts = strip(ARTIFACT_PREFIXES);
  if (artifacts) return { table: ARTIFACT_RULES, key: normalize(routeUrl.slice(artifacts.length)) };
  const api = strip(API_PREFIXES);
  if (api) return { table: API_RULES, key: normalize(routeUrl.slice(api.length)) };
  if (ROOT_RULES[routeUrl]) return { table: ROOT_RULES, key: routeUrl };
  if (/^\/(api|ajax-api)\//.test(routeUrl)) return { table: {}, key: routeUrl };
  return undefined;
}

/**
 * Paths that need credentials when no route matched (so an unknown API path answers 401, then 404).
 * The UI's page itself too, as MLflow protects `/`: the browser gets the Basic challenge at once and
 * asks for credentials instead of loading a shell whose every call fails. Its static assets stay open
 * (MLflow's `/static`), as do /health, /version and /metrics for probes and Prometheus.
 */
function protectedPath(path: string): boolean {
  return /^\/(api|ajax-api)\//.test(path) || path === '/' || path === '/index.html' || path === '/get-artifact' || path === '/model-versions/get-artifact';
}

function unauthenticated(reply: FastifyReply): FastifyReply {
  return reply.code(401).header('www-authenticate', 'Basic realm="mlflow"').send(new MlflowError('UNAUTHENTICATED', UNAUTHENTICATED_MESSAGE).toJSON());
}

function forbidden(reply: FastifyReply): FastifyReply {
  return reply.code(403).send(new MlflowError('PERMISSION_DENIED', 'Permission denied').toJSON());
}

/** A bounded id → experiment id map for immutable relations (a run or logged model never changes experiment). */
class IdCache {
  private readonly map = new Map<string, string>();
  get(id: string): string | undefined {
    return this.map.get(id);
  }
  set(id: string, experimentId: string): void {
    if (this.map.size >= MAX_CACHED_IDS) this.map.delete(this.map.keys().next().value as string);
    this.map.set(id, experimentId);
  }
}

/**
 * HTTP Basic authentication and MLflow's permission model for the tracking server, installed through
 * the app's extension points: `beforeRoutes` adds the hooks (onRequest authenticates, preHandler
 * authorizes once the body is parsed, onSend grants creators MANAGE and filters search results) and
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
    plugins: [authRoutes(current) as TrackingPlugin],
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
    app.log.warn({ users: twins }, 'basic-auth: these accounts differ from an older one only in case or look-alike letters; they still log in by their exact name — delete the ones that should not exist');
  }
}

function installHooks(app: FastifyInstance, state: AuthState, context: TrackingContext): void {
  const { store } = state;
  const identities = new WeakMap<FastifyRequest, UserRow>();
  // Sub-requests this server makes to itself (refilling a filtered page) carry this per-process secret.
  const internalToken = randomBytes(32).toString('hex');
  const internal = new WeakSet<FastifyRequest>();
  const runExperiments = new IdCache();
  const loggedModelExperiments = new IdCache();

  const routeOf = (request: FastifyRequest): string | undefined => request.routeOptions.url;

  app.addHook('onRequest', async (request, reply) => {
    if (request.headers['x-mlops-internal'] !== undefined) {
      if (request.headers['x-mlops-internal'] === internalToken) {
        internal.add(request);
        return;
      }
      return forbidden(reply);
    }
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
  });

  // ── resolving what a request touches ───────────────────────────────────────────────────────

  const permissionOnExperiment = async (user: UserRow, experimentId: string): Promise<PermissionName> =>
    (await store.cachedExperimentPermission(user.id, experimentId)) ?? state.defaultPermission;
  const permissionOnModel = async (user: UserRow, name: string): Promise<PermissionName> =>
    (await store.cachedRegisteredModelPermission(user.id, name)) ?? state.defaultPermission;

  const experimentOfRun = async (runId: string): Promise<string> => {
    const cached = runExperiments.get(runId);
    if (cached) return cached;
    validateRunId(runId);
    const row = await store.db.selectFrom('runs').select('experiment_id').where('run_uuid', '=', runId).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`Run with id=${runId} not found`);
    runExperiments.set(runId, String(row.experiment_id));
    return String(row.experiment_id);
  };

  const experimentOfLoggedModel = async (modelId: string): Promise<string> => {
    const cached = loggedModelExperiments.get(modelId);
    if (cached) return cached;
    const { rows } = await sql<{ experiment_id: number }>`SELECT experiment_id FROM logged_models WHERE model_id = ${modelId}`.execute(store.db);
    if (!rows.length) throw MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
    loggedModelExperiments.set(modelId, String(rows[0].experiment_id));
    return String(rows[0].experiment_id);
  };

  /** The experiment ids (or registered model names) a request targets; every one must allow the action. */
  const resolve = async (request: FastifyRequest, target: Target): Promise<{ experiments?: string[]; models?: string[] }> => {
    switch (target.type) {
      case 'experiment': {
        const raw = fieldCandidates(request, target.field);
        if (!raw.length && target.default) raw.push(target.default);
        if (!raw.length) throw MlflowError.invalid(`Missing value for required parameter '${target.field}'.`);
        return { experiments: [...new Set(raw.map(canonicalExperimentId))] };
      }
      case 'experiment_name': {
        const name = requiredField(request, 'experiment_name');
        const row = await store.db.selectFrom('experiments').select('experiment_id').where('name', '=', name).executeTakeFirst();
        if (!row) throw MlflowError.notFound(`Could not find experiment with name '${name}'`);
        return { experiments: [String(row.experiment_id)] };
      }
      case 'experiments': {
        const ids = listField(request, 'experiment_ids');
        if (!ids.length) throw MlflowError.invalid("Missing value for required parameter 'experiment_ids'.");
        return { experiments: ids.map(canonicalExperimentId) };
      }
      case 'run': {
        const runIds = [...fieldCandidates(request, 'run_id'), ...fieldCandidates(request, 'run_uuid')];
        if (!runIds.length) throw MlflowError.invalid("Missing value for required parameter 'run_id'.");
        const experiments = new Set<string>();
        for (const id of new Set(runIds)) experiments.add(await experimentOfRun(id));
        return { experiments: [...experiments] };
      }
      case 'runs': {
        const ids = [...new Set(listField(request, target.field))];
        if (!ids.length) throw MlflowError.invalid(`Missing value for required parameter '${target.field}'.`);
        const experiments: string[] = [];
        for (const id of ids) experiments.push(await experimentOfRun(id));
        return { experiments: [...new Set(experiments)] };
      }
      case 'registered_model':
      {
        const names = fieldCandidates(request, 'name');
        if (!names.length) throw MlflowError.invalid("Missing value for required parameter 'name'.");
        return { models: names };
      }
      case 'logged_model': {
        const params = (request.params ?? {}) as Record<string, string>;
        const first = /:([^/]+)/.exec(routeOf(request) ?? '')?.[1];
        const modelId = first ? params[first] : undefined;
        if (!modelId) throw MlflowError.invalid("Missing value for required parameter 'model_id'.");
        return { experiments: [await experimentOfLoggedModel(modelId)] };
      }
      case 'artifact_path': {
        // The same decoding the artifact handlers apply, so the id checked is the directory served.
        const raws = routeOf(request)?.endsWith('*') ? [(request.params as Record<string, string>)['*']] : fieldCandidates(request, 'path');
        const experiments: string[] = [];
        for (const raw of raws.length ? raws : ['']) {
          const m = /^(\d{1,19})(?:\/|$)/.exec(safeArtifactPath(raw));
          // Paths outside any experiment's directory fall back to the default permission, as in MLflow.
          if (!m) return {};
          experiments.push(String(Number(m[1])));
        }
        return { experiments };
      }
    }
  };

  const allowed = async (request: FastifyRequest, user: UserRow, action: Action, target: Target): Promise<boolean> => {
    const { experiments, models } = await resolve(request, target);
    if (!experiments && !models) return allows(state.defaultPermission, action);
    for (const id of experiments ?? []) if (!allows(await permissionOnExperiment(user, id), action)) return false;
    for (const name of models ?? []) if (!allows(await permissionOnModel(user, name), action)) return false;
    return true;
  };

  const readableExperiments = async (user: UserRow) => {
    const explicit = await store.experimentPermissions(user.id);
    return (id: string) => allows(explicit.get(id) ?? state.defaultPermission, 'read');
  };
  const readableModels = async (user: UserRow) => {
    const explicit = await store.registeredModelPermissions(user.id);
    return (name: string) => allows(explicit.get(name) ?? state.defaultPermission, 'read');
  };

  // What a request points at besides its target (references.ts): resolved through the stores.
  const references = new ReferenceResolver({ runs: context.store, loggedModels: new LoggedModelStore(context.connection.db as unknown as RegistryDb) });
  const artifactRoots = [context.artifacts?.rootUri, context.store.defaultArtifactRoot].filter((r): r is string => !!r && !/^mlflow-artifacts:/i.test(r));
  const referencesAllowed = async (request: FastifyRequest, user: UserRow, key: string): Promise<boolean> => {
    if (!hasReferences(request.method, key)) return true;
    for (const ref of referencesOf(request, key, artifactRoots)) {
      const target = await references.target(ref);
      if (!target) return false;
      const permission = 'experiment' in target ? await permissionOnExperiment(user, target.experiment) : await permissionOnModel(user, target.registeredModel);
      if (!allows(permission, ref.action)) return false;
    }
    return true;
  };

  const ruleOf = (request: FastifyRequest): Rule | undefined => {
    const route = routeOf(request);
    const place = route !== undefined ? classify(route) : undefined;
    return place ? ruleFor(place.table as never, place.key, request.method) : undefined;
  };

  app.addHook('preHandler', async (request, reply) => {
    const user = identities.get(request);
    if (!user || user.is_admin) return;
    const route = routeOf(request);
    // Routes outside the rule tables (the UI's `/*` fallback answering 404 for API paths) decide nothing here.
    if (route === undefined || classify(route) === undefined) return;
    const rule = ruleOf(request);
    try {
      if (!rule) return forbidden(reply);
      switch (rule.kind) {
        case 'authenticated':
        case 'filter':
          return;
        case 'admin':
          return forbidden(reply);
        case 'self':
          if (requiredField(request, 'username') !== user.username) return forbidden(reply);
          return;
        case 'check':
          if (!(await allowed(request, user, rule.action, rule.target))) return forbidden(reply);
          if (!(await referencesAllowed(request, user, classify(route)!.key))) return forbidden(reply);
          return;
        case 'narrow_experiments': {
          const body = request.body as Record<string, unknown> | undefined;
          const ids = listField(request, 'experiment_ids');
          if (!ids.length || !body || typeof body !== 'object') return;
          const canRead = await readableExperiments(user);
          const narrowed = ids.filter((id) => canRead(canonicalExperimentId(id)));
          if (!narrowed.length) return reply.send(routeOf(request)!.includes('logged-models') ? { models: [] } : { runs: [] });
          body.experiment_ids = narrowed;
          return;
        }
      }
    } catch (err) {
      const e = toMlflowError(err);
      return reply.code(e.status).send(e.toJSON());
    }
  });

  // ── after the handler: creator grants, registry renames, filtered searches ───────────────────

  const afterResponse = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    if (internal.has(request) || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    const user = identities.get(request);
    if (!user) return payload;
    const route = routeOf(request);
    const place = route !== undefined ? classify(route) : undefined;
    if (!place || place.table !== API_RULES) return payload;
    const after = AFTER_ACTIONS[`${request.method} ${place.key}`];
    if (after) {
      const body = JSON.parse(payload);
      if (after === 'grant_experiment' && body.experiment_id) await store.grantExperiment(user.id, String(body.experiment_id), 'MANAGE');
      if (after === 'grant_registered_model' && body.registered_model?.name) await store.grantRegisteredModel(user.id, body.registered_model.name, 'MANAGE');
      if (after === 'rename_registered_model') await store.renameRegisteredModel(requiredField(request, 'name'), requiredField(request, 'new_name'));
      if (after === 'forget_registered_model') await store.forgetRegisteredModel(requiredField(request, 'name'));
      return payload;
    }
    const rule = ruleFor(API_RULES, place.key, request.method);
    if (user.is_admin || rule?.kind !== 'filter') return payload;
    const readable =
      rule.by === 'experiment'
        ? await readableExperiments(user).then((can) => (item: Record<string, unknown>) => can(String(item.experiment_id)))
        : await readableModels(user).then((can) => (item: Record<string, unknown>) => can(String(item.name)));
    return JSON.stringify(await filterPage(app, request, JSON.parse(payload), rule.list, readable, internalToken));
  };

  // Only the routes with something to do after the handler (creator grants, renames, filtered
  // searches) get the onSend hook: the hot write paths (log-batch…) skip one hook per request.
  app.addHook('onRoute', (route) => {
    const place = classify(route.url);
    if (!place || place.table !== API_RULES) return;
    const methods = ([] as string[]).concat(route.method);
    const needed = methods.some((m) => AFTER_ACTIONS[`${m} ${place.key}`] !== undefined || ruleFor(API_RULES, place.key, m)?.kind === 'filter');
    if (!needed) return;
    const existing = route.onSend ? ([] as unknown[]).concat(route.onSend) : [];
    route.onSend = [...existing, afterResponse] as typeof route.onSend;
  });
}

/** Where this server can reach itself (for refilling filtered pages); undefined when it is not listening. */
function selfUrl(app: FastifyInstance): string | undefined {
  const address = app.server.address();
  if (!address || typeof address === 'string') return undefined;
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/**
 * Drops unreadable items from a search page, then fetches following pages (from the server itself,
 * asking for exactly the missing count so no item is skipped) until the page is as full as the
 * unfiltered one was or the results end. MLflow's filter_search_* handlers refill the same way. A
 * page left short still carries the right next_page_token, so paging clients see every item.
 */
async function filterPage(
  app: FastifyInstance,
  request: FastifyRequest,
  page: Record<string, unknown>,
  list: string,
  readable: (item: Record<string, unknown>) => boolean,
  internalToken: string,
): Promise<Record<string, unknown>> {
  const original = (page[list] as Record<string, unknown>[] | undefined) ?? [];
  const target = original.length;
  const items = original.filter(readable);
  let token = page.next_page_token as string | undefined;
  const base = selfUrl(app);
  for (let round = 0; base && round < MAX_REFILL_ROUNDS && items.length < target && token; round++) {
    const missing = target - items.length;
    const [path, query = ''] = request.url.split('?');
    let url = `${base}${path}`;
    let body: string | undefined;
    if (request.method === 'GET') {
      const qs = new URLSearchParams(query);
      qs.set('page_token', token);
      qs.set('max_results', String(missing));
      url += `?${qs}`;
    } else {
      body = JSON.stringify({ ...((request.body as object) ?? {}), page_token: token, max_results: missing });
    }
    const res = await fetch(url, { method: request.method, body, headers: { 'x-mlops-internal': internalToken, ...(body ? { 'content-type': 'application/json' } : {}) } });
    if (res.status !== 200) break;
    const next = (await res.json()) as Record<string, unknown>;
    items.push(...((next[list] as Record<string, unknown>[] | undefined) ?? []).filter(readable));
    token = next.next_page_token as string | undefined;
  }
  const out: Record<string, unknown> = { ...page, [list]: items };
  if (token) out.next_page_token = token;
  else delete out.next_page_token;
  return out;
}
