import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from '../../core/errors';

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
  workers?: number;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  maxQueue: number;
  maxBodyBytes: number;
  trackingUri?: string;
  pollInterval: number;
  driftPsiThreshold: number;
}

/** `mlops serve`: flags as `mlflow models serve` (-m, --host, -p) plus the server's own concurrency limits. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve an ONNX model (MLflow /invocations, Open Inference Protocol v2, /metrics)')
    .requiredOption('-m, --model-uri <uri>', 'models:/<name>@<alias>, models:/<name>/<version|stage>, runs:/<run_id>/<path>, a .onnx file or an MLflow model directory')
    .addOption(new Option('--name <name>', 'name to serve the model under (default: registered model or file name)'))
    .addOption(new Option('-h, --host <host>', 'interface to bind').env('MLOPS_SERVE_HOST').default('127.0.0.1'))
    .addOption(new Option('-p, --port <port>', 'port (0 = any free port)').env('MLOPS_SERVE_PORT').default(8080).argParser(integer(0, 65535)))
    .addOption(new Option('-w, --workers <n>', 'worker threads running onnxruntime sessions (default: CPU cores)').env('MLOPS_SERVE_WORKERS').argParser(integer(1, 256)))
    .addOption(new Option('--max-batch-size <rows>', 'rows merged into one session run (1 disables batching)').env('MLOPS_SERVE_MAX_BATCH_SIZE').default(32).argParser(integer(1, 65536)))
    .addOption(new Option('--max-batch-delay-ms <ms>', 'wait up to this long for a batch to fill (0 = no timer: the requests read in one event-loop turn plus those queued while workers were busy)').env('MLOPS_SERVE_MAX_BATCH_DELAY_MS').default(0).argParser(nonNegative))
    .addOption(new Option('--max-queue <n>', 'queued requests before answering 503 with Retry-After').env('MLOPS_SERVE_MAX_QUEUE').default(256).argParser(integer(1)))
    .addOption(new Option('--max-body-bytes <n>', 'request body limit (413 above)').env('MLOPS_SERVE_MAX_BODY_BYTES').default(10 * 1024 * 1024).argParser(integer(1)))
    .addOption(new Option('--tracking-uri <url>', 'tracking server for models:/ and runs:/ URIs').env('MLFLOW_TRACKING_URI'))
    .addOption(new Option('--poll-interval <seconds>', 'how often an alias or stage is re-resolved for a hot swap (0 = never)').env('MLOPS_SERVE_POLL_INTERVAL').default(30).argParser(nonNegative))
    .addOption(new Option('--drift-psi-threshold <psi>', 'PSI above which an input feature counts as drifted (mlops_drift_detected on /metrics)').env('MLOPS_DRIFT_PSI_THRESHOLD').default(0.2).argParser(positive))
    .action(async (opts: ServeOptions) => {
      const { startInferenceServer } = await import('./server');
      // Drift monitoring against the reference stats `mlops train` logs with the model (runtime/monitoring).
      const { PredictionMonitor } = await import('../monitoring');
      const monitor = new PredictionMonitor({ psiThreshold: opts.driftPsiThreshold });
      let server;
      try {
        server = await startInferenceServer({
          model: opts.modelUri,
          modelName: opts.name,
          host: opts.host,
          port: opts.port,
          workers: opts.workers,
          maxBatchSize: opts.maxBatchSize,
          maxBatchDelayMs: opts.maxBatchDelayMs,
          maxQueue: opts.maxQueue,
          bodyLimit: opts.maxBodyBytes,
          trackingUri: opts.trackingUri,
          pollIntervalMs: opts.pollInterval * 1000,
          registerMetrics: monitor.registerMetrics,
          onPrediction: monitor.onPrediction,
        });
        const running = server;
        monitor.attach(() => running.model());
      } catch (err) {
        throw new CliError(`cannot serve ${opts.modelUri}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const model = server.model();
      server.app.log.info({ url: server.url, model: model.name, version: model.version, source: opts.modelUri }, 'inference server listening');
      // SIGTERM (Kubernetes) and SIGINT: stop accepting, answer what is in flight, then exit.
      const stop = async (signal: string) => {
        server.app.log.info({ signal }, 'draining');
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
