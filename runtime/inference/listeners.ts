/**
 * Several HTTP event loops for one model server (`mlops serve --listeners N`), with node:cluster: the
 * primary process owns the listening socket and hands each new connection to one of N listener
 * processes in turn (round-robin); each listener is a whole inference server with its own worker
 * threads. Node 20 has no `reusePort` listen option (SO_REUSEPORT, nodejs/node#55408, is in later majors), and
 * worker threads cannot share a socket, so processes it is.
 *
 * "The shared worker pool" across processes: a worker_threads pool belongs to one process, and sending
 * tensors to another process over IPC costs more than these models' session runs, so the pool is
 * split instead: `--workers W` session threads in total, ceil(W / N) per listener, each listener loading
 * the model itself (N copies in memory). /metrics is aggregated across listeners by the primary
 * (prom-client's AggregatorRegistry), so a scrape sees the whole server whichever listener answers it.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const LISTENING = 'mlops:listening';
const METRICS = 'mlops:metrics';

interface ListeningMessage {
  type: typeof LISTENING;
  url: string;
}
interface MetricsMessage {
  type: typeof METRICS;
  id: number;
  text?: string;
  error?: string;
}

/** IPC carries every message on one channel (prom-client's own among them): tell ours apart by their type. */
function isMessage<M extends ListeningMessage | MetricsMessage>(msg: unknown, type: M['type']): msg is M {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;
}

export interface ListenerPrimary {
  url: string;
  /** Listener process ids (for logs and tests). */
  pids(): number[];
  /** SIGTERM to every listener (each drains like a single server), resolved when all have exited. */
  stop(): Promise<void>;
}

export interface PrimaryOptions {
  listeners: number;
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * In the primary: forks the listeners (the same command line, run again as cluster workers), answers
 * their /metrics requests with the aggregate, replaces a listener that dies, and resolves once all listen.
 */
export async function startListeners(opts: PrimaryOptions): Promise<ListenerPrimary> {
  const aggregator = new AggregatorRegistry();
  const workers = new Set<Worker>();
  let stopping = false;
  let url = '';
  const fork = (index: number): Promise<string> => {
    const worker = cluster.fork({ MLOPS_LISTENER_INDEX: String(index) });
    workers.add(worker);
    worker.on('message', (msg: unknown) => {
      if (!isMessage<MetricsMessage>(msg, METRICS)) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS, id: msg.id, text } satisfies MetricsMessage),
        (err: unknown) => worker.send({ type: METRICS, id: msg.id, error: err instanceof Error ? err.message : String(err) } satisfies MetricsMessage),
      );
    });
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: unknown) => {
        if (isMessage<ListeningMessage>(msg, LISTENING)) resolve(msg.url);
      });
      worker.once('exit', (code, signal) => {
        workers.delete(worker);
        reject(new Error(`listener ${index} exited with ${signal ? `signal ${signal}` : `code ${code}`} before listening`));
        if (stopping || !url) return;
        // Like a crashed session worker: replace it, so capacity recovers.
        opts.log.error({ listener: index, code, signal }, 'inference listener died; replaced');
        fork(index).catch((err: unknown) => opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'replacement listener failed'));
      });
    });
  };
  const stop = async () => {
    stopping = true;
    await Promise.all(
      [...workers].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) {
              resolve();
              return;
            }
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const urls = await Promise.all(Array.from({ length: opts.listeners }, (_, i) => fork(i)));
    url = urls[0];
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pids: () => [...workers].flatMap((w) => w.process.pid ?? []), stop };
}

/** In a listener: the index the primary gave it, or undefined when this process is not a listener. */
export function listenerIndex(): number | undefined {
  return cluster.isWorker && process.env.MLOPS_LISTENER_INDEX !== undefined ? Number(process.env.MLOPS_LISTENER_INDEX) : undefined;
}

/** In a listener: tells the primary it listens (at `url`). */
export function reportListening(url: string): void {
  process.send?.({ type: LISTENING, url } satisfies ListeningMessage);
}

let nextId = 0;
const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();

/**
 * In a listener: its registry answers the primary's collection, and /metrics text comes from the
 * primary's aggregate of every listener.
 */
export function clusterMetrics(registry: Registry): () => Promise<string> {
  // Constructing one is what makes prom-client answer the primary's collection requests in a worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  process.on('message', (msg: unknown) => {
    if (!isMessage<MetricsMessage>(msg, METRICS)) return;
    const w = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (msg.error !== undefined) w?.reject(new Error(msg.error));
    else w?.resolve(msg.text ?? '');
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      if (!process.send) throw new Error('clusterMetrics runs in a listener process (forked with an IPC channel)');
      process.send({ type: METRICS, id } satisfies MetricsMessage);
    });
}
