import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { Batcher } from './batcher';
import { errorBody, errorStatus, type Protocol } from './errors';
import { hotPath, type HotPath } from './hot-path';
import { parseJsonBody } from './json-body';
import { InferenceMetrics } from './metrics';
import { describeModel, frameToFeeds, readModelFiles, type LoadedModel } from './model';
import { MlflowClient, parseModelUri, type ModelUri } from '../mlflow';
import { cachedDownload, defaultCacheDir, modelLocationIn } from './model-source';
import { SessionPool } from './pool';
import { PredictionNotifier, type PredictionHook } from './prediction-hook';
import { inferResponseJson, predictionsJson } from './protocols/encode';
import { FORMATS, parseCsv, parseJsonInvocation } from './protocols/mlflow';
import { modelMetadata, parseInferRequest } from './protocols/v2';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const INFERENCE_SERVER_VERSION: string = (require('../../package.json') as { version: string }).version;

export type { PredictionHook, PredictionInputs } from './prediction-hook';

/** Fastify's defaults for the server it would create itself (the factory below creates it instead). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface InferenceServerOptions {
  /** `models:/name@alias`, `models:/name/<version>`, `models:/name/<Stage>`, `runs:/<id>/<path>`, a `.onnx` file or an MLflow model directory. */
  model: string;
  /** Name the model is served under (v2 paths, metrics). Default: the registered model name, or the file/dir name. */
  modelName?: string;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Worker threads running onnxruntime sessions. Default os.availableParallelism(). */
  workers?: number;
  /** Rows per merged session run; 1 disables adaptive batching. Default 32. */
  maxBatchSize?: number;
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

interface Located {
  name: string;
  version: string;
  location: string;
}

/** Resolves and loads model versions and swaps them in, keeping the old one until its requests finish. */
class ModelManager {
  current!: LoadedModel;
  private loads = 0;
  private updating: Promise<boolean> | undefined;
  private readonly uri: ModelUri;
  private client?: MlflowClient;
  /** Cuts short registry calls still retrying when the server closes. */
  private readonly abort = new AbortController();

  constructor(
    private readonly opts: InferenceServerOptions,
    private readonly pool: SessionPool,
    private readonly batcher: Batcher,
    private readonly metrics: InferenceMetrics,
    private readonly log: FastifyInstance['log'] | undefined,
  ) {
    this.uri = parseModelUri(opts.model);
    if (this.uri.kind !== 'local') {
      const trackingUri = opts.trackingUri ?? process.env.MLFLOW_TRACKING_URI;
      if (!trackingUri) throw new Error(`${opts.model} needs a tracking server: set MLFLOW_TRACKING_URI or --tracking-uri`);
      // Credentials, retries, timeout and TLS fall back to MLflow's environment variables.
      this.client = new MlflowClient({
        trackingUri,
        username: opts.trackingUsername,
        password: opts.trackingPassword,
        token: opts.trackingToken,
        signal: this.abort.signal,
      });
    }
  }

  /** Alias, stage and latest URIs can move to another version; fixed versions, runs and files cannot. */
  get moving(): boolean {
    return ['alias', 'stage', 'latest'].includes(this.uri.kind);
  }

  private async locate(): Promise<Located> {
    const u = this.uri;
    const cacheDir = this.opts.cacheDir ?? defaultCacheDir();
    if (u.kind === 'local') {
      const base = path.basename(u.path.replace(/\/+$/, ''));
      return { name: this.opts.modelName ?? base.replace(/\.onnx$/, ''), version: '1', location: u.path };
    }
    const client = this.client!;
    const trackingUri = this.opts.trackingUri ?? process.env.MLFLOW_TRACKING_URI!;
    if (u.kind === 'run') {
      const dir = await cachedDownload(client, trackingUri, u.uri, cacheDir);
      return { name: this.opts.modelName ?? path.posix.basename(u.path), version: u.runId, location: modelLocationIn(dir) };
    }
    const resolved = await client.resolveModelVersion(u);
    if (this.current && resolved.version === this.current.version && resolved.name === this.current.name)
      return { name: resolved.name, version: resolved.version, location: '' };
    const dir = await cachedDownload(client, trackingUri, resolved.artifactUri, cacheDir);
    return { name: this.opts.modelName ?? resolved.name, version: resolved.version, location: modelLocationIn(dir) };
  }

  private async load(found: Located): Promise<LoadedModel> {
    const files = readModelFiles(found.location);
    const key = `${found.name}@${found.version}#${++this.loads}`;
    const io = await this.pool.load(key, files.onnxPath);
    try {
      return describeModel(found.name, found.version, this.opts.model, key, files, io);
    } catch (err) {
      this.pool.unload(key);
      throw err;
    }
  }

