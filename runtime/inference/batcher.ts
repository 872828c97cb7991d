import type { LoadedModel } from './model';
import type { SessionRunner } from './pool';
import { concatRows, sliceRows, type TensorData } from './tensors';

/**
 * Merged runs hold up to 1024 rows by default: a session run costs mostly per call, not per row (the
 * logistic regression runs 64 rows in 12 µs and 1024 in 30 µs here), so a cap of a few dozen rows left
 * requests of many rows unmerged.
 */
export const DEFAULT_MAX_BATCH_SIZE = 1024;
/** 16 MiB of input per merged run by default: about 27 224×224 RGB float32 images. */
export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;

export interface BatcherOptions {
  /** Rows merged into one session run at most. 1 disables batching. */
  maxBatchSize: number;
  /**
   * Input bytes (typed-array bytes; a string element counts its length) merged into one run at most,
   * so a row cap sized for small tabular rows does not merge hundreds of images into one run. A request
   * above either cap still runs, alone.
   */
  maxBatchBytes: number;
  /**
   * How long a batch may wait to fill before it runs, in ms. 0 (default) = no timer: batches are cut at
   * the end of the event-loop turn, so they hold the requests read in the same turn plus whatever queued
   * while all workers were busy (no added latency at low load). Above 0, MLServer's max_batch_time /
   * Triton's max_queue_delay semantics.
   */
  maxBatchDelayMs: number;
  /** Requests allowed to wait for a worker; beyond that submit() fails with QueueFullError. Default 256. */
  maxQueue: number;
  onBatch?: (model: LoadedModel, rows: number) => void;
}

