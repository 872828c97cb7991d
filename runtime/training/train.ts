import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FEATURES, featureMatrix, generateChurnData, trainTestSplit, type ChurnRow } from './data';
import { accuracy, logLoss, predictProba, rocAuc, trainLogisticRegression, type LogisticRegressionParams } from './logistic';
import { exportLogisticRegressionToOnnx, INPUT_NAME, OUTPUT_NAME } from './onnx';
import { MlflowClient, type ModelVersion } from '../mlflow';
import { computeReferenceStats, mlflowModelFiles } from '../model';

export interface TrainingOptions extends LogisticRegressionParams {
  /** Experiment name (created when missing). Default `churn`. */
  experiment?: string;
  /** Registered model to create a version of; none when omitted. */
  registeredModel?: string;
  /** Alias to point at the new version (requires registeredModel), e.g. `champion` or `challenger`. */
  alias?: string;
  /** Rows of generated churn data. Default 5000. */
  rows?: number;
  /** Data seed. Default 42. */
  seed?: number;
  /** Covariate shift of the training population (0 = the standard one). Default 0. */
  shift?: number;
  runName?: string;
  /** Tracking server client; default one configured from MLFLOW_TRACKING_* environment variables. */
  client?: MlflowClient;
  /** Also write the MLflow model directory here (optional; with no tracking server, only here). */
  outputDir?: string;
  /** Skip the tracking server entirely (with outputDir). Default false. */
  offline?: boolean;
  log?: (line: string) => void;
  /** Extra tags of the run (e.g. `mlflow.parentRunId` of a tuning trial). */
  tags?: Record<string, string>;
  /**
   * Rank of this process in a distributed job (the `RANK` the Training Operator sets; see `processRank`).
   * Only rank 0 logs and registers: the others train and return without touching the tracking server.
   * @default 0
   */
  rank?: number;
  /**
   * Rows of a prepared data set (the pipeline's prepare-data step) to train on instead of generating them;
   * `rows`, `seed` and `shift` then only describe it in the run's params.
   * @default generated from rows, seed and shift
   */
  data?: readonly ChurnRow[];
}

/** The process's rank in a distributed job: `RANK` (Training Operator, torchrun), 0 when unset. */
export function processRank(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.RANK;
  if (raw === undefined || raw === '') return 0;
  const rank = Number(raw);
  if (!Number.isInteger(rank) || rank < 0) throw new Error(`RANK must be a non-negative integer (got "${raw}")`);
  return rank;
}

export interface TrainingResult {
  runId?: string;
  experimentId?: string;
  /** `runs:/<id>/model`, or the output directory when offline. */
  modelUri: string;
  metrics: { auc: number; accuracy: number; logloss: number; train_auc: number };
  params: Record<string, string | number>;
  version?: ModelVersion;
  /** The model directory's files (MLmodel, model.onnx, reference_stats.json, …). */
  files: Map<string, Buffer>;
}

type TrainingParams = { rows: number; seed: number; shift: number; learning_rate: number; epochs: number; l2: number };

/** The hyperparameters with their defaults, checked; throws naming the bad one. */
function trainingParams(opts: TrainingOptions): TrainingParams {
  const params = {
    rows: opts.rows ?? 5000,
    seed: opts.seed ?? 42,
    shift: opts.shift ?? 0,
    learning_rate: opts.learningRate ?? 0.5,
    epochs: opts.epochs ?? 300,
    l2: opts.l2 ?? 0.001,
  };
  for (const [k, v] of Object.entries(params)) if (!Number.isFinite(v)) throw new Error(`${k} must be a number (got ${v})`);
  if (params.epochs < 1 || !Number.isInteger(params.epochs)) throw new Error(`epochs must be a positive integer (got ${params.epochs})`);
  if (!(params.learning_rate > 0)) throw new Error(`learning_rate must be positive (got ${params.learning_rate})`);
  if (params.l2 < 0) throw new Error(`l2 must be ≥ 0 (got ${params.l2})`);
  return params;
}

/** Generates the data, fits the model, scores it on the held-out rows, summarizes the training features. */
function fitChurnModel(params: TrainingParams, log: (line: string) => void, given?: readonly ChurnRow[]) {
  const data = given ?? generateChurnData({ rows: params.rows, seed: params.seed, shift: params.shift });
  const { train, test } = trainTestSplit(data);
  const xTrain = featureMatrix(train);
  const yTrain = train.map((r) => r.churn);
  const model = trainLogisticRegression(xTrain, yTrain, { learningRate: params.learning_rate, epochs: params.epochs, l2: params.l2 });
  const yTest = test.map((r) => r.churn);
  const pTest = predictProba(model, featureMatrix(test));
  const metrics = {
    auc: rocAuc(yTest, pTest),
    accuracy: accuracy(yTest, pTest),
    logloss: logLoss(yTest, pTest),
    train_auc: rocAuc(yTrain, predictProba(model, xTrain)),
  };
  log(`trained on ${train.length} rows: auc ${metrics.auc.toFixed(4)}, accuracy ${metrics.accuracy.toFixed(4)}, logloss ${metrics.logloss.toFixed(4)}`);
  return { model, metrics, reference: computeReferenceStats(FEATURES, xTrain), example: featureMatrix(test.slice(0, 5)) };
}