  /** Stops registry calls in flight (a poll retrying against a tracking server that went away). */
  stop(): void {
    this.abort.abort();
  }

  async loadInitial(): Promise<LoadedModel> {
    this.current = await this.load(await this.locate());
    this.metrics.modelVersion.set({ model: this.current.name, version: this.current.version, source: this.opts.model }, 1);
    return this.current;
  }

  checkForUpdate(): Promise<boolean> {
    // One check at a time: a slow download must not start a second one for the same version.
    this.updating ??= this.update().finally(() => (this.updating = undefined));
    return this.updating;
  }

  private async update(): Promise<boolean> {
    const found = await this.locate();
    if (found.version === this.current.version) return false;
    const next = await this.load(found);
    const old = this.current;
    // The swap is one assignment: requests already holding `old` finish on its sessions.
    this.current = next;
    this.metrics.swaps.inc({ model: next.name });
    this.metrics.modelVersion.remove({ model: old.name, version: old.version, source: this.opts.model });
    this.metrics.modelVersion.set({ model: next.name, version: next.version, source: this.opts.model }, 1);
    this.log?.info({ model: next.name, from: old.version, to: next.version }, 'swapped to a new model version');
    this.retire(old);
    return true;
  }

  /** Unloads a swapped-out version once nothing queued or running still uses it. */
  private retire(old: LoadedModel): void {
    const check = () => {
      if (this.batcher.pending(old.key) > 0) return void setTimeout(check, 50).unref();
      this.pool.unload(old.key);
    };
    check();
  }
}

class CsvBody {
  constructor(readonly text: string) {}
}

interface RouteConfig {
  protocol?: Protocol;
}

