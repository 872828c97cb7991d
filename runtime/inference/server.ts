import * as os from 'node:os';
import * as path from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { Batcher, QueueFullError } from './batcher';
import { InferenceMetrics } from './metrics';
import { describeModel, frameToFeeds, readModelFiles, type LoadedModel } from './model';
import { MlflowClient, parseModelUri, type ModelUri } from '../mlflow';
import { cachedDownload, defaultCacheDir, modelLocationIn } from './model-source';
import { SessionPool } from './pool';
import { FORMATS, formatPredictions, parseCsv, parseJsonInvocation } from './protocols/mlflow';
import { formatInferResponse, modelMetadata, parseInferRequest } from './protocols/v2';
import { jsonShapeProblem } from '../json-shape';
import { InputError, MAX_TENSOR_RANK, type TensorData } from './tensors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const INFERENCE_SERVER_VERSION: string = (require('../../package.json') as { version: string }).version;

/** Model inputs as the monitoring hook sees them: one array per feature (column) or per tensor input. */
/** Request-body nesting: a tensor's own levels plus the protocol's wrappers (`{"inputs": [{"data": …}]}`). */
const BODY_SHAPE = { maxDepth: MAX_TENSOR_RANK + 8, maxTokens: Number.POSITIVE_INFINITY };

export type PredictionInputs = Record<string, Float32Array | number[]>;

/**
 * Called after each successful prediction, off the request path (setImmediate after the reply is
 * sent), e.g. to feed drift metrics. Exceptions are logged and ignored.
 */
export type PredictionHook = (model: { name: string; version: string }, inputs: PredictionInputs, outputs: Record<string, TensorData>) => void;

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
}

export interface RunningInferenceServer {
  url: string;
  app: FastifyInstance;
  metrics: InferenceMetrics;
  /** The prom-client registry /metrics exports. */
  registry: Registry;
  /** The model version currently served. */
  model(): LoadedModel;
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
    if (this.current && resolved.version === this.current.version && resolved.name === this.current.name) return { name: resolved.name, version: resolved.version, location: '' };
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
  protocol?: 'mlflow' | 'v2';
}

function errorStatus(err: unknown): { status: number; code: string; message: string } {
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (err instanceof InputError) return { status: 400, code: 'BAD_REQUEST', message: err.message };
  if (err instanceof QueueFullError) return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message: err.message };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, code: 'REQUEST_LIMIT_EXCEEDED', message: 'the request body is larger than the server accepts' };
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, code: 'BAD_REQUEST', message: e.message ?? 'unsupported content type' };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, code: 'BAD_REQUEST', message: e.message ?? 'bad request' };
  return { status: 500, code: 'INTERNAL_ERROR', message: `inference failed: ${e.message ?? String(err)}` };
}

