/**
 * The lean path for the two prediction endpoints, in front of Fastify: `POST /invocations` and
 * `POST /v2/models/<served name>/infer` with `Content-Type: application/json` and a Content-Length
 * within the body limit are answered here, straight on node:http, without Fastify's per-request
 * objects, hooks and promise chain. Everything else — other content types, charset parameters, chunked
 * or empty bodies, oversized ones, query strings, trailing slashes, versioned v2 paths, a server that is
 * closing — goes on to Fastify untouched, so every refusal Fastify gives keeps its exact answer.
 *
 * Taken requests run the same parsing, validation, batching and errors as the Fastify routes
 * (parseJsonBody, parseJsonInvocation/parseInferRequest, errorStatus); the answers are the same bytes
 * with the same headers. Bodies of the common numeric shapes are read straight into tensors first
 * (direct-parse.ts); it takes only what the general parsers would accept, with the same feeds. Per request: one state object, no closures (listeners are shared functions
 * that find the state on the request) and no promise (the batcher calls the state back).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Batcher, Completion } from './batcher';
import { errorBody, errorStatus, type Protocol } from './errors';
import { parseJsonBody } from './json-body';
import type { LoadedModel } from './model';
import type { PredictionNotifier } from './prediction-hook';
import { directInfer, directInvocation } from './protocols/direct-parse';
import { inferResponseJson, predictionsJson } from './protocols/encode';
import { parseJsonInvocation } from './protocols/mlflow';
import { parseInferRequest } from './protocols/v2';
import type { TensorData } from './tensors';

export interface HotPathOptions {
  bodyLimit: number;
  /** Retry-After of 503 answers. */
  retryAfter: string;
  batcher: Batcher;
  notifier: PredictionNotifier;
  /** The model version answering new requests. */
  current(): LoadedModel;
  /** True once the server is draining: new requests go to Fastify (503), answers close the connection. */
  closing(): boolean;
  /** Counts an answer (requests_total, latency histogram). */
  record(model: LoadedModel, protocol: Protocol, status: number, seconds: number): void;
  /** A 500: logged as Fastify's error handler logs it. */
  logError(err: unknown): void;
}

/** The lean path's request listener step, and how many requests it took. */
export interface HotPath {
  /** True when it took the request, false to hand it to Fastify. */
  take(req: IncomingMessage, res: ServerResponse): boolean;
  readonly taken: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const STATE = Symbol('mlops.hotPath');

type HotIncoming = IncomingMessage & { [STATE]?: HotRequest };

class HotRequest implements Completion {
  private chunk: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private model!: LoadedModel;
  private feeds!: Record<string, TensorData>;
  private tabular = false;
  private id: string | undefined;

  constructor(
    private readonly opts: HotPathOptions,
    private readonly res: ServerResponse,
    private readonly protocol: Protocol,
    private readonly started: number,
  ) {}

  add(chunk: Buffer): void {
    if (this.chunk === undefined) this.chunk = chunk;
    else (this.chunks ??= [this.chunk]).push(chunk);
  }

  /** The body is in: parse, validate and queue it (the model is the one current now, as in the routes). */
  run(): void {
    this.model = this.opts.current();
    const raw = this.chunks ? Buffer.concat(this.chunks) : (this.chunk ?? Buffer.alloc(0));
    this.chunk = this.chunks = undefined;
    let body: unknown;
    try {
      if (this.direct(raw)) return;
      body = parseJsonBody(raw.toString('utf8'));
    } catch (err) {
      // As Fastify after a body parser error: the connection closes (the client may still be sending).
      this.reject(err as Error, true);
      return;
    }
    try {
      let outputs: string[] | undefined;
      if (this.protocol === 'v2') {
        const parsed = parseInferRequest(this.model, body);
        this.feeds = parsed.feeds;
        this.id = parsed.id;
        outputs = parsed.outputs;
      } else {
        const parsed = parseJsonInvocation(this.model, body);
        this.feeds = parsed.feeds;
        this.tabular = parsed.tabular;
      }
      this.opts.batcher.enqueue(this.model, this.feeds, outputs, this);
    } catch (err) {
      this.reject(err as Error);
    }
  }

  /**
   * A body of the common shapes, queued without JSON.parse (direct-parse.ts, which never throws);
   * false hands it to the general parser, which gives every error.
   */
  private direct(raw: Buffer): boolean {
    if (this.protocol === 'v2') {
      const parsed = directInfer(this.model, raw);
      if (!parsed) return false;
      this.feeds = parsed.feeds;
      this.id = parsed.id;
    } else {
      const parsed = directInvocation(this.model, raw);
      if (!parsed) return false;
      this.feeds = parsed.feeds;
      this.tabular = parsed.tabular;
    }
    this.opts.batcher.enqueue(this.model, this.feeds, undefined, this);
    return true;
  }

  resolve(outputs: Record<string, TensorData>): void {
    let body: string;
    try {
      body = this.protocol === 'v2' ? inferResponseJson(this.model, this.id, outputs) : predictionsJson(outputs, this.tabular);
    } catch (err) {
      this.reject(err as Error);
      return;
    }
    this.send(200, body, undefined);
    this.opts.notifier.notify(this.model, this.feeds, outputs);
  }

  reject(err: Error, closeConnection = false): void {
    const { status, code, message } = errorStatus(err);
    if (status >= 500 && status !== 503) this.opts.logError(err);
    this.send(status, JSON.stringify(errorBody(this.protocol, code, message)), status === 503 ? this.opts.retryAfter : undefined, closeConnection);
  }

  private send(status: number, body: string, retryAfter: string | undefined, closeConnection = false): void {
    const res = this.res;
    if (res.headersSent || res.destroyed) return;
    const headers =
      retryAfter === undefined
        ? ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body))]
        : ['retry-after', retryAfter, 'content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body))];
    if (closeConnection || this.opts.closing()) headers.push('connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
    this.opts.record(this.model, this.protocol, status, (performance.now() - this.started) / 1000);
  }
}

function onData(this: HotIncoming, chunk: Buffer): void {
  this[STATE]?.add(chunk);
}

function onEnd(this: HotIncoming): void {
  const state = this[STATE];
  if (!state) return;
  this[STATE] = undefined;
  state.run();
}

/** A client that went away mid-body: nothing to answer. */
function onError(this: HotIncoming): void {
  this[STATE] = undefined;
}

/** The URLs the hot path takes for a model version, built once per version. */
const inferUrls = new WeakMap<LoadedModel, string>();

export function hotPath(opts: HotPathOptions): HotPath {
  let taken = 0;
  const take = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST') return false;
    const url = req.url;
    let protocol: Protocol;
    if (url === '/invocations') protocol = 'mlflow';
    else {
      const model = opts.current();
      let infer = inferUrls.get(model);
      if (infer === undefined) inferUrls.set(model, (infer = `/v2/models/${model.name}/infer`));
      if (url !== infer) return false;
      protocol = 'v2';
    }
    const headers = req.headers;
    if (headers['content-type'] !== 'application/json' || headers['transfer-encoding'] !== undefined) return false;
    const length = Number(headers['content-length']);
    if (!(length > 0 && length <= opts.bodyLimit) || opts.closing()) return false;
    const hot = req as HotIncoming;
    hot[STATE] = new HotRequest(opts, res, protocol, performance.now());
    hot.on('data', onData);
    hot.on('end', onEnd);
    hot.on('error', onError);
    taken++;
    return true;
  };
  return {
    take,
    get taken() {
      return taken;
    },
  };
}