/** Builds and starts the inference server: loads the model into the worker pool first, then listens. */
export async function startInferenceServer(opts: InferenceServerOptions): Promise<RunningInferenceServer> {
  const maxBatchSize = opts.maxBatchSize ?? 32;
  const maxQueue = opts.maxQueue ?? 256;
  const maxBatchDelayMs = opts.maxBatchDelayMs ?? 0;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new Error(`max batch size must be a positive integer, got ${maxBatchSize}`);
  if (!Number.isInteger(maxQueue) || maxQueue < 1) throw new Error(`max queue must be a positive integer, got ${maxQueue}`);
  if (!(maxBatchDelayMs >= 0)) throw new Error(`max batch delay must be >= 0 ms, got ${maxBatchDelayMs}`);
  const retryAfter = String(opts.retryAfterSeconds ?? 1);

  const bodyLimit = opts.bodyLimit ?? 10 * 1024 * 1024;
  // The prediction endpoints' lean path answers first; what it does not take goes to Fastify.
  let hot: HotPath | undefined;
  const app = Fastify({
    serverFactory: (handler) => {
      const server = http.createServer((req, res) => {
        if (!hot?.take(req, res)) handler(req, res);
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
  let batcher!: Batcher;
  const metrics = new InferenceMetrics(() => batcher?.depth ?? 0, { defaultMetrics: opts.defaultMetrics });
  const pool = new SessionPool({
    size: opts.workers ?? os.availableParallelism(),
    onIdle: () => (maxBatchSize > 1 ? batcher.schedule() : batcher.pump()),
    onWorkerError: (err) => app.log.error({ err }, 'inference worker died; replaced'),
  });
  batcher = new Batcher(pool, { maxBatchSize, maxBatchDelayMs, maxQueue, onBatch: (m, rows) => metrics.batchSize.observe({ model: m.name }, rows) });
  let manager: ModelManager;
  try {
    manager = new ModelManager(opts, pool, batcher, metrics, app.log);
    await manager.loadInitial();
    opts.registerMetrics?.(metrics.registry);
  } catch (err) {
    await pool.close();
    await app.close();
    throw err;
  }
  let closing = false;

  // Only JSON and CSV (Fastify's default text/plain parser would turn 415s into 400s).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, new CsvBody(body as string)));

  app.setErrorHandler((err, request, reply) => {
    const { status, code, message } = errorStatus(err);
    if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
    if (status === 503) reply.header('retry-after', retryAfter);
    reply.status(status).send(errorBody(request.url.startsWith('/v2') ? 'v2' : 'mlflow', code, message));
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `no endpoint ${request.method} ${request.url.split('?')[0]}`;
    reply.status(404).send(request.url.startsWith('/v2') ? { error: message } : { error_code: 'ENDPOINT_NOT_FOUND', message });
  });
  app.addHook('onResponse', (request, reply, done) => {
    const protocol = (request.routeOptions.config as RouteConfig | undefined)?.protocol;
    if (protocol) metrics.recordRequest(manager.current.name, protocol, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  const notifier = new PredictionNotifier(opts.onPrediction, (err) => app.log.warn({ err }, 'onPrediction hook failed'));
  const notify = notifier.notify.bind(notifier);
  hot = hotPath({
    bodyLimit,
    retryAfter,
    batcher,
    notifier,
    current: () => manager.current,
    closing: () => closing,
    record: (model, protocol, status, seconds) => metrics.recordRequest(model.name, protocol, status, seconds),
    logError: (err) => app.log.error({ err }, 'request failed'),
  });

  // Health, as MLflow's scoring server and Kubernetes probes use it: 200 once the model is loaded.
  const ready = () => !closing;
  const ping = async (_req: FastifyRequest, reply: FastifyReply) =>
    ready() ? reply.type('text/plain').send('\n') : reply.status(503).type('text/plain').send('shutting down\n');
  app.get('/ping', ping);
  app.get('/health', ping);
  app.get('/version', async (_req, reply) => reply.type('text/plain').send(INFERENCE_SERVER_VERSION));
  const metricsText = opts.metricsText ?? (() => metrics.registry.metrics());
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metricsText()));

  app.post('/invocations', { config: { protocol: 'mlflow' } satisfies RouteConfig }, async (request, reply) => {
    const model = manager.current;
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
    const outputs = await batcher.submit(model, parsed.feeds);
    notify(model, parsed.feeds, outputs);
    return reply.type('application/json').send(predictionsJson(outputs, parsed.tabular));
  });

  // Open Inference Protocol v2.
  const modelFor = (params: { name: string; version?: string }): LoadedModel => {
    const model = manager.current;
    if (params.name !== model.name)
      throw Object.assign(new Error(`model '${params.name}' is not served here (this server serves '${model.name}')`), { statusCode: 404 });
    if (params.version !== undefined && params.version !== model.version)
      throw Object.assign(new Error(`model '${model.name}' version ${params.version} is not loaded (serving version ${model.version})`), { statusCode: 404 });
    return model;
  };
  app.get('/v2', async () => ({ name: 'mlops-inference', version: INFERENCE_SERVER_VERSION, extensions: [] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => reply.status(ready() ? 200 : 503).send({ ready: ready() }));
  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(prefix, async (request) => modelMetadata(modelFor(request.params as { name: string })));
    app.get(`${prefix}/ready`, async (request, reply) => {
      const model = modelFor(request.params as { name: string });
      return reply.status(ready() ? 200 : 503).send({ name: model.name, ready: ready() });
    });
    app.post(`${prefix}/infer`, { config: { protocol: 'v2' } satisfies RouteConfig }, async (request, reply) => {
      const model = modelFor(request.params as { name: string; version?: string });
      if (request.body instanceof CsvBody) return reply.status(415).send({ error: 'the v2 protocol takes application/json' });
      const parsed = parseInferRequest(model, request.body);
      const outputs = await batcher.submit(model, parsed.feeds, parsed.outputs);
      notify(model, parsed.feeds, outputs);
      return reply.type('application/json').send(inferResponseJson(model, parsed.id, outputs));
    });
  }

  let pollTimer: NodeJS.Timeout | undefined;
  try {
    await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
  } catch (err) {
    await pool.close();
    throw err;
  }
  const pollMs = opts.pollIntervalMs ?? 30_000;
  if (manager.moving && pollMs > 0) {
    const poll = () => {
      manager
        .checkForUpdate()
        .catch((err) => {
          // The registry being away must not take serving down: keep the current version, retry next time.
          metrics.swapFailures.inc({ model: manager.current.name });
          app.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'model update check failed; still serving the current version');
        })
        .finally(() => {
          if (!closing) pollTimer = setTimeout(poll, pollMs);
        });
    };
    pollTimer = setTimeout(poll, pollMs);
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host ?? '127.0.0.1';
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    app,
    metrics,
    registry: metrics.registry,
    model: () => manager.current,
    leanRequests: () => hot.taken,
    checkForUpdate: () => manager.checkForUpdate(),
    close: () =>
      (closed ??= (async () => {
        closing = true;
        if (pollTimer) clearTimeout(pollTimer);
        manager.stop();
        // Fastify stops accepting, answers 503 on kept-alive connections and waits for in-flight requests;
        // answers sent while closing carry Connection: close, and idle keep-alive sockets are swept so
        // the wait ends as soon as the last in-flight answer is out.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
        }
        await batcher.drained();
        batcher.close();
        await pool.close();
      })()),
  };
}
