import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FEATURES, featureMatrix, generateChurnData, trainTestSplit } from './data';
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

/** Trains the churn model, builds the MLflow model dir, and logs/registers it; the `mlops train` entrypoint. */
export async function runTraining(opts: TrainingOptions = {}): Promise<TrainingResult> {
  const log = opts.log ?? (() => undefined);
  if (opts.alias && !opts.registeredModel) throw new Error('--alias needs --register <model name>');
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

  const data = generateChurnData({ rows: params.rows, seed: params.seed, shift: params.shift });
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
  const reference = computeReferenceStats(FEATURES, xTrain);

  const offline = opts.offline ?? false;
  const client = offline ? undefined : (opts.client ?? new MlflowClient());
  let runId: string | undefined;
  let experimentId: string | undefined;
  let artifactUri: string | undefined;
  if (client) {
    experimentId = await client.getOrCreateExperiment(opts.experiment ?? 'churn');
    const info = await client.createRun(experimentId, opts.runName ?? `churn-lr-${new Date().toISOString().replace(/[:.]/g, '-')}`, {
      'mlflow.source.name': 'mlops train',
      'mlflow.source.type': 'JOB',
      'mlflow.user': process.env.USER ?? 'mlops',
    });
    runId = info.run_id;
    artifactUri = info.artifact_uri;
  }
  const onnx = exportLogisticRegressionToOnnx(model, { docString: `Churn logistic regression${runId ? ` (run ${runId})` : ''}`, metadata: runId ? { run_id: runId } : {} });
  const files = mlflowModelFiles({
    onnx,
    onnxInput: INPUT_NAME,
    onnxOutput: OUTPUT_NAME,
    columns: FEATURES,
    output: { dtype: 'float32', shape: [-1, 2] },
    reference,
    runId,
    inputExample: featureMatrix(test.slice(0, 5)),
  });
  if (opts.outputDir) {
    await mkdir(opts.outputDir, { recursive: true });
    for (const [name, content] of files) await writeFile(path.join(opts.outputDir, name), content);
    log(`wrote the model directory to ${opts.outputDir}`);
  }
  if (!client || !runId || !artifactUri || !experimentId) {
    if (!opts.outputDir) throw new Error('offline training needs --output <dir>');
    return { modelUri: opts.outputDir, metrics, params, files };
  }

  try {
    await client.logBatch(runId, { params: { ...params, model_type: 'logistic_regression', features: FEATURES.join(',') }, metrics });
    for (const [name, content] of files) await client.uploadArtifact(artifactUri, `model/${name}`, content);
    await client.logBatch(runId, {
      tags: {
        // What MLflow 2.x clients record for log_model, so the UI lists the model under the run.
        'mlflow.log-model.history': JSON.stringify([{ run_id: runId, artifact_path: 'model', utc_time_created: new Date().toISOString(), flavors: { onnx: {}, python_function: {} } }]),
      },
    });
    await client.finishRun(runId, 'FINISHED');
  } catch (err) {
    await client.finishRun(runId, 'FAILED').catch(() => undefined);
    throw err;
  }
  log(`logged run ${runId} in experiment ${experimentId}`);

  let version: ModelVersion | undefined;
  if (opts.registeredModel) {
    await client.ensureRegisteredModel(opts.registeredModel, 'Churn prediction (age, tenure, monthly_charges, total_charges → probability of churn)');
    version = await client.createModelVersion(opts.registeredModel, `${artifactUri.replace(/\/+$/, '')}/model`, runId);
    log(`registered ${opts.registeredModel} version ${version.version}`);
    if (opts.alias) {
      await client.setAlias(opts.registeredModel, opts.alias, version.version);
      log(`set alias ${opts.alias} → ${opts.registeredModel} version ${version.version}`);
    }
  }
  return { runId, experimentId, modelUri: `runs:/${runId}/model`, metrics, params, version, files };
}
