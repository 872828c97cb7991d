import { setTimeout as delay } from 'node:timers/promises';
import { Agent, fetch, Response, type Dispatcher, type RequestInit } from 'undici';
import type { MlflowConnection } from './config';
import { errorFromResponse, MlflowApiError } from './errors';
import { isRetryableStatus, retryDelaySeconds } from './retry';

export interface MlflowRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path on the server, e.g. `/api/2.0/mlflow/runs/get` (no query). */
  readonly path: string;
  /** Query parameters; undefined values are left out. */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** A JSON body. */
  readonly json?: unknown;
  /** A raw body (artifact uploads). */
  readonly body?: Buffer;
  /** Content type of `body`. @default application/octet-stream */
  readonly contentType?: string;
}

export interface MlflowHttpHooks {
  /** Cancels waiting and in-flight requests, e.g. when the server that polls shuts down. */
  readonly signal?: AbortSignal;
  /** How to wait between attempts (tests record the waits instead of sleeping). @default a timer cut short by `signal` */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of the backoff jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** Aborts an attempt that makes no progress for `ms`: connecting, waiting for the answer, between body chunks. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  fired = false;

  constructor(private readonly ms: number) {
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(new Error(`no progress for ${this.ms / 1000} s`));
    }, this.ms);
    // The socket keeps the process alive while a request is open; a stray timer must not.
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** The same answer, its body feeding the idle timer as it streams (and stopping it at the end). */
function watchBody(res: Response, idle: IdleTimer): Response {
  if (!res.body || NULL_BODY_STATUSES.has(res.status)) {
    idle.clear();
    return res;
  }
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        idle.touch();
        controller.enqueue(chunk);
      },
      flush: () => idle.clear(),
    }),
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

const causeOf = (err: unknown): string => (err instanceof Error ? ((err as Error & { cause?: Error }).cause?.message ?? err.message) : String(err));

type Attempt = { response: Response } | { error: unknown; timedOut: boolean };

/**
 * HTTP to one tracking server with MLflow's retry policy: transient statuses (408, 429, 5xx gateway and
 * unavailable answers) and connection failures are retried with exponential backoff and jitter, honouring
 * Retry-After; every other answer that is not 2xx becomes an MlflowApiError at once.
 */
export class MlflowHttp {
  private readonly dispatcher?: Dispatcher;

  constructor(
    readonly connection: MlflowConnection,
    private readonly hooks: MlflowHttpHooks = {},
  ) {
    if (connection.tls) this.dispatcher = new Agent({ connect: { ...connection.tls } });
  }

  get trackingUri(): string {
    return this.connection.trackingUri;
  }

  /** The first 2xx answer, its body unread; throws MlflowApiError when retries run out or the answer is final. */
  async send(req: MlflowRequest): Promise<Response> {
    const url = this.url(req);
    const init = this.init(req);
    const policy = this.connection.retry;
    for (let failures = 0; ; failures++) {
      this.throwIfCancelled(req);
      const outcome = await this.attempt(url, init);
      let retryAfter: string | null = null;
      if ('response' in outcome) {
        const res = outcome.response;
        if (res.ok) return res;
        retryAfter = res.headers.get('retry-after');
        if (failures >= policy.maxRetries || !isRetryableStatus(res.status, !!retryAfter, policy)) throw await errorFromResponse(req.method, req.path, res);
        // Read the (small) error body so the connection goes back to the pool.
        await res.arrayBuffer().catch(() => undefined);
      } else {
        this.throwIfCancelled(req);
        if (failures >= policy.maxRetries) throw this.unreachable(req, outcome);
      }
      await this.wait(req, retryDelaySeconds(failures + 1, policy, retryAfter, this.hooks.random) * 1000);
    }
  }

  /** A JSON API call: the parsed answer (`{}` for an empty body). */
  async json<T>(req: MlflowRequest): Promise<T> {
    const res = await this.send(req);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new MlflowApiError(
        undefined,
        'TEMPORARILY_UNAVAILABLE',
        `${req.method} ${req.path}: the answer was cut off: ${causeOf(err)}`,
        req.method,
        req.path,
      );
    }
    if (text.trim() === '') return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new MlflowApiError(
        res.status,
        'INVALID_RESPONSE',
        `${req.method} ${req.path}: the answer is not JSON: ${text.slice(0, 200)}`,
        req.method,
        req.path,
      );
    }
  }

  private url(req: MlflowRequest): string {
    const entries = Object.entries(req.query ?? {}).filter((e): e is [string, string | number | boolean] => e[1] !== undefined);
    const query = entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}` : '';
    return `${this.connection.trackingUri}${req.path}${query}`;
  }

  private init(req: MlflowRequest): RequestInit {
    const headers: Record<string, string> = {};
    if (this.connection.authorization) headers.authorization = this.connection.authorization;
    let body: string | Buffer | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.body) {
      headers['content-type'] = req.contentType ?? 'application/octet-stream';
      body = req.body;
    }
    return { method: req.method, headers, body, dispatcher: this.dispatcher };
  }

  private async attempt(url: string, init: RequestInit): Promise<Attempt> {
    const idle = new IdleTimer(this.connection.timeoutMs);
    const signal = this.hooks.signal ? AbortSignal.any([idle.signal, this.hooks.signal]) : idle.signal;
    try {
      return { response: watchBody(await fetch(url, { ...init, signal }), idle) };
    } catch (error) {
      idle.clear();
      return { error, timedOut: idle.fired };
    }
  }

  private async wait(req: MlflowRequest, ms: number): Promise<void> {
    try {
      await (this.hooks.sleep ?? ((t, signal) => delay(t, undefined, { signal })))(ms, this.hooks.signal);
    } catch (err) {
      this.throwIfCancelled(req);
      throw err;
    }
  }

  private throwIfCancelled(req: MlflowRequest): void {
    if (this.hooks.signal?.aborted) throw new MlflowApiError(undefined, 'CANCELLED', `${req.method} ${req.path}: cancelled`, req.method, req.path);
  }

  private unreachable(req: MlflowRequest, outcome: { error: unknown; timedOut: boolean }): MlflowApiError {
    const cause = outcome.timedOut ? `no progress for ${this.connection.timeoutMs / 1000} s (MLFLOW_HTTP_REQUEST_TIMEOUT)` : causeOf(outcome.error);
    return new MlflowApiError(
      undefined,
      'TEMPORARILY_UNAVAILABLE',
      `tracking server ${this.connection.trackingUri} unreachable (${req.method} ${req.path}): ${cause}`,
      req.method,
      req.path,
    );
  }
}
