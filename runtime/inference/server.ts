import * as http from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { DataPlane, batchSettings, type DataPlaneOptions } from './data-plane';
import { errorBody, errorStatus, type Protocol } from './errors';
import { hotPath, type HotPath } from './hot-path';
import { parseJsonBody } from './json-body';
import type { InferenceMetrics } from './metrics';
import { frameToFeeds, type LoadedModel } from './model';
import { inferResponseJson, predictionsJson } from './protocols/encode';
import { FORMATS, parseCsv, parseJsonInvocation } from './protocols/mlflow';
import { modelMetadata, parseInferRequest } from './protocols/v2';
import { startGrpcFront, type RunningGrpcFront } from './grpc/server';
import type { PredictionHook } from './prediction-hook';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const INFERENCE_SERVER_VERSION: string = (require('../../package.json') as { version: string }).version;

export type { PredictionHook, PredictionInputs } from './prediction-hook';

/** Fastify's defaults for the server it would create itself (the factory below creates it instead). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface InferenceServerOptions extends DataPlaneOptions {
  /** `models:/name@alias`, `models:/name/<version>`, `models:/name/<Stage>`, `runs:/<id>/<path>`, a `.onnx` file or an MLflow model directory. */
  model: string;
  /** Name the model is served under (v2 paths, metrics). Default: the registered model name, or the file/dir name. */
  modelName?: string;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Port of the Open Inference Protocol's gRPC service on the same host; 0 picks a free one. @default no gRPC listener */
  grpcPort?: number;
  /** Worker threads running onnxruntime sessions; 0 runs them on the HTTP thread. Default os.availableParallelism(). */
  workers?: number;
  /** Rows per merged session run; 1 disables adaptive batching. Default 1024. */
  maxBatchSize?: number;
  /** Input bytes per merged session run (a request above it runs alone). Default 16 MiB. */
  maxBatchBytes?: number;
  /** Wait up to this long for a batch to fill; 0 = no timer (a batch is what one event-loop turn read, plus what queued while workers were busy). Default 0. */
  maxBatchDelayMs?: number;
  /** Requests waiting for a worker before new ones get 503 + Retry-After. Default 256. */
  maxQueue?: number;
  /** Request body limit in bytes (413 above). Default 10 MiB. */
  bodyLimit?: number;
  /** Tracking server for models:/ and runs:/ URIs. Default MLFLOW_TRACKING_URI. */
  trackingUri?: string;
  /** Basic auth for the tracking server. Default MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD. */
  trackingUsername?: string;
  trackingPassword?: string;
  /** Bearer token, used when username and password are not both set (MLflow's rule). Default MLFLOW_TRACKING_TOKEN. */
  trackingToken?: string;
  /** Download cache for registry models. Default MLOPS_MODEL_CACHE or ~/.cache/mlops/models. */
  cacheDir?: string;
  /** How often an alias / stage / latest URI is re-resolved for a hot swap; 0 disables. Default 30 000 ms. */
  pollIntervalMs?: number;
  /** Seconds in the Retry-After header of 503 answers. Default 1. */
  retryAfterSeconds?: number;
  logger?: FastifyServerOptions['logger'];
  onPrediction?: PredictionHook;
  /** Register extra prom-client metrics (e.g. drift gauges) on the server's registry, exported at /metrics. */
  registerMetrics?: (registry: Registry) => void;
  /** Node process metrics (CPU, memory, event loop) on /metrics. Default true. */
  defaultMetrics?: boolean;
  /** The /metrics text. Default: this server's registry (a listener of several gets the primary's aggregate). */
  metricsText?: () => Promise<string>;
}

export interface RunningInferenceServer {
  url: string;
  /** host:port of the gRPC service, when grpcPort was given. */
  grpcAddress?: string;
  app: FastifyInstance;
  metrics: InferenceMetrics;
  /** The prom-client registry /metrics exports. */
  registry: Registry;
  /** The model version currently served. */
  model(): LoadedModel;
  /** Requests answered by the lean path so far (the others went through Fastify's routes). */
  leanRequests(): number;
  /** Re-resolves the model URI now and swaps if it names another version; true when it swapped. */
  checkForUpdate(): Promise<boolean>;
  /** Stops accepting requests, answers the ones in flight, then stops the workers. */
  close(): Promise<void>;
}

class CsvBody {
  constructor(readonly text: string) {}
}

interface RouteConfig {
  protocol?: Protocol;
}

