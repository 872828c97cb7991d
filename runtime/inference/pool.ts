import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SessionIo, TensorSpecWire } from './session';
import type { TensorData } from './tensors';

/**
 * Where the batcher runs batches: a pool of worker threads (SessionPool) or the HTTP thread itself
 * (InlineRunner). Each slot runs one batch at a time, which is what lets requests queue up and merge.
 */
export interface SessionRunner {
  /** Slots that can run a batch at the same time. */
  readonly size: number;
  readonly busyCount: number;
  /** Loads a model file in every slot; resolves with its input/output metadata. */
  load(key: string, file: string): Promise<SessionIo>;
  unload(key: string): void;
  /** An idle slot's index, or -1 when all are busy. */
  idleWorker(): number;
  /** Runs one batch on the given idle slot. The slot is busy until the promise settles. */
  run(index: number, key: string, feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, TensorData>>;
  close(): Promise<void>;
}

export type ToWorker =
  | { op: 'load'; id: number; key: string; path: string }
  | { op: 'unload'; key: string }
  | { op: 'run'; id: number; key: string; feeds: Record<string, TensorData>; outputs?: string[] };

export type FromWorker =
  | { op: 'loaded'; id: number; inputs: TensorSpecWire[]; outputs: TensorSpecWire[] }
  | { op: 'result'; id: number; outputs: Record<string, TensorData> }
  | { op: 'error'; id: number; message: string };

export interface PoolOptions {
  /** Worker threads, each with its own session per model. Default: os.availableParallelism(). */
  size: number;
  /** onnxruntime intra-op threads per session. Default 1: parallelism comes from the workers. */
  intraOpNumThreads?: number;
  /** Called whenever a worker becomes free (the batcher dispatches the next batch). */
  onIdle?: () => void;
  /** Reports a worker that died (it is replaced). */
  onWorkerError?: (err: Error) => void;
}

interface Pending {
  resolve: (msg: FromWorker) => void;
  reject: (err: Error) => void;
}

/** The compiled worker next to this file, or (in a checkout, under jest or tsx) the TypeScript source through tsx. */
function spawnWorker(intraOpNumThreads: number): Worker {
  const js = path.join(__dirname, 'worker.js');
  const workerData = { intraOpNumThreads };
  if (fs.existsSync(js)) return new Worker(js, { workerData });
  const ts = path.join(__dirname, 'worker.ts');
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(ts)});`;
  return new Worker(bootstrap, { eval: true, workerData });
}

class PoolWorker {
  readonly worker: Worker;
  busy = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(intraOpNumThreads: number, onExit: (w: PoolWorker, err: Error) => void) {
    this.worker = spawnWorker(intraOpNumThreads);
    this.worker.on('message', (msg: FromWorker) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      p.resolve(msg);
    });
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      onExit(this, err);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`inference worker exited with code ${code}`)));
  }

  request(
    msg: { op: 'load'; key: string; path: string } | { op: 'run'; key: string; feeds: Record<string, TensorData>; outputs?: string[] },
  ): Promise<FromWorker> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }
}

/**
 * A fixed set of worker threads. Every worker loads every model version (so any idle worker can run any
 * batch); each worker runs one batch at a time, which is what lets requests queue up and merge.
 */
export class SessionPool implements SessionRunner {
  private workers: PoolWorker[] = [];
  private readonly models = new Map<string, string>();
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new Error(`workers must be a positive integer, got ${opts.size}`);
    for (let i = 0; i < opts.size; i++) this.workers.push(this.spawn());
  }

  get size(): number {
    return this.workers.length;
  }

  private spawn(): PoolWorker {
    return new PoolWorker(this.opts.intraOpNumThreads ?? 1, (dead, err) => {
      if (this.closed) return;
      // Replace a crashed worker and give it every loaded model, so capacity recovers.
      this.opts.onWorkerError?.(err);
      const fresh = this.spawn();
      this.workers = this.workers.map((w) => (w === dead ? fresh : w));
      fresh.busy = true;
      Promise.all([...this.models].map(([key, file]) => fresh.request({ op: 'load', key, path: file })))
        .catch((reloadErr: unknown) => this.opts.onWorkerError?.(reloadErr instanceof Error ? reloadErr : new Error(String(reloadErr))))
        .finally(() => {
          fresh.busy = false;
          this.opts.onIdle?.();
        });
    });
  }

  async load(key: string, file: string): Promise<SessionIo> {
    const replies = await Promise.all(this.workers.map((w) => w.request({ op: 'load', key, path: file })));
    const bad = replies.find((r) => r.op === 'error');
    if (bad) {
      this.unload(key);
      throw new Error(`onnxruntime cannot load ${file}: ${bad.message}`);
    }
    this.models.set(key, file);
    const first = replies[0] as Extract<FromWorker, { op: 'loaded' }>;
    return { inputs: first.inputs, outputs: first.outputs };
  }

  unload(key: string): void {
    this.models.delete(key);
    for (const w of this.workers) w.worker.postMessage({ op: 'unload', key } satisfies ToWorker);
  }

  idleWorker(): number {
    return this.workers.findIndex((w) => !w.busy);
  }

  get busyCount(): number {
    return this.workers.filter((w) => w.busy).length;
  }

  async run(index: number, key: string, feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, TensorData>> {
    const w = this.workers.at(index);
    if (index < 0 || !w || w.busy) throw new Error('internal: worker not idle');
    w.busy = true;
    try {
      const reply = await w.request({ op: 'run', key, feeds, outputs });
      if (reply.op === 'error') throw new Error(reply.message);
      if (reply.op !== 'result') throw new Error('internal: unexpected worker reply');
      return reply.outputs;
    } finally {
      w.busy = false;
      if (!this.closed) queueMicrotask(() => this.opts.onIdle?.());
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
