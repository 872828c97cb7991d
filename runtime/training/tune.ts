import { MlflowClient, type ModelVersion, type Run } from '../mlflow';
import { processRank, runTraining, type TrainingOptions } from './train';

/*
 * The tracking side of a hyperparameter search (Katib, or `mlops tune run --local`): one parent run per
 * search (tag `mlops.tuning=<name>`), each trial a child run (tag `mlflow.parentRunId`, as MLflow's own
 * nested runs), and the best finished child by the objective registered as a model version.
 */

export const TUNING_TAG = 'mlops.tuning';
export const PARENT_TAG = 'mlflow.parentRunId';
export type Goal = 'maximize' | 'minimize';

/** Names a metric, tag or tuning name may use inside a search filter (no quotes to escape). */
const SAFE_NAME = /^[A-Za-z0-9_.\-]{1,250}$/;

function checkName(what: string, value: string): string {
  if (!SAFE_NAME.test(value)) throw new Error(`${what} "${value}" must be 1-250 letters, digits, "_", "." or "-"`);
  return value;
}

async function searchRuns(client: MlflowClient, experimentId: string, filter: string, orderBy: string[], maxResults: number): Promise<Run[]> {
  const r = await client.api<{ runs?: Run[] }>('POST', 'runs/search', { experiment_ids: [experimentId], filter, order_by: orderBy, max_results: maxResults });
  return r.runs ?? [];
}

/** The running parent runs of a search, oldest first (ties by run id): the first is the parent. */
async function runningParents(client: MlflowClient, experimentId: string, tuning: string): Promise<Run[]> {
  const runs = await searchRuns(
    client,
    experimentId,
    `tags.\`${TUNING_TAG}\` = '${tuning}' and attributes.status = 'RUNNING'`,
    ['attributes.start_time ASC'],
    50,
  );
  return runs.filter((r) => !r.data.tags?.some((t) => t.key === PARENT_TAG));
}

/**
 * The search's parent run, created when none is running. Trials start concurrently, so two may create
 * one: after creating, every trial re-reads the parents and takes the oldest; a trial whose own parent
 * lost deletes it. All trials thus converge on one parent without a lock.
 */
export async function findOrCreateParent(client: MlflowClient, experiment: string, tuning: string): Promise<{ experimentId: string; runId: string }> {
  checkName('tuning name', tuning);
  const experimentId = await client.getOrCreateExperiment(experiment);
  const existing = await runningParents(client, experimentId, tuning);
  if (existing.length > 0) return { experimentId, runId: existing[0].info.run_id };
  const mine = await client.createRun(experimentId, tuning, { [TUNING_TAG]: tuning, 'mlflow.source.name': 'mlops tune', 'mlflow.source.type': 'JOB' });
  const parents = await runningParents(client, experimentId, tuning);
  const winner = parents[0]?.info.run_id ?? mine.run_id;
  if (winner !== mine.run_id) await client.api('POST', 'runs/delete', { run_id: mine.run_id });
  return { experimentId, runId: winner };
}

export interface TrialOptions extends Omit<TrainingOptions, 'tags' | 'registeredModel' | 'alias' | 'runName'> {
  tuning: string;
  experiment: string;
  /** Name of the trial's run. @default `<tuning>-trial-<timestamp>` */
  runName?: string;
}

/**
 * One trial: trains with the given hyperparameters as a child run of the search's parent (rank 0 only),
 * and returns the metrics; the caller prints them in Katib's StdOut format (`metricLines`).
 */
export async function runTrial(opts: TrialOptions): Promise<{ runId?: string; parentRunId?: string; metrics: Record<string, number> }> {
  const rank = opts.rank ?? processRank();
  const client = opts.client ?? new MlflowClient();
  const parent = rank === 0 ? await findOrCreateParent(client, opts.experiment, opts.tuning) : undefined;
  const result = await runTraining({
    ...opts,
    client,
    rank,
    runName: opts.runName ?? `${opts.tuning}-trial-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    tags: parent ? { [PARENT_TAG]: parent.runId, [TUNING_TAG]: opts.tuning } : undefined,
  });
  return { runId: result.runId, parentRunId: parent?.runId, metrics: result.metrics };
}

/** `name=value` lines: what Katib's StdOut collector parses with its default filter. */
export function metricLines(metrics: Record<string, number>): string[] {
  return Object.entries(metrics).map(([k, v]) => `${k}=${v}`);
}

export interface RegisterBestOptions {
  client?: MlflowClient;
  experiment: string;
  tuning: string;
  metric: string;
  goal: Goal;
  registeredModel: string;
  alias?: string;
}

export interface BestTrial {
  parentRunId: string;
  bestRunId: string;
  value: number;
  trials: number;
  version: ModelVersion;
  params: Record<string, string>;
}

/**
 * Registers the best finished child of the running search (by `metric`, in `goal`'s direction) as a
 * version of `registeredModel`, records it on the parent run (its params, the metric as best_<metric>,
 * tag mlops.tuning.best_run_id) and finishes the parent.
 */
export async function registerBestTrial(opts: RegisterBestOptions): Promise<BestTrial> {
  const client = opts.client ?? new MlflowClient();
  const metric = checkName('metric', opts.metric);
  const experimentId = await client.getOrCreateExperiment(opts.experiment);
  const parent = (await runningParents(client, experimentId, checkName('tuning name', opts.tuning)))[0] as Run | undefined;
  if (!parent) throw new Error(`no running search "${opts.tuning}" in experiment "${opts.experiment}"`);
  const parentRunId = parent.info.run_id;
  const children = await searchRuns(
    client,
    experimentId,
    `tags.\`${PARENT_TAG}\` = '${parentRunId}' and attributes.status = 'FINISHED'`,
    [`metrics.\`${metric}\` ${opts.goal === 'maximize' ? 'DESC' : 'ASC'}`],
    1000,
  );
  const scored = children.filter((r) => r.data.metrics?.some((m) => m.key === metric));
  const best = scored[0] as Run | undefined;
  if (!best) throw new Error(`search "${opts.tuning}" has no finished trial with metric "${metric}"`);
  const value = best.data.metrics?.find((m) => m.key === metric)?.value ?? NaN;
  await client.ensureRegisteredModel(opts.registeredModel);
  const version = await client.createModelVersion(
    opts.registeredModel,
    `${best.info.artifact_uri.replace(/\/+$/, '')}/model`,
    best.info.run_id,
    `best of search ${opts.tuning} (${metric} ${value})`,
  );
  if (opts.alias) await client.setAlias(opts.registeredModel, opts.alias, version.version);
  const params = Object.fromEntries((best.data.params ?? []).map((p) => [p.key, p.value]));
  await client.logBatch(parentRunId, {
    params,
    metrics: { [`best_${metric}`]: value, trials: scored.length },
    tags: { [`${TUNING_TAG}.best_run_id`]: best.info.run_id },
  });
  await client.finishRun(parentRunId, 'FINISHED');
  return { parentRunId, bestRunId: best.info.run_id, value, trials: scored.length, version, params };
}
