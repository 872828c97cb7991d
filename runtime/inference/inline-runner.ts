/**
 * Sessions run on the HTTP thread itself (`--workers 0`, MLServer's `parallel_workers: 0`). For a model
 * whose run costs a few microseconds, handing each batch to a worker thread costs more than the run: the
 * message is copied in and out and a sleeping thread is woken. Here the run happens in place, one batch
 * at a time, so requests that arrive meanwhile still queue and merge; the event loop is blocked for the
 * length of each run, which is why this is for small models only and never the default.
 */
import type * as ort from 'onnxruntime-node';
import type { SessionRunner } from './pool';
import { createSession, runSession, sessionIo, type SessionIo } from './session';
import type { TensorData } from './tensors';

export interface InlineRunnerOptions {
  /** onnxruntime intra-op threads per session. Default 1. */
  intraOpNumThreads?: number;
  /** Called whenever the running batch is done (the batcher dispatches the next one). */
  onIdle?: () => void;
}

export class InlineRunner implements SessionRunner {
  readonly size = 1;
  private readonly sessions = new Map<string, ort.InferenceSession>();
  private running = false;
  private closed = false;

  constructor(private readonly opts: InlineRunnerOptions = {}) {}

  get busyCount(): number {
    return this.running ? 1 : 0;
  }

  async load(key: string, file: string): Promise<SessionIo> {
    let session: ort.InferenceSession;
    try {
      session = await createSession(file, this.opts.intraOpNumThreads ?? 1);
    } catch (err) {
      throw new Error(`onnxruntime cannot load ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.sessions.set(key, session);
    return sessionIo(session);
  }

  unload(key: string): void {
    const session = this.sessions.get(key);
    this.sessions.delete(key);
    void session?.release();
  }

  idleWorker(): number {
    return this.running || this.closed ? -1 : 0;
  }

  async run(index: number, key: string, feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, TensorData>> {
    const session = this.sessions.get(key);
    if (index !== 0 || this.running) throw new Error('internal: inline runner not idle');
    if (!session) throw new Error(`model ${key} is not loaded`);
    this.running = true;
    try {
      return await runSession(session, feeds, outputs);
    } finally {
      this.running = false;
      if (!this.closed) queueMicrotask(() => this.opts.onIdle?.());
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.release()));
  }
}
