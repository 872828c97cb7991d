import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { installBrowserGuards, type BrowserGuardOptions } from './browser-guards';
import { MlflowError, toMlflowError } from './errors';
import type { ArtifactRepository } from './artifacts/repository';
import type { ArtifactRoots } from './artifacts/roots';
import { registerRequestMetrics } from './observability';
import { experimentRoutes } from './routes/experiments';
import { runRoutes } from './routes/runs';
import { artifactRoutes, proxiedArtifactRoutes } from './routes/artifacts';
import { webUiApiPlugins, webUiRootPlugins } from './ui';
import { registryPlugins } from './registry';
import type { TrackingStore } from './store/tracking-store';
import type { StoreConnection } from './store/connection';
import { clientErrorHandler, installJsonBodyParser, installNulGuard } from './http-input';
import { REQUEST_LIMITS } from './limits';
import { SERVER_VERSION } from './version';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's Prometheus registry (/metrics), for plugins that export their own metrics. */
    metricsRegistry: Registry;
  }
  interface FastifyRequest {
    /** The authenticated user, set by an auth hook (issue 4); null when the server runs without auth. */
    user: string | null;
    /** Whether `user` is an admin (set by the auth hook with `user`); false when there is no user. */
    userIsAdmin: boolean;
    /** Byte length of the JSON body as received (MLflow caps log-batch requests at 1 MB). */
    bodyBytes: number;
  }
}

/** What every resource plugin receives: the store and (when artifacts are served) the artifact repository. */
export interface TrackingContext {
  store: TrackingStore;
  connection: StoreConnection;
  /** Root of proxied artifacts (`--artifacts-destination`); undefined with --no-serve-artifacts. */
  artifacts?: ArtifactRepository;
  /** Every artifact root the server reads, and the policy on experiment locations and stored run roots. */
  artifactRoots: ArtifactRoots;
}

export type TrackingPlugin = FastifyPluginAsync<TrackingContext>;

export interface TrackingAppOptions {
  context: TrackingContext;
  /** Extra resource plugins, each mounted under /api/2.0/mlflow and /ajax-api/2.0/mlflow (e.g. the model registry). */
  plugins?: TrackingPlugin[];
  /** Plugins mounted at the root (own prefixes, e.g. /api/3.0/mlflow or /api/2.0/mlflow/users). */
  rootPlugins?: TrackingPlugin[];
  /**
   * Runs on the root instance before any route is added: the place for app-wide hooks such as
   * authentication (`app.addHook('onRequest', …)` setting `request.user`).
   */
  beforeRoutes?: (app: FastifyInstance, context: TrackingContext) => void | Promise<void>;
  logger?: FastifyServerOptions['logger'];
  /**
   * Addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (request.ip, which
   * the login limits count by). Default none: the header is ignored and the peer address is used.
   */
  trustedProxies?: readonly string[];
  /** Host, Origin and framing guards for browsers (browser-guards.ts); `false` turns them off. @default the guards' defaults */
  browserGuards?: BrowserGuardOptions | false;
}

export const API_PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'] as const;
export const ARTIFACT_PREFIXES = ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts'] as const;

/** Builds the tracking server's Fastify app (not listening). Each resource is one plugin; no global state. */
export async function createTrackingApp(options: TrackingAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: process.env.MLOPS_LOG_LEVEL ?? 'info' },
    // Per route where MLflow's field limits need more (log-inputs); log-batch also checks MLflow's 1 MB.
    bodyLimit: REQUEST_LIMITS.BODY_DEFAULT_BYTES,
    clientErrorHandler,
    // Per-request access logs only on demand (MLOPS_LOG_REQUESTS=true); /metrics covers traffic.
    logController: new LogController({ disableRequestLogging: process.env.MLOPS_LOG_REQUESTS !== 'true' }),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    trustProxy: options.trustedProxies?.length ? [...options.trustedProxies] : false,
  });
  app.decorateRequest('user', null);
  app.decorateRequest('userIsAdmin', false);
  app.decorateRequest('bodyBytes', 0);

  // JSON bodies: shape-checked and parsed here, so malformed or hostile JSON is MLflow's INVALID_PARAMETER_VALUE.
  installJsonBodyParser(app);
  installNulGuard(app);

  app.setErrorHandler((error, request, reply) => {
    let mlflowError: MlflowError;
    const e = error as { statusCode?: number; code?: string; message?: string };
    if (error instanceof MlflowError) mlflowError = error;
    else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') mlflowError = MlflowError.invalid(`Request body exceeds the ${request.routeOptions.bodyLimit}-byte limit of this endpoint.`);
    else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') mlflowError = MlflowError.invalid(`Unsupported Content-Type '${request.headers['content-type']}'; send application/json.`);
    else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) mlflowError = new MlflowError('BAD_REQUEST', e.message ?? 'Bad request');
    else mlflowError = toMlflowError(error);
    if (mlflowError.status >= 500) request.log.error({ err: error }, 'request failed');
    reply.status(mlflowError.status).send(mlflowError.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(new MlflowError('ENDPOINT_NOT_FOUND', `No endpoint ${request.method} ${request.url.split('?')[0]}`).toJSON());
  });

  const registry = registerRequestMetrics(app);
  app.decorate('metricsRegistry', registry);
  if (options.browserGuards !== false) installBrowserGuards(app, options.browserGuards);
  if (options.beforeRoutes) await options.beforeRoutes(app, options.context);

  app.get('/health', async (_req, reply) => reply.type('text/plain').send('OK'));
  app.get('/version', async (_req, reply) => reply.type('text/plain').send(SERVER_VERSION));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  for (const prefix of API_PREFIXES) {
    for (const plugin of [experimentRoutes, runRoutes, artifactRoutes, ...registryPlugins, ...webUiApiPlugins, ...(options.plugins ?? [])]) {
      await app.register(plugin, { prefix, ...options.context });
    }
  }
  for (const prefix of ARTIFACT_PREFIXES) await app.register(proxiedArtifactRoutes, { prefix, ...options.context });
  for (const plugin of [...(options.rootPlugins ?? []), ...webUiRootPlugins]) await app.register(plugin, options.context);
  return app;
}
