import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MlflowClient, parseModelUri } from '../mlflow';
import { promote } from '../promotion';
import { featureMatrix, generateChurnData, trainTestSplit } from '../training/data';
import { accuracy, logLoss, rocAuc } from '../training/logistic';
import { INPUT_NAME, OUTPUT_NAME } from '../training/onnx';
import { runTraining, type TrainingOptions } from '../training/train';
import { datasetInput, readDataset, writeDataset } from './dataset';
import { checkInputPath, PARENT_RUN_TAG, PIPELINE_RUN_TAG, PIPELINE_STEP_TAG, pipelineTags, required, stepRunName, withStepRun, writeOutput } from './step-run';

/*
 * The steps of the churn pipeline (environments/pipelines.ts churnPipeline()), each a thin layer over the
 * runtime (training, registry client, promotion gate) that logs its own run in the tracking server.
 */

export interface StepContext {
  experiment: string;
  client: MlflowClient;
  log: (line: string) => void;
}

const logInputs = (client: MlflowClient, runId: string, datasets: unknown[]) => client.api('POST', 'runs/log-inputs', { run_id: runId, datasets });

/** prepare-data: generates the rows, writes the `dataset` artifact, logs its params, size and churn rate. */
export async function prepareData(ctx: StepContext, opts: { rows: number; seed: number; shift: number; out: string }): Promise<void> {
  const out = required('--out', opts.out);
  await withStepRun(ctx.client, { experiment: ctx.experiment, step: 'prepare-data' }, async (run) => {
    const rows = generateChurnData({ rows: opts.rows, seed: opts.seed, shift: opts.shift });
    const meta = await writeDataset(out, rows, { seed: opts.seed, shift: opts.shift });
    const churnRate = rows.filter((r) => r.churn === 1).length / rows.length;
    await ctx.client.logBatch(run.runId, {
      params: { rows: opts.rows, seed: opts.seed, shift: opts.shift },
      metrics: { rows: meta.rows, churn_rate: churnRate },
    });
    await logInputs(ctx.client, run.runId, [datasetInput(meta, path.resolve(out), 'prepared')]);
    ctx.log(`prepared dataset ${meta.name} (digest ${meta.digest}): ${meta.rows} rows, churn rate ${churnRate.toFixed(3)} → ${out}`);
  });
}

export type TrainHyperparameters = Pick<TrainingOptions, 'epochs' | 'learningRate' | 'l2'>;

/** train: fits the model on the dataset's training rows, logs it as runTraining does, writes the run id and model URI. */
export async function trainStep(ctx: StepContext, opts: TrainHyperparameters & { data: string; runIdFile: string; modelUriFile: string }): Promise<void> {
  const dir = await checkInputPath('--data', opts.data, 'directory');
  const [runIdFile, modelUriFile] = [required('--run-id-file', opts.runIdFile), required('--model-uri-file', opts.modelUriFile)];
  const { meta, rows } = await readDataset(dir);
  const result = await runTraining({
    ...opts,
    data: rows,
    rows: meta.rows,
    seed: meta.seed,
    shift: meta.shift,
    experiment: ctx.experiment,
    client: ctx.client,
    runName: stepRunName('train'),
    tags: { ...pipelineTags('train'), 'mlflow.source.name': 'mlops pipeline step train' },
    log: ctx.log,
  });
  if (!result.runId) throw new Error('training logged no run');
  await logInputs(ctx.client, result.runId, [datasetInput(meta, path.resolve(dir), 'training')]);
  await writeOutput(runIdFile, result.runId);
  await writeOutput(modelUriFile, result.modelUri);
  ctx.log(`run-id=${result.runId} model-uri=${result.modelUri}`);
}

/** The churn probabilities of `x` from an ONNX model file (the artifact the train step logged, not its weights in memory). */
async function scoreOnnx(modelFile: string, x: number[][]): Promise<number[]> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(modelFile);
  try {
    const input = new ort.Tensor('float32', Float32Array.from(x.flat()), [x.length, x[0]?.length ?? 0]);
    const out = (await session.run({ [INPUT_NAME]: input }))[OUTPUT_NAME].data as Float32Array;
    return x.map((_, i) => out[2 * i + 1]);
  } finally {
    await session.release();
  }
}

/**
 * evaluate: downloads the train run's logged model, scores the dataset's held-out rows with onnxruntime, and
 * logs eval_* metrics twice: on its own run (a child of the train run, so the step is visible) and on the
 * train run, which produced the model version and which the promotion gate reads (`metrics.eval_auc`).
 */