interface StartedRun {
  experimentId: string;
  runId: string;
  artifactUri: string;
}

async function startRun(client: MlflowClient, opts: TrainingOptions): Promise<StartedRun> {
  const experimentId = await client.getOrCreateExperiment(opts.experiment ?? 'churn');
  const info = await client.createRun(experimentId, opts.runName ?? `churn-lr-${new Date().toISOString().replace(/[:.]/g, '-')}`, {
    'mlflow.source.name': 'mlops train',
    'mlflow.source.type': 'JOB',
    'mlflow.user': process.env.USER ?? 'mlops',
    ...opts.tags,
  });
  return { experimentId, runId: info.run_id, artifactUri: info.artifact_uri };
}

/** Params, metrics, the model directory under `model/` and the log-model tag; the run ends FINISHED or FAILED. */
async function logModelRun(
  client: MlflowClient,
  run: StartedRun,
  params: TrainingParams,
  metrics: TrainingResult['metrics'],
  files: Map<string, Buffer>,
): Promise<void> {
  const { runId, artifactUri } = run;
  try {
    await client.logBatch(runId, { params: { ...params, model_type: 'logistic_regression', features: FEATURES.join(',') }, metrics });
    for (const [name, content] of files) await client.uploadArtifact(artifactUri, `model/${name}`, content);
    await client.logBatch(runId, {
      tags: {
        // What MLflow 2.x clients record for log_model, so the UI lists the model under the run.
        'mlflow.log-model.history': JSON.stringify([
          { run_id: runId, artifact_path: 'model', utc_time_created: new Date().toISOString(), flavors: { onnx: {}, python_function: {} } },
        ]),
      },
    });
    await client.finishRun(runId, 'FINISHED');
  } catch (err) {
    await client.finishRun(runId, 'FAILED').catch(() => undefined);
    throw err;
  }
}

async function registerModel(
  client: MlflowClient,
  name: string,
  alias: string | undefined,
  run: StartedRun,
  log: (line: string) => void,
): Promise<ModelVersion> {
  await client.ensureRegisteredModel(name, 'Churn prediction (age, tenure, monthly_charges, total_charges → probability of churn)');
  const version = await client.createModelVersion(name, `${run.artifactUri.replace(/\/+$/, '')}/model`, run.runId);
  log(`registered ${name} version ${version.version}`);
  if (alias) {
    await client.setAlias(name, alias, version.version);
    log(`set alias ${alias} → ${name} version ${version.version}`);
  }
  return version;
}

/** Trains the churn model, builds the MLflow model dir, and logs/registers it; the `mlops train` entrypoint. */
export async function runTraining(opts: TrainingOptions = {}): Promise<TrainingResult> {
  const log = opts.log ?? (() => undefined);
  if (opts.alias && !opts.registeredModel) throw new Error('--alias needs --register <model name>');
  const params = trainingParams(opts);
  const { model, metrics, reference, example } = fitChurnModel(params, log, opts.data);

  const rank = opts.rank ?? 0;
  if (rank > 0) {
    log(`rank ${rank}: trained; rank 0 logs the run`);
    return { modelUri: '', metrics, params, files: new Map() };
  }
  const client = (opts.offline ?? false) ? undefined : (opts.client ?? new MlflowClient());
  const run = client ? await startRun(client, opts) : undefined;
  const runId = run?.runId;
  const onnx = exportLogisticRegressionToOnnx(model, {
    docString: `Churn logistic regression${runId ? ` (run ${runId})` : ''}`,
    metadata: runId ? { run_id: runId } : {},
  });
  const files = mlflowModelFiles({
    onnx,
    onnxInput: INPUT_NAME,
    onnxOutput: OUTPUT_NAME,
    columns: FEATURES,
    output: { dtype: 'float32', shape: [-1, 2] },
    reference,
    runId,
    inputExample: example,
  });
  if (opts.outputDir) {
    await mkdir(opts.outputDir, { recursive: true });
    for (const [name, content] of files) await writeFile(path.join(opts.outputDir, name), content);
    log(`wrote the model directory to ${opts.outputDir}`);
  }
  if (!client || !run) {
    if (!opts.outputDir) throw new Error('offline training needs --output <dir>');
    return { modelUri: opts.outputDir, metrics, params, files };
  }
  await logModelRun(client, run, params, metrics, files);
  log(`logged run ${run.runId} in experiment ${run.experimentId}`);
  const version = opts.registeredModel ? await registerModel(client, opts.registeredModel, opts.alias, run, log) : undefined;
  return { runId: run.runId, experimentId: run.experimentId, modelUri: `runs:/${run.runId}/model`, metrics, params, version, files };
}
