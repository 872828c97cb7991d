import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from '../../core/errors';
import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_SIZE } from './batcher';

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer between ${min} and ${max}`);
    return n;
  };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

interface ServeOptions {
  modelUri: string;
  name?: string;
  host: string;
  port: number;
  grpcPort?: number;
  workers?: number;
  maxBatchSize: number;
  maxBatchBytes: number;
  maxBatchDelayMs: number;
  maxQueue: number;
  maxBodyBytes: number;
  trackingUri?: string;
  pollInterval: number;
  driftPsiThreshold: number;
  listeners: number;
}

/** `mlops serve`: flags as `mlflow models serve` (-m, --host, -p) plus the server's own concurrency limits. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve an ONNX model (MLflow /invocations, Open Inference Protocol v2, /metrics)')
    .requiredOption(
      '-m, --model-uri <uri>',
      'models:/<name>@<alias>, models:/<name>/<version|stage>, runs:/<run_id>/<path>, a .onnx file or an MLflow model directory',
    )
    .addOption(new Option('--name <name>', 'name to serve the model under (default: registered model or file name)'))
    .addOption(new Option('-h, --host <host>', 'interface to bind').env('MLOPS_SERVE_HOST').default('127.0.0.1'))
    .addOption(new Option('-p, --port <port>', 'port (0 = any free port)').env('MLOPS_SERVE_PORT').default(8080).argParser(integer(0, 65535)))
    .addOption(
      new Option(
        '--grpc-port <port>',
        'port of the Open Inference Protocol gRPC service (inference.GRPCInferenceService; 0 = any free port; default: no gRPC listener)',
      )
        .env('MLOPS_SERVE_GRPC_PORT')
        .argParser(integer(0, 65535)),
    )
    .addOption(
      new Option('-w, --workers <n>', 'worker threads running onnxruntime sessions; 0 runs them on the HTTP thread, for small models (default: CPU cores)')
        .env('MLOPS_SERVE_WORKERS')
        .argParser(integer(0, 256)),
    )
    .addOption(
      new Option('--max-batch-size <rows>', 'rows merged into one session run (1 disables batching)')
        .env('MLOPS_SERVE_MAX_BATCH_SIZE')
        .default(DEFAULT_MAX_BATCH_SIZE)
        .argParser(integer(1, 65536)),
    )
    .addOption(
      new Option('--max-batch-bytes <n>', 'input bytes merged into one session run (a larger request runs alone)')
        .env('MLOPS_SERVE_MAX_BATCH_BYTES')
        .default(DEFAULT_MAX_BATCH_BYTES)
        .argParser(integer(1)),
    )
    .addOption(
      new Option(
        '--max-batch-delay-ms <ms>',
        'wait up to this long for a batch to fill (0 = no timer: the requests read in one event-loop turn plus those queued while workers were busy)',
      )
        .env('MLOPS_SERVE_MAX_BATCH_DELAY_MS')
        .default(0)
        .argParser(nonNegative),
    )
    .addOption(
      new Option('--max-queue <n>', 'queued requests before answering 503 with Retry-After').env('MLOPS_SERVE_MAX_QUEUE').default(256).argParser(integer(1)),
    )
    .addOption(
      new Option('--max-body-bytes <n>', 'request body limit (413 above)')
        .env('MLOPS_SERVE_MAX_BODY_BYTES')
        .default(10 * 1024 * 1024)
        .argParser(integer(1)),
    )
    .addOption(new Option('--tracking-uri <url>', 'tracking server for models:/ and runs:/ URIs').env('MLFLOW_TRACKING_URI'))
    .addOption(
      new Option('--poll-interval <seconds>', 'how often an alias or stage is re-resolved for a hot swap (0 = never)')
        .env('MLOPS_SERVE_POLL_INTERVAL')
        .default(30)
        .argParser(nonNegative),
    )
    .addOption(
      new Option(
        '--listeners <n>',
        'HTTP listener processes sharing the port (node:cluster, round-robin connections); --workers session threads are split across them',
      )
        .env('MLOPS_SERVE_LISTENERS')
        .default(1)
        .argParser(integer(1, 64)),
    )
    .addOption(
      new Option('--drift-psi-threshold <psi>', 'PSI above which an input feature counts as drifted (mlops_drift_detected on /metrics)')
        .env('MLOPS_DRIFT_PSI_THRESHOLD')
        .default(0.2)
        .argParser(positive),
    )
    .action(serveAction);
}

/** One server (or, with --listeners N > 1 in the primary, the supervisor of N listener processes). */
async function serveAction(opts: ServeOptions): Promise<void> {
  const listeners = await import('./listeners');
  const index = listeners.listenerIndex();
  if (opts.listeners > 1 && index === undefined) return servePrimary(opts);
  const { startInferenceServer } = await import('./server');
  const { default: os } = await import('node:os');
  const workers =
    index === undefined || opts.workers === 0 ? opts.workers : Math.max(1, Math.ceil((opts.workers ?? os.availableParallelism()) / opts.listeners));
  // Drift monitoring against the reference stats `mlops train` logs with the model (runtime/monitoring).
  const { PredictionMonitor } = await import('../monitoring');
  const monitor = new PredictionMonitor({ psiThreshold: opts.driftPsiThreshold });
  let server;
  let clusterText: (() => Promise<string>) | undefined;
  try {
    server = await startInferenceServer({
      model: opts.modelUri,
      modelName: opts.name,
      host: opts.host,
      port: opts.port,
      grpcPort: opts.grpcPort,
      workers,
      maxBatchSize: opts.maxBatchSize,
      maxBatchBytes: opts.maxBatchBytes,
      maxBatchDelayMs: opts.maxBatchDelayMs,
      maxQueue: opts.maxQueue,
      bodyLimit: opts.maxBodyBytes,
      trackingUri: opts.trackingUri,
      pollIntervalMs: opts.pollInterval * 1000,
      registerMetrics: monitor.registerMetrics,
      onPrediction: monitor.onPrediction,
      // A listener's /metrics is the primary's aggregate of all listeners.
      metricsText: index === undefined ? undefined : () => (clusterText ? clusterText() : Promise.reject(new Error('cluster metrics are not set up yet'))),
    });
    if (index !== undefined) clusterText = listeners.clusterMetrics(server.registry);
    const running = server;
    monitor.attach(() => running.model());
  } catch (err) {
    throw new CliError(`cannot serve ${opts.modelUri}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const model = server.model();
  if (index === undefined)
    server.app.log.info(
      { url: server.url, grpc: server.grpcAddress, model: model.name, version: model.version, source: opts.modelUri },
      'inference server listening',
    );
  else {
    server.app.log.info({ listener: index, pid: process.pid, workers }, 'inference listener ready');
    listeners.reportListening(server.url);
  }
  // SIGTERM (Kubernetes) and SIGINT: stop accepting, answer what is in flight, then exit.
  const running = server;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.app.log.info({ signal }, 'draining');
    await running.close();
    if (index !== undefined) running.app.log.info({ listener: index, answered: running.metrics.answered }, 'inference listener stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  // A listener whose primary went away stops too.
  if (index !== undefined) process.once('disconnect', () => void stop('disconnect'));
}

/** `--listeners N` (N > 1): this process only forks and supervises the listeners. */
async function servePrimary(opts: ServeOptions): Promise<void> {
  const { startListeners } = await import('./listeners');
  const { default: pino } = await import('pino');
  const log = pino({ level: process.env.MLOPS_LOG_LEVEL ?? 'info' });
  let primary;
  try {
    primary = await startListeners({ listeners: opts.listeners, log });
  } catch (err) {
    throw new CliError(`cannot serve ${opts.modelUri}: ${err instanceof Error ? err.message : String(err)}`);
  }
  log.info({ url: primary.url, listeners: opts.listeners, pids: primary.pids(), source: opts.modelUri }, 'inference server listening');
  const running = primary;
  const stop = async (signal: string) => {
    log.info({ signal }, 'draining all listeners');
    await running.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
