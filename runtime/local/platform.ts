import * as path from 'node:path';
import { MlflowApiError, MlflowClient, type ModelVersion } from '../mlflow';
import { FEATURES, featureMatrix, generateChurnData, runTraining, type TrainingResult } from '../training';
import { PredictionMonitor } from '../monitoring';
import type { RunningTrackingServer } from '../tracking/server';
import type { RunningInferenceServer } from '../inference/server';
import { ensureWebUi, type WebUiState } from './web-ui-build';

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
  /** Build the web UI first when this checkout's bundle is missing or older than its sources. Default true. */
  buildWebUi?: boolean;
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
  if ((err as { code?: string }).code === 'EADDRINUSE')
    return new Error(`port ${port} is in use: stop what runs there or pick another with ${flag} <port> (0 = any free port) for the ${what}`);
  return err instanceof Error ? err : new Error(String(err));
}

interface LocalSettings {
  dataDir: string;
  host: string;
  modelName: string;
  alias: string;
  level: string;
  trackingPort: number;
  inferencePort: number;
}

function localSettings(opts: LocalPlatformOptions): LocalSettings {
  return {
    dataDir: path.resolve(opts.dataDir ?? process.env.MLOPS_LOCAL_DIR ?? '.mlops'),
    host: opts.host ?? '127.0.0.1',
    modelName: opts.modelName ?? 'churn-predictor',
    alias: opts.alias ?? 'champion',
    level: opts.logLevel ?? process.env.MLOPS_LOG_LEVEL ?? 'warn',
    trackingPort: opts.trackingPort ?? 5000,
    inferencePort: opts.inferencePort ?? 8080,
  };
}

async function startLocalTracking(s: LocalSettings, log: (line: string) => void): Promise<RunningTrackingServer> {
  const { startTrackingServer } = await import('../tracking/server');
  let tracking: RunningTrackingServer;
  try {
    tracking = await startTrackingServer({
      host: s.host,
      port: s.trackingPort,
      backendStoreUri: `sqlite:///${path.join(s.dataDir, 'mlflow.db')}`,
      artifactsDestination: path.join(s.dataDir, 'mlartifacts'),
      serveArtifacts: true,
      logger: { level: s.level },
    });
  } catch (err) {
    throw portInUse(err, 'tracking server', s.trackingPort, '--tracking-port');
  }
  log(`tracking server on ${tracking.url} (store ${path.join(s.dataDir, 'mlflow.db')}, artifacts ${path.join(s.dataDir, 'mlartifacts')})`);
  return tracking;
}

/** The version the alias points at from an earlier start, else (or with forceTraining) a newly trained one. */
async function servingVersion(
  client: MlflowClient,
  s: LocalSettings,
  opts: LocalPlatformOptions,
  log: (line: string) => void,
): Promise<{ version: ModelVersion; training?: TrainingResult }> {
  if (!opts.forceTraining) {
    try {
      const version = await client.getModelVersionByAlias(s.modelName, s.alias);
      log(`${s.modelName}@${s.alias} is version ${version.version} from an earlier start (--train trains a new one)`);
      return { version };
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw err;
    }
  }
  const training = await runTraining({ experiment: opts.experiment ?? 'churn', registeredModel: s.modelName, alias: s.alias, client, log });
  if (!training.version) throw new Error(`training registered no version of ${s.modelName}`);
  return { version: training.version, training };
}

async function startLocalInference(
  s: LocalSettings,
  opts: LocalPlatformOptions,
  trackingUrl: string,
  monitor: PredictionMonitor,
): Promise<RunningInferenceServer> {
  const { startInferenceServer } = await import('../inference/server');
  try {
    return await startInferenceServer({
      model: `models:/${s.modelName}@${s.alias}`,
      host: s.host,
      port: s.inferencePort,
      workers: opts.workers ?? 2,
      trackingUri: trackingUrl,
      // Local credentials never apply to the embedded server.
      trackingUsername: '',
      trackingPassword: '',
      trackingToken: '',
      cacheDir: path.join(s.dataDir, 'model-cache'),
      pollIntervalMs: opts.pollIntervalMs ?? 5000,
      logger: { level: s.level },
      registerMetrics: monitor.registerMetrics,
      onPrediction: monitor.onPrediction,
    });
  } catch (err) {
    throw portInUse(err, 'inference server', s.inferencePort, '--inference-port');
  }
}