export async function evaluateStep(ctx: StepContext, opts: { data: string; modelRun: string }): Promise<void> {
  const dir = await checkInputPath('--data', opts.data, 'directory');
  const modelRun = required('--model-run', opts.modelRun);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(modelRun)) throw new Error(`--model-run ${modelRun} is not a run id`);
  const { meta, rows } = await readDataset(dir);
  await ctx.client.getRun(modelRun);
  await withStepRun(ctx.client, { experiment: ctx.experiment, step: 'evaluate', tags: { [PARENT_RUN_TAG]: modelRun } }, async (run) => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'mlops-evaluate-'));
    try {
      await ctx.client.downloadArtifacts(`runs:/${modelRun}/model`, tmp);
      const { test } = trainTestSplit(rows);
      const y = test.map((r) => r.churn);
      const p = await scoreOnnx(path.join(tmp, 'model.onnx'), featureMatrix(test));
      const metrics = { eval_auc: rocAuc(y, p), eval_accuracy: accuracy(y, p), eval_logloss: logLoss(y, p), eval_rows: test.length };
      await ctx.client.logBatch(run.runId, { metrics, params: { model_run_id: modelRun } });
      await logInputs(ctx.client, run.runId, [datasetInput(meta, path.resolve(dir), 'evaluation')]);
      await ctx.client.logBatch(modelRun, { metrics });
      ctx.log(
        `evaluated run ${modelRun} on ${test.length} held-out rows: eval_auc ${metrics.eval_auc.toFixed(4)}, eval_accuracy ${metrics.eval_accuracy.toFixed(4)}`,
      );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
}

/** register: a model version of `name` from the train run's model, its number written to the version file. */
export async function registerStep(ctx: StepContext, opts: { modelUri: string; name: string; versionFile: string }): Promise<void> {
  const uri = parseModelUri(required('--model-uri', opts.modelUri));
  if (uri.kind !== 'run') throw new Error(`--model-uri ${opts.modelUri} must be a runs:/<run id>/<path> URI (the train step's model-uri)`);
  const [name, versionFile] = [required('--name', opts.name), required('--version-file', opts.versionFile)];
  const source = `${(await ctx.client.getRun(uri.runId)).info.artifact_uri.replace(/\/+$/, '')}/${uri.path}`;
  await withStepRun(ctx.client, { experiment: ctx.experiment, step: 'register', tags: { [PARENT_RUN_TAG]: uri.runId } }, async (run) => {
    await ctx.client.ensureRegisteredModel(name, 'Churn prediction (age, tenure, monthly_charges, total_charges → probability of churn)');
    const mv = await ctx.client.createModelVersion(name, source, uri.runId);
    const pipelineRun = pipelineTags('register')[PIPELINE_RUN_TAG];
    if (pipelineRun) await ctx.client.api('POST', 'model-versions/set-tag', { name, version: mv.version, key: PIPELINE_RUN_TAG, value: pipelineRun });
    await ctx.client.logBatch(run.runId, { tags: { 'mlops.registered_model': name, 'mlops.model_version': mv.version } });
    await writeOutput(versionFile, mv.version);
    ctx.log(`registered ${name} version ${mv.version} from ${uri.uri}`);
  });
}

/** promote: moves the alias to the version only if every gate holds on the version's run; fails the step otherwise. */
export async function promoteStep(ctx: StepContext, opts: { name: string; version: string; alias: string; require: string[] }): Promise<void> {
  const [name, version] = [required('--name', opts.name), required('--version', opts.version)];
  const tags = { 'mlops.promotion.alias': opts.alias, 'mlops.promotion.version': version, 'mlops.promotion.gate': opts.require.join(' and ') };
  await withStepRun(ctx.client, { experiment: ctx.experiment, step: 'promote', tags }, async (run) => {
    const result = await promote({ name, version, alias: opts.alias, require: opts.require, client: ctx.client });
    if (result.previous) await ctx.client.logBatch(run.runId, { tags: { 'mlops.promotion.previous': result.previous } });
    const from = result.previous ? ` (was version ${result.previous})` : '';
    ctx.log(`${name}@${opts.alias} → version ${version}${from}; gate passed: ${result.conditions.map((c) => c.text).join(' and ') || 'none'}`);
  });
}

/** An MLflow filter string literal (single quotes, escaped). */
const filterLiteral = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * find-run: the finished run an earlier step of this pipeline run logged (found by its pipeline tags), written out
 * as run id and model URI. How later steps take over from a distributed step, whose files Argo does not collect.
 */
export async function findRunStep(ctx: StepContext, opts: { step: string; runIdFile: string; modelUriFile?: string }): Promise<void> {
  const runIdFile = required('--run-id-file', opts.runIdFile);
  const pipelineRun = process.env.MLOPS_PIPELINE_RUN;
  if (!pipelineRun) throw new Error('MLOPS_PIPELINE_RUN is not set: find-run looks for a step of the pipeline run it is part of');
  const experimentId = await ctx.client.getOrCreateExperiment(ctx.experiment);
  const filter = [
    `tags.\`${PIPELINE_RUN_TAG}\` = ${filterLiteral(pipelineRun)}`,
    `tags.\`${PIPELINE_STEP_TAG}\` = ${filterLiteral(opts.step)}`,
    `attributes.status = 'FINISHED'`,
  ].join(' and ');
  const found = await ctx.client.api<{ runs?: Array<{ info: { run_id: string } }> }>('POST', 'runs/search', {
    experiment_ids: [experimentId],
    filter,
    order_by: ['attributes.start_time DESC'],
    max_results: 1,
  });
  const runId = found.runs?.[0]?.info.run_id;
  if (!runId) throw new Error(`no finished run of step "${opts.step}" in pipeline run ${pipelineRun} (experiment ${ctx.experiment})`);
  await writeOutput(runIdFile, runId);
  if (opts.modelUriFile) await writeOutput(opts.modelUriFile, `runs:/${runId}/model`);
  ctx.log(`step ${opts.step}: run-id=${runId}`);
}