/** The queue is full: the server answers 503 with Retry-After instead of growing latency without bound. */
export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the server is at capacity (${limit} requests queued); retry later`);
    this.name = 'QueueFullError';
  }
}

/** Where a request's outputs (or its failure) go: a promise's callbacks, or an object that is the request itself. */
export interface Completion {
  resolve(outputs: Record<string, TensorData>): void;
  reject(err: Error): void;
}

interface Job {
  model: LoadedModel;
  feeds: Record<string, TensorData>;
  outputs?: string[];
  rows: number;
  bytes: number;
  key: string;
  enqueuedAt: number;
  done: Completion;
}

/** Jobs merge when they run the same model version, ask for the same outputs and have the same per-row shapes. */
function batchKey(model: LoadedModel, feeds: Record<string, TensorData>, outputs?: string[]): string {
  let key = outputs === undefined ? `${model.key}|*` : `${model.key}|${outputs.join(',')}`;
  const names = Object.keys(feeds);
  if (names.length > 1) names.sort();
  for (const name of names) {
    const t = feeds[name];
    let dims = '';
    for (let i = 1; i < t.dims.length; i++) dims += i > 1 ? `x${t.dims[i]}` : String(t.dims[i]);
    key += `|${name}:${t.type}:${dims}`;
  }
  return key;
}

/** What a job's feeds weigh against maxBatchBytes. */
function feedBytes(feeds: Record<string, TensorData>): number {
  let bytes = 0;
  for (const name in feeds) {
    const data = feeds[name].data;
    if (!Array.isArray(data)) bytes += data.byteLength;
    else for (const s of data) bytes += s.length;
  }
  return bytes;
}

/**
 * Adaptive batching in front of the worker pool: one FIFO queue; whenever a worker is free the oldest
 * request and every compatible request behind it (up to maxBatchSize rows and maxBatchBytes) become one tensor run, whose
 * outputs are split back per request along the first dimension.
 */
export class Batcher {
  private queue: Job[] = [];
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private running = 0;
  private readonly pendingByModel = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly pool: SessionRunner,
    private readonly opts: BatcherOptions,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  /** Requests queued or running for a model version (the server unloads a swapped-out version at 0). */
  pending(modelKey: string): number {
    return this.pendingByModel.get(modelKey) ?? 0;
  }

  submit(model: LoadedModel, feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, TensorData>> {
    return new Promise((resolve, reject) => this.enqueue(model, feeds, outputs, { resolve, reject }));
  }

  /** submit() without a promise: `done` is called back (QueueFullError at once, when the queue is full). */
  enqueue(model: LoadedModel, feeds: Record<string, TensorData>, outputs: string[] | undefined, done: Completion): void {
    if (this.queue.length >= this.opts.maxQueue) {
      done.reject(new QueueFullError(this.opts.maxQueue));
      return;
    }
    let rows = 1;
    if (model.batchable) {
      for (const name in feeds) {
        rows = feeds[name].dims[0];
        break;
      }
    }
    const bytes = feedBytes(feeds);
    this.queue.push({ model, feeds, outputs, rows, bytes, key: batchKey(model, feeds, outputs), enqueuedAt: performance.now(), done });
    this.pendingByModel.set(model.key, this.pending(model.key) + 1);
    if (model.batchable && this.opts.maxBatchSize > 1) this.schedule();
    else this.pump();
  }

  /**
   * Dispatches at the end of this event-loop turn (setImmediate runs after the poll phase), not at once:
   * under load one turn reads many requests, and cutting the batch after all of them are parsed turns N
   * worker round trips into one. Their answers could not be written before the turn ends anyway.
   */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Dispatches queued work to free workers. Called on submit, when a worker frees up, and by the delay timer. */
  pump(): void {
    while (this.queue.length) {
      const worker = this.pool.idleWorker();
      if (worker < 0) return;
      const head = this.queue[0];
      const mergeable = head.model.batchable && this.opts.maxBatchSize > 1;
      if (mergeable && this.opts.maxBatchDelayMs > 0) {
        let rows = 0;
        let bytes = 0;
        for (const j of this.queue) {
          if (j.key !== head.key) continue;
          rows += j.rows;
          bytes += j.bytes;
        }
        const wait = head.enqueuedAt + this.opts.maxBatchDelayMs - performance.now();
        if (rows < this.opts.maxBatchSize && bytes < this.opts.maxBatchBytes && wait > 0) {
          if (!this.timer) {
            this.timer = setTimeout(() => {
              this.timer = undefined;
              this.pump();
            }, Math.ceil(wait));
          }
          return;
        }
      }
      this.queue.shift();
      const batch: Job[] = [head];
      let rows = head.rows;
      let bytes = head.bytes;
      if (mergeable) {
        const { maxBatchSize, maxBatchBytes } = this.opts;
        for (let i = 0; i < this.queue.length && rows < maxBatchSize && bytes < maxBatchBytes;) {
          const j = this.queue[i];
          if (j.key === head.key && rows + j.rows <= maxBatchSize && bytes + j.bytes <= maxBatchBytes) {
            batch.push(j);
            rows += j.rows;
            bytes += j.bytes;
            this.queue.splice(i, 1);
          } else i++;
        }
      }
      void this.execute(worker, batch, rows);
    }
  }

  private async execute(worker: number, batch: Job[], rows: number): Promise<void> {
    const head = batch[0];
    this.running++;
    try {
      const feeds: Record<string, TensorData> = {};
      for (const name of Object.keys(head.feeds)) feeds[name] = concatRows(batch.map((j) => j.feeds[name]));
      this.opts.onBatch?.(head.model, rows);
      const outputs = await this.pool.run(worker, head.model.key, feeds, head.outputs);
      if (batch.length === 1) head.done.resolve(outputs);
      else {
        for (const [name, t] of Object.entries(outputs)) {
          if (t.dims[0] !== rows) throw new Error(`output '${name}' has ${t.dims[0]} rows for a batch of ${rows}; the model cannot be batched`);
        }
        let offset = 0;
        for (const job of batch) {
          const mine: Record<string, TensorData> = {};
          for (const [name, t] of Object.entries(outputs)) mine[name] = sliceRows(t, offset, offset + job.rows);
          offset += job.rows;
          job.done.resolve(mine);
        }
      }
    } catch (err) {
      for (const job of batch) job.done.reject(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.running--;
      for (const job of batch) {
        const left = this.pending(job.model.key) - 1;
        if (left > 0) this.pendingByModel.set(job.model.key, left);
        else this.pendingByModel.delete(job.model.key);
      }
      if (this.running === 0 && this.queue.length === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        waiters.forEach((w) => w());
      }
    }
  }

  /** Resolves once nothing is queued or running (graceful shutdown). */
  drained(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const job of this.queue.splice(0)) job.done.reject(new Error('the server is shutting down'));
  }
}
