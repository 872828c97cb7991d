import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { installBrowserGuards, type BrowserGuardOptions } from './http/browser-guards';
import { MlflowError, toMlflowError } from './http/errors';
import { registerRequestMetrics, registerPoolMetrics } from './http/observability';
import { API_PREFIXES, API_V3_PREFIXES, ARTIFACT_PREFIXES, type TrackingContext, type TrackingFeature, type TrackingPlugin } from './plugin';
import { clientErrorHandler, installJsonBodyParser, installNulGuard } from './http/input';
import { REQUEST_LIMITS } from './http/limits';
import { SERVER_VERSION } from './version';

export type { TrackingContext, TrackingFeature, TrackingPlugin } from './plugin';
export { API_PREFIXES, API_V3_PREFIXES, ARTIFACT_PREFIXES } from './plugin';

export interface TrackingAppOptions {
  context: TrackingContext;
  /**
   * What the server consists of (runs and experiments, artifacts, the registry, auth, the web UI…),
   * mounted in this order after every feature's `beforeRoutes` hook has run.
   */
  features: readonly TrackingFeature[];
  logger?: FastifyServerOptions['logger'];
  /**
   * Addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (request.ip, which
   * the login limits count by). Default none: the header is ignored and the peer address is used.
   */
  trustedProxies?: readonly string[];
  /** Host, Origin and framing guards for browsers (browser-guards.ts); `false` turns them off. @default the guards' defaults */
  browserGuards?: BrowserGuardOptions | false;
}

/**
 * Builds the tracking server's Fastify app (not listening) from the features it is given: the shared
 * HTTP layer (body parsing, errors, metrics, probes) here, every route in a feature. No global state.
 */
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
    else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      mlflowError = MlflowError.invalid(`Request body exceeds the ${request.routeOptions.bodyLimit}-byte limit of this endpoint.`);
    else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      mlflowError = MlflowError.invalid(`Unsupported Content-Type '${request.headers['content-type']}'; send application/json.`);
    else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
      mlflowError = new MlflowError('BAD_REQUEST', e.message ?? 'Bad request');
    else mlflowError = toMlflowError(error);
    if (mlflowError.status >= 500) request.log.error({ err: error }, 'request failed');
    reply.status(mlflowError.status).send(mlflowError.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(new MlflowError('ENDPOINT_NOT_FOUND', `No endpoint ${request.method} ${request.url.split('?')[0]}`).toJSON());
  });

  const registry = registerRequestMetrics(app);
  app.decorate('metricsRegistry', registry);
  const { poolStats } = options.context.connection;
  if (poolStats) registerPoolMetrics(registry, poolStats);
  if (options.browserGuards !== false) installBrowserGuards(app, options.browserGuards);
  for (const feature of options.features) if (feature.beforeRoutes) await feature.beforeRoutes(app, options.context);

  app.get('/health', async (_req, reply) => reply.type('text/plain').send('OK'));
  app.get('/version', async (_req, reply) => reply.type('text/plain').send(SERVER_VERSION));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  await mountFeatures(app, options.features, options.context);
  return app;
}

async function mountFeatures(app: FastifyInstance, features: readonly TrackingFeature[], context: TrackingContext): Promise<void> {
  const all = (pick: (f: TrackingFeature) => readonly TrackingPlugin[] | undefined) => features.flatMap((f) => pick(f) ?? []);
  for (const prefix of API_PREFIXES) for (const plugin of all((f) => f.plugins)) await app.register(plugin, { prefix, ...context });
  for (const prefix of API_V3_PREFIXES) for (const plugin of all((f) => f.v3Plugins)) await app.register(plugin, { prefix, ...context });
  for (const prefix of ARTIFACT_PREFIXES) for (const plugin of all((f) => f.artifactPlugins)) await app.register(plugin, { prefix, ...context });
  for (const plugin of all((f) => f.rootPlugins)) await app.register(plugin, context);
}