/** Fastify on a node:http server whose listener offers each request to the lean path first. */
function createHttpApp(opts: InferenceServerOptions, bodyLimit: number, lean: () => HotPath | undefined): FastifyInstance {
  return Fastify({
    serverFactory: (handler) => {
      const server = http.createServer((req, res) => {
        if (!lean()?.take(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      server.requestTimeout = 0;
      return server;
    },
    logger: opts.logger ?? { level: process.env.MLOPS_LOG_LEVEL ?? 'info' },
    bodyLimit,
    // Per-request access logs only on demand (MLOPS_LOG_REQUESTS=true); /metrics covers traffic.
    logController: new LogController({ disableRequestLogging: process.env.MLOPS_LOG_REQUESTS !== 'true' }),
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
  });
}

/** Only JSON and CSV (Fastify's default text/plain parser would turn 415s into 400s). */
function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, new CsvBody(body as string)));
}

/** Errors in each protocol's shape, request metrics, and Connection: close while draining. */
function installHooks(app: FastifyInstance, plane: DataPlane): void {
  app.setErrorHandler((err, request, reply) => {
    const { status, code, message } = errorStatus(err);
    if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
    if (status === 503) reply.header('retry-after', plane.retryAfter);
    reply.status(status).send(errorBody(request.url.startsWith('/v2') ? 'v2' : 'mlflow', code, message));
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `no endpoint ${request.method} ${request.url.split('?')[0]}`;
    reply.status(404).send(request.url.startsWith('/v2') ? { error: message } : { error_code: 'ENDPOINT_NOT_FOUND', message });
  });
  app.addHook('onResponse', (request, reply, done) => {
    const protocol = (request.routeOptions.config as RouteConfig | undefined)?.protocol;
    if (protocol) plane.metrics.recordRequest(plane.current.name, protocol, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (plane.closing) reply.header('connection', 'close');
    done(null, payload);
  });
}

/** The lean path in front of Fastify for the two prediction endpoints (hot-path.ts). */
function leanPath(app: FastifyInstance, plane: DataPlane, bodyLimit: number): HotPath {
  return hotPath({
    bodyLimit,
    retryAfter: plane.retryAfter,
    batcher: plane.batcher,
    notifier: plane.notifier,
    current: () => plane.current,
    closing: () => plane.closing,
    record: (model, protocol, status, seconds) => plane.metrics.recordRequest(model.name, protocol, status, seconds),
    logError: (err) => app.log.error({ err }, 'request failed'),
  });
}

/** Health, as MLflow's scoring server and Kubernetes probes use it (200 once the model is loaded), version and metrics. */
function registerServiceRoutes(app: FastifyInstance, plane: DataPlane, metricsText: () => Promise<string>): void {
  const ping = async (_req: FastifyRequest, reply: FastifyReply) =>
    plane.ready() ? reply.type('text/plain').send('\n') : reply.status(503).type('text/plain').send('shutting down\n');
  app.get('/ping', ping);
  app.get('/health', ping);
  app.get('/version', async (_req, reply) => reply.type('text/plain').send(INFERENCE_SERVER_VERSION));
  app.get('/metrics', async (_req, reply) => reply.type(plane.metrics.registry.contentType).send(await metricsText()));
}

/** MLflow's scoring endpoint: JSON in any of MLflow's formats, or CSV. */
function registerInvocations(app: FastifyInstance, plane: DataPlane): void {
  app.post('/invocations', { config: { protocol: 'mlflow' } satisfies RouteConfig }, async (request, reply) => {
    const model = plane.current;
    const contentType = request.headers['content-type'] ?? '';
    const [, ...params] = contentType.split(';').map((s) => s.trim());
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim().toLowerCase());
      if (k !== 'charset')
        return reply.status(415).send({
          error_code: 'BAD_REQUEST',
          message: `unrecognized content type parameter '${k}': send application/json with one of ${FORMATS.join(', ')}, or text/csv`,
        });
      if (v !== 'utf-8' && v !== 'utf8') return reply.status(415).send({ error_code: 'BAD_REQUEST', message: 'the scoring server only supports UTF-8' });
    }
    const parsed =
      request.body instanceof CsvBody ? { feeds: frameToFeeds(model, parseCsv(request.body.text)), tabular: true } : parseJsonInvocation(model, request.body);
    const outputs = await plane.predict(model, parsed.feeds);
    return reply.type('application/json').send(predictionsJson(outputs, parsed.tabular));
  });
}

