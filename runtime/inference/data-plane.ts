/**
 * What every protocol front end of the inference server shares (as KServe's model server shares one data
 * plane between its REST and gRPC servers): the worker pool, the batcher, the model manager, the metrics,
 * the prediction hook and the draining flag. The front ends parse and encode; this runs and counts.
 */
import * as os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import { Batcher, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_SIZE } from './batcher';
import { InferenceMetrics } from './metrics';
import type { LoadedModel } from './model';
import { ModelManager, type ModelManagerOptions } from './model-manager';
import { InlineRunner } from './inline-runner';
import { SessionPool, type SessionRunner } from './pool';
import { PredictionNotifier, type PredictionHook } from './prediction-hook';
import type { TensorData } from './tensors';

export interface DataPlaneOptions extends ModelManagerOptions {
  /**
   * Worker threads running onnxruntime sessions; 0 runs them on the HTTP thread (InlineRunner: for models
   * whose run costs less than a worker round trip). @default os.availableParallelism()
   */
  workers?: number;
  /**
   * Rows per merged session run; 1 disables adaptive batching. Large enough that requests of many rows
   * still merge: a session run costs mostly per call, not per row (README, inference benchmarks). @default 1024
   */
  maxBatchSize?: number;
  /** Input bytes per merged session run (maxBatchBytes in batcher.ts). @default 16 MiB */
  maxBatchBytes?: number;
  /** Wait up to this long for a batch to fill; 0 = no timer. @default 0 */
  maxBatchDelayMs?: number;
  /** Requests waiting for a worker before new ones are refused as unavailable. @default 256 */
  maxQueue?: number;
  /** Seconds in the Retry-After header of 503 answers. @default 1 */
  retryAfterSeconds?: number;
  onPrediction?: PredictionHook;
  /** Register extra prom-client metrics on the server's registry. */
  registerMetrics?: (registry: Registry) => void;
  /** Node process metrics on /metrics. @default true */
  defaultMetrics?: boolean;
}

interface BatchSettings {
  maxBatchSize: number;
  maxBatchBytes: number;
  maxQueue: number;
  maxBatchDelayMs: number;
}

/** The batching options, checked before anything starts. */
export function batchSettings(opts: DataPlaneOptions): BatchSettings {
  const maxBatchSize = opts.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const maxQueue = opts.maxQueue ?? 256;
  const maxBatchDelayMs = opts.maxBatchDelayMs ?? 0;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new Error(`max batch size must be a positive integer, got ${maxBatchSize}`);
  if (!Number.isInteger(maxBatchBytes) || maxBatchBytes < 1) throw new Error(`max batch bytes must be a positive integer, got ${maxBatchBytes}`);
  if (!Number.isInteger(maxQueue) || maxQueue < 1) throw new Error(`max queue must be a positive integer, got ${maxQueue}`);
  if (!(maxBatchDelayMs >= 0)) throw new Error(`max batch delay must be >= 0 ms, got ${maxBatchDelayMs}`);
  return { maxBatchSize, maxBatchBytes, maxQueue, maxBatchDelayMs };
}

/** A model name (and version) a request names that this server does not serve. */
export class ModelNotFoundError extends Error {
  readonly statusCode = 404;
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

export class DataPlane {
  /** True once the server is draining: not ready, new requests refused, answers close connections. */
  closing = false;
  /** Retry-After of 503 answers. */
  readonly retryAfter: string;

  private constructor(
    readonly metrics: InferenceMetrics,
    readonly pool: SessionRunner,
    readonly batcher: Batcher,
    readonly manager: ModelManager,
    readonly notifier: PredictionNotifier,
    opts: DataPlaneOptions,
  ) {
    this.retryAfter = String(opts.retryAfterSeconds ?? 1);
  }

  /** Starts the workers and loads the model; on failure everything started is stopped again. */
  static async start(opts: DataPlaneOptions, log: FastifyBaseLogger): Promise<DataPlane> {
    const { maxBatchSize, maxBatchBytes, maxBatchDelayMs, maxQueue } = batchSettings(opts);
    // The pool calls the batcher back when a worker is free, and the batcher runs on the pool.
    const ref: { batcher?: Batcher } = {};
    const metrics = new InferenceMetrics(() => ref.batcher?.depth ?? 0, { defaultMetrics: opts.defaultMetrics });
    const onIdle = () => (maxBatchSize > 1 ? ref.batcher?.schedule() : ref.batcher?.pump());
    const workers = opts.workers ?? os.availableParallelism();
    const pool: SessionRunner =
      workers === 0
        ? new InlineRunner({ onIdle })
        : new SessionPool({ size: workers, onIdle, onWorkerError: (err) => log.error({ err }, 'inference worker died; replaced') });
    const batcher = (ref.batcher = new Batcher(pool, {
      maxBatchSize,
      maxBatchBytes,
      maxBatchDelayMs,
      maxQueue,
      onBatch: (m, rows) => metrics.batchSize.observe({ model: m.name }, rows),
    }));
    try {
      const manager = new ModelManager(opts, pool, batcher, metrics, log);
      await manager.loadInitial();
      opts.registerMetrics?.(metrics.registry);
      const notifier = new PredictionNotifier(opts.onPrediction, (err) => log.warn({ err }, 'onPrediction hook failed'));
      return new DataPlane(metrics, pool, batcher, manager, notifier, opts);
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** The model version answering new requests. */
  get current(): LoadedModel {
    return this.manager.current;
  }

  ready(): boolean {
    return !this.closing;
  }

  /** The served model when a request names it (and, optionally, its loaded version); 404 otherwise. */
  modelFor(name: string, version?: string): LoadedModel {
    const model = this.manager.current;
    if (name !== model.name) throw new ModelNotFoundError(`model '${name}' is not served here (this server serves '${model.name}')`);
    if (version !== undefined && version !== model.version)
      throw new ModelNotFoundError(`model '${model.name}' version ${version} is not loaded (serving version ${model.version})`);
    return model;
  }

  /** Runs one request through the batcher and tells the prediction hook. */
  async predict(model: LoadedModel, feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, TensorData>> {
    const result = await this.batcher.submit(model, feeds, outputs);
    this.notifier.notify(model, feeds, result);
    return result;
  }

  /** After the front ends stopped: waits for queued work, then stops the workers. */
  async close(): Promise<void> {
    await this.batcher.drained();
    this.batcher.close();
    await this.pool.close();
  }
}