/** Per-feature inputs for the monitoring hook: columns of a matrix input are split out by name. */
function hookInputs(model: LoadedModel, feeds: Record<string, TensorData>): PredictionInputs {
  const out: PredictionInputs = {};
  const toNumbers = (data: TensorData['data'], pick?: (i: number) => number, n?: number): Float32Array | number[] | undefined => {
    if (Array.isArray(data)) return undefined;
    const len = n ?? data.length;
    if (Object.prototype.toString.call(data) === '[object Float32Array]') {
      const f = data as Float32Array;
      return pick ? Float32Array.from({ length: len }, (_, i) => f[pick(i)]) : f;
    }
    const arr = Array.from(data as ArrayLike<number | bigint>, Number);
    return pick ? Array.from({ length: len }, (_, i) => arr[pick(i)]) : arr;
  };
  if (model.layout?.kind === 'matrix' && model.layout.columns) {
    const t = feeds[model.layout.input.name];
    const k = t.dims[1];
    model.layout.columns.forEach((name, c) => {
      const v = toNumbers(t.data, (r) => r * k + c, t.dims[0]);
      if (v) out[name] = v;
    });
    return out;
  }
  for (const [name, t] of Object.entries(feeds)) {
    const v = toNumbers(t.data);
    if (v) out[name] = v;
  }
  return out;
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

  const app = Fastify({
    logger: opts.logger ?? { level: process.env.MLOPS_LOG_LEVEL ?? 'info' },
    bodyLimit: opts.bodyLimit ?? 10 * 1024 * 1024,
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
    // Depth only: a 10 MiB body of numbers is a legitimate batch, but 10 MiB of `[[[[` would hold the
    // event loop for seconds inside JSON.parse before any tensor check could refuse it.
    const problem = jsonShapeProblem(body as string, BODY_SHAPE);
    if (problem) return done(new InputError(`the request body has ${problem}; a tensor value may be nested at most ${MAX_TENSOR_RANK} levels`), undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(new InputError(`malformed JSON in the request body: ${(err as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, new CsvBody(body as string)));

  app.setErrorHandler((err, request, reply) => {
    const { status, code, message } = errorStatus(err);
    if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
    if (status === 503) reply.header('retry-after', retryAfter);
    reply.status(status).send(request.url.startsWith('/v2') ? { error: message } : { error_code: code, message });
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `no endpoint ${request.method} ${request.url.split('?')[0]}`;
    reply.status(404).send(request.url.startsWith('/v2') ? { error: message } : { error_code: 'ENDPOINT_NOT_FOUND', message });
  });
  app.addHook('onResponse', async (request, reply) => {
    const protocol = (request.routeOptions.config as RouteConfig | undefined)?.protocol;
    if (!protocol) return;
    const model = manager.current.name;
    metrics.requests.inc({ model, protocol, code: String(reply.statusCode) });
    metrics.latency.observe({ model, protocol }, reply.elapsedTime / 1000);
  });

  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  const notify = (model: LoadedModel, feeds: Record<string, TensorData>, outputs: Record<string, TensorData>) => {
    const hook = opts.onPrediction;
    if (!hook) return;
    setImmediate(() => {
      try {
        hook({ name: model.name, version: model.version }, hookInputs(model, feeds), outputs);
      } catch (err) {
        app.log.warn({ err }, 'onPrediction hook failed');
      }
    });
  };

  // Health, as MLflow's scoring server and Kubernetes probes use it: 200 once the model is loaded.
  const ready = () => !closing;
  const ping = async (_req: FastifyRequest, reply: FastifyReply) => (ready() ? reply.type('text/plain').send('\n') : reply.status(503).type('text/plain').send('shutting down\n'));
  app.get('/ping', ping);
  app.get('/health', ping);
  app.get('/version', async (_req, reply) => reply.type('text/plain').send(INFERENCE_SERVER_VERSION));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.post('/invocations', { config: { protocol: 'mlflow' } satisfies RouteConfig }, async (request, reply) => {
    const model = manager.current;
    const contentType = request.headers['content-type'] ?? '';
    const [, ...params] = contentType.split(';').map((s) => s.trim());
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim().toLowerCase());
      if (k !== 'charset') return reply.status(415).send({ error_code: 'BAD_REQUEST', message: `unrecognized content type parameter '${k}': send application/json with one of ${FORMATS.join(', ')}, or text/csv` });
      if (v !== 'utf-8' && v !== 'utf8') return reply.status(415).send({ error_code: 'BAD_REQUEST', message: 'the scoring server only supports UTF-8' });
    }
    const parsed = request.body instanceof CsvBody ? { feeds: frameToFeeds(model, parseCsv(request.body.text)), tabular: true } : parseJsonInvocation(model, request.body);
    const outputs = await batcher.submit(model, parsed.feeds);
    notify(model, parsed.feeds, outputs);
    return reply.type('application/json').send(JSON.stringify({ predictions: formatPredictions(outputs, parsed.tabular) }));
  });

  // Open Inference Protocol v2.
  const modelFor = (params: { name: string; version?: string }): LoadedModel => {
    const model = manager.current;
    if (params.name !== model.name) throw Object.assign(new Error(`model '${params.name}' is not served here (this server serves '${model.name}')`), { statusCode: 404 });
    if (params.version !== undefined && params.version !== model.version) throw Object.assign(new Error(`model '${model.name}' version ${params.version} is not loaded (serving version ${model.version})`), { statusCode: 404 });
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
      return reply.type('application/json').send(JSON.stringify(formatInferResponse(model, parsed.id, outputs)));
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