/** Open Inference Protocol v2 over REST. */
function registerV2Routes(app: FastifyInstance, plane: DataPlane): void {
  const modelFor = (params: unknown): LoadedModel => {
    const { name, version } = params as { name: string; version?: string };
    return plane.modelFor(name, version);
  };
  app.get('/v2', () => ({ name: 'mlops-inference', version: INFERENCE_SERVER_VERSION, extensions: [] }));
  app.get('/v2/health/live', () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => reply.status(plane.ready() ? 200 : 503).send({ ready: plane.ready() }));
  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(prefix, (request) => modelMetadata(modelFor(request.params)));
    app.get(`${prefix}/ready`, async (request, reply) => {
      const model = modelFor(request.params);
      return reply.status(plane.ready() ? 200 : 503).send({ name: model.name, ready: plane.ready() });
    });
    app.post(`${prefix}/infer`, { config: { protocol: 'v2' } satisfies RouteConfig }, async (request, reply) => {
      const model = modelFor(request.params);
      if (request.body instanceof CsvBody) return reply.status(415).send({ error: 'the v2 protocol takes application/json' });
      const parsed = parseInferRequest(model, request.body);
      const outputs = await plane.predict(model, parsed.feeds, parsed.outputs);
      return reply.type('application/json').send(inferResponseJson(model, parsed.id, outputs));
    });
  }
}

/** Re-resolves a moving model URI every `pollMs` and hot-swaps; returns the function that stops polling. */
function startPolling(plane: DataPlane, pollMs: number, log: FastifyInstance['log']): () => void {
  let timer: NodeJS.Timeout | undefined;
  const manager = plane.manager;
  if (!manager.moving || pollMs <= 0) return () => undefined;
  const poll = () => {
    manager
      .checkForUpdate()
      .catch((err: unknown) => {
        // The registry being away must not take serving down: keep the current version, retry next time.
        plane.metrics.swapFailures.inc({ model: manager.current.name });
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'model update check failed; still serving the current version');
      })
      .finally(() => {
        if (!plane.closing) timer = setTimeout(poll, pollMs);
      });
  };
  timer = setTimeout(poll, pollMs);
  return () => clearTimeout(timer);
}

/** The URL clients reach a listening server at (a wildcard bind is reached on loopback). */
function listeningUrl(server: http.Server, host: string, fallbackPort: number | undefined): string {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : fallbackPort;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${urlHost}:${port}`;
}

/**
 * Stops accepting, answers what is in flight, then stops the workers. Fastify answers 503 on kept-alive
 * connections and waits for in-flight requests; answers sent while closing carry Connection: close, and
 * idle keep-alive sockets are swept so the wait ends as soon as the last in-flight answer is out.
 */
async function drain(app: FastifyInstance, grpcFront: RunningGrpcFront | undefined, plane: DataPlane, stopPolling: () => void): Promise<void> {
  plane.closing = true;
  stopPolling();
  plane.manager.stop();
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await Promise.all([app.close(), grpcFront?.close()]);
  } finally {
    clearInterval(sweep);
  }
  await plane.close();
}

function grpcOptions(opts: InferenceServerOptions, host: string, bodyLimit: number) {
  return { host, port: opts.grpcPort ?? 0, maxMessageBytes: bodyLimit, serverName: 'mlops-inference', serverVersion: INFERENCE_SERVER_VERSION };
}

/** Builds and starts the inference server: loads the model into the worker pool first, then listens. */
export async function startInferenceServer(opts: InferenceServerOptions): Promise<RunningInferenceServer> {
  batchSettings(opts);
  const bodyLimit = opts.bodyLimit ?? 10 * 1024 * 1024;
  // The prediction endpoints' lean path answers first; what it does not take goes to Fastify.
  const front: { hot?: HotPath } = {};
  const app = createHttpApp(opts, bodyLimit, () => front.hot);
  let plane: DataPlane;
  try {
    plane = await DataPlane.start(opts, app.log);
  } catch (err) {
    await app.close();
    throw err;
  }
  installBodyParsers(app);
  installHooks(app, plane);
  const hot = (front.hot = leanPath(app, plane, bodyLimit));
  registerServiceRoutes(app, plane, opts.metricsText ?? (() => plane.metrics.registry.metrics()));
  registerInvocations(app, plane);
  registerV2Routes(app, plane);
  const host = opts.host ?? '127.0.0.1';
  let grpcFront: RunningGrpcFront | undefined;
  try {
    await app.listen({ host, port: opts.port ?? 8080 });
    if (opts.grpcPort !== undefined) grpcFront = await startGrpcFront(plane, grpcOptions(opts, host, bodyLimit), app.log);
  } catch (err) {
    await app.close();
    await plane.pool.close();
    throw err;
  }
  const stopPolling = startPolling(plane, opts.pollIntervalMs ?? 30_000, app.log);
  let closed: Promise<void> | undefined;
  return {
    url: listeningUrl(app.server, host, opts.port),
    grpcAddress: grpcFront?.address,
    app,
    metrics: plane.metrics,
    registry: plane.metrics.registry,
    model: () => plane.current,
    leanRequests: () => hot.taken,
    checkForUpdate: () => plane.manager.checkForUpdate(),
    close: () => (closed ??= drain(app, grpcFront, plane, stopPolling)),
  };
}
