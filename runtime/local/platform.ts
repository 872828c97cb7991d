import * as path from 'node:path';
import { MlflowApiError, MlflowClient, type ModelVersion } from '../mlflow';
import { FEATURES, featureMatrix, generateChurnData, runTraining, type TrainingResult } from '../training';
import { PredictionMonitor } from '../monitoring';
import type { RunningTrackingServer } from '../tracking/server';
import type { RunningInferenceServer } from '../inference/server';

export interface LocalPlatformOptions {
  /** Where the SQLite store and artifacts live. Default `./.mlops` (MLOPS_LOCAL_DIR). */
  dataDir?: string;
  /** Interface both servers bind. Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Tracking server port; 0 = any free port. Default 5000 (MLflow's). */
  trackingPort?: number;
  /** Inference server port; 0 = any free port. Default 8080. */
  inferencePort?: number;
  /** Experiment of the demo run. Default `churn`. */
  experiment?: string;
  /** Registered model. Default `churn-predictor`. */
  modelName?: string;
  /** Alias the inference server follows. Default `champion`. */
  alias?: string;
  /** Train a new version even when the alias already points at one (from an earlier start). Default false. */
  forceTraining?: boolean;
  /** How often the inference server re-resolves the alias (hot swap after `mlops promote`). Default 5000 ms. */
  pollIntervalMs?: number;
  /** Drift threshold for the served model's inputs. Default 0.2. */
  driftPsiThreshold?: number;
  /** Inference worker threads. Default 2 (a laptop shares its cores with the tracking server). */
  workers?: number;
  /** Server log level (pino). Default MLOPS_LOG_LEVEL or `warn`: the banner is the interface here. */
  logLevel?: string;
  log?: (line: string) => void;
}

export interface RunningLocalPlatform {
  trackingUrl: string;
  inferenceUrl: string;
  modelUri: string;
  /** The version serving started with. */
  version: ModelVersion;
  /** Present when this start trained a version. */
  training?: TrainingResult;
  tracking: RunningTrackingServer;
  inference: RunningInferenceServer;
  monitor: PredictionMonitor;
  /** A request body that works against the served model (dataframe_split of generated customers). */
  exampleRequest: { columns: string[]; data: number[][] };
  /** The banner: URLs, a curl example, next steps. */
  banner: string;
  close(): Promise<void>;
}