/** What the banner says the tracking URL serves: the web UI only when the server found a bundle to serve. */
function trackingServes(ui: WebUiState, uiServed: boolean): string {
  if (uiServed) return 'MLflow REST API and web UI';
  const why = ui.status === 'failed' ? ui.reason : 'no built web UI found';
  return `MLflow REST API; no web UI: ${why}; \`npm run build:ui\` then restart`;
}

function localBanner(
  s: LocalSettings,
  tracking: RunningTrackingServer,
  server: RunningInferenceServer,
  modelUri: string,
  served: { version: ModelVersion; training?: TrainingResult },
  body: string,
  ui: string,
): string {
  const { training, version } = served;
  return [
    '',
    'MLOps local platform is running',
    `  Tracking server:  ${tracking.url}   (${ui}; MLFLOW_TRACKING_URI=${tracking.url})`,
    `  Inference server: ${server.url}   (${modelUri} → version ${server.model().version}; /invocations, /v2, /metrics)`,
    training
      ? `  Trained run ${training.runId}: auc ${training.metrics.auc.toFixed(3)}, accuracy ${training.metrics.accuracy.toFixed(3)}`
      : `  Serving version ${version.version} registered earlier`,
    '',
    'Predict (probability of no churn, of churn per customer):',
    `  curl -s -X POST ${server.url}/invocations -H 'Content-Type: application/json' -d '${body}'`,
    '',
    'The loop: train a challenger, promote it behind a gate; serving swaps within seconds:',
    `  MLFLOW_TRACKING_URI=${tracking.url} npx mlops train --register ${s.modelName} --alias challenger --epochs 500`,
    `  MLFLOW_TRACKING_URI=${tracking.url} npx mlops promote ${s.modelName} --version <n> --alias ${s.alias} --require "metrics.auc >= 0.8"`,
    `  Drift per feature (PSI vs the training data): curl -s ${server.url}/metrics | grep mlops_feature_psi`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

/**
 * The local platform `npm start` runs: the tracking server on the embedded SQLite store with local
 * artifacts, the churn model trained, logged, registered and aliased, and the inference server following
 * the alias with drift monitoring — the cluster's loop on one machine.
 */
export async function startLocalPlatform(opts: LocalPlatformOptions = {}): Promise<RunningLocalPlatform> {
  const log = opts.log ?? (() => undefined);
  const s = localSettings(opts);
  // Before the server starts: it looks for the bundle once, when it registers the UI.
  const ui = opts.buildWebUi === false ? ({ status: 'no-sources' } as const) : await ensureWebUi({ log });
  if (ui.status === 'failed') log(`web UI not built: ${ui.reason}`);
  const tracking = await startLocalTracking(s, log);
  let inference: RunningInferenceServer | undefined;
  try {
    const served = await servingVersion(new MlflowClient({ trackingUri: tracking.url, env: {} }), s, opts, log);
    const monitor = new PredictionMonitor({ psiThreshold: opts.driftPsiThreshold ?? 0.2, warn: log });
    const modelUri = `models:/${s.modelName}@${s.alias}`;
    inference = await startLocalInference(s, opts, tracking.url, monitor);
    const server = inference;
    monitor.attach(() => server.model());

    const example = generateChurnData({ rows: 2, seed: 2024 });
    const exampleRequest = { columns: [...FEATURES], data: featureMatrix(example) };
    const { findUiAssets } = await import('../tracking/web/serve');
    const uiLine = trackingServes(ui, findUiAssets() !== undefined);
    const banner = localBanner(s, tracking, server, modelUri, served, JSON.stringify({ dataframe_split: exampleRequest }), uiLine);
    let closed: Promise<void> | undefined;
    return {
      trackingUrl: tracking.url,
      inferenceUrl: server.url,
      modelUri,
      version: served.version,
      training: served.training,
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