function portInUse(err: unknown, what: string, port: number, flag: string): Error {
  if ((err as { code?: string }).code === 'EADDRINUSE') return new Error(`port ${port} is in use: stop what runs there or pick another with ${flag} <port> (0 = any free port) for the ${what}`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The local platform `npm start` runs: the tracking server on the embedded SQLite store with local
 * artifacts, the churn model trained, logged, registered and aliased, and the inference server following
 * the alias with drift monitoring — the cluster's loop on one machine.
 */
export async function startLocalPlatform(opts: LocalPlatformOptions = {}): Promise<RunningLocalPlatform> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir ?? process.env.MLOPS_LOCAL_DIR ?? '.mlops');
  const host = opts.host ?? '127.0.0.1';
  const modelName = opts.modelName ?? 'churn-predictor';
  const alias = opts.alias ?? 'champion';
  const level = opts.logLevel ?? process.env.MLOPS_LOG_LEVEL ?? 'warn';
  const trackingPort = opts.trackingPort ?? 5000;
  const inferencePort = opts.inferencePort ?? 8080;

  const { startTrackingServer } = await import('../tracking/server');
  const { startInferenceServer } = await import('../inference/server');
  let tracking: RunningTrackingServer;
  try {
    tracking = await startTrackingServer({
      host,
      port: trackingPort,
      backendStoreUri: `sqlite:///${path.join(dataDir, 'mlflow.db')}`,
      artifactsDestination: path.join(dataDir, 'mlartifacts'),
      serveArtifacts: true,
      logger: { level },
    });
  } catch (err) {
    throw portInUse(err, 'tracking server', trackingPort, '--tracking-port');
  }
  log(`tracking server on ${tracking.url} (store ${path.join(dataDir, 'mlflow.db')}, artifacts ${path.join(dataDir, 'mlartifacts')})`);

  let inference: RunningInferenceServer | undefined;
  try {
    const client = new MlflowClient({ trackingUri: tracking.url, env: {} });
    let version: ModelVersion | undefined;
    let training: TrainingResult | undefined;
    if (!opts.forceTraining) {
      try {
        version = await client.getModelVersionByAlias(modelName, alias);
        log(`${modelName}@${alias} is version ${version.version} from an earlier start (--train trains a new one)`);
      } catch (err) {
        if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw err;
      }
    }
    if (!version) {
      training = await runTraining({ experiment: opts.experiment ?? 'churn', registeredModel: modelName, alias, client, log });
      version = training.version!;
    }

    const monitor = new PredictionMonitor({ psiThreshold: opts.driftPsiThreshold ?? 0.2, warn: log });
    const modelUri = `models:/${modelName}@${alias}`;
    try {
      inference = await startInferenceServer({
        model: modelUri,
        host,
        port: inferencePort,
        workers: opts.workers ?? 2,
        trackingUri: tracking.url,
        // Local credentials never apply to the embedded server.
        trackingUsername: '',
        trackingPassword: '',
        trackingToken: '',
        cacheDir: path.join(dataDir, 'model-cache'),
        pollIntervalMs: opts.pollIntervalMs ?? 5000,
        logger: { level },
        registerMetrics: monitor.registerMetrics,
        onPrediction: monitor.onPrediction,
      });
    } catch (err) {
      throw portInUse(err, 'inference server', inferencePort, '--inference-port');
    }
    const server = inference;
    monitor.attach(() => server.model());

    const example = generateChurnData({ rows: 2, seed: 2024 });
    const exampleRequest = { columns: [...FEATURES], data: featureMatrix(example) };
    const body = JSON.stringify({ dataframe_split: exampleRequest });
    const banner = [
      '',
      'MLOps local platform is running',
      `  Tracking server:  ${tracking.url}   (MLflow REST API and web UI; MLFLOW_TRACKING_URI=${tracking.url})`,
      `  Inference server: ${server.url}   (${modelUri} → version ${server.model().version}; /invocations, /v2, /metrics)`,
      training ? `  Trained run ${training.runId}: auc ${training.metrics.auc.toFixed(3)}, accuracy ${training.metrics.accuracy.toFixed(3)}` : `  Serving version ${version.version} registered earlier`,
      '',
      'Predict (probability of no churn, of churn per customer):',
      `  curl -s -X POST ${server.url}/invocations -H 'Content-Type: application/json' -d '${body}'`,
      '',
      'The loop: train a challenger, promote it behind a gate; serving swaps within seconds:',
      `  MLFLOW_TRACKING_URI=${tracking.url} npx mlops train --register ${modelName} --alias challenger --epochs 500`,
      `  MLFLOW_TRACKING_URI=${tracking.url} npx mlops promote ${modelName} --version <n> --alias ${alias} --require "metrics.auc >= 0.8"`,
      `  Drift per feature (PSI vs the training data): curl -s ${server.url}/metrics | grep mlops_feature_psi`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n');

    let closed: Promise<void> | undefined;
    return {
      trackingUrl: tracking.url,
      inferenceUrl: server.url,
      modelUri,
      version,
      training,
      tracking,
      inference: server,
      monitor,
      exampleRequest,
      banner,
      close: () =>
        (closed ??= (async () => {
          // Inference first: it drains in-flight requests and stops polling the tracking server.
          await server.close();
          await tracking.close();
        })()),
    };
  } catch (err) {
    await inference?.close().catch(() => undefined);
    await tracking.close().catch(() => undefined);
    throw err;
  }
}
