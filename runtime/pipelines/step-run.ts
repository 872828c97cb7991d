import { mkdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { MlflowClient } from '../mlflow';

/*
 * What every `mlops pipeline step …` shares: the tags that group one pipeline run's step runs in the
 * tracking server, a step run that ends FINISHED or FAILED with the step, and the output files.
 */

/** Tags of every step's run: the pipeline, its run (Argo's workflow name, or the local run id) and the step. */
export const PIPELINE_TAG = 'mlops.pipeline';
export const PIPELINE_RUN_TAG = 'mlops.pipeline.run';
export const PIPELINE_STEP_TAG = 'mlops.pipeline.step';
export const PARENT_RUN_TAG = 'mlflow.parentRunId';

/** A tag value the tracking server takes (MLflow caps tag values; these come from the environment). */
const tagValue = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v.slice(0, 5000));

/**
 * The pipeline tags from the step's environment: MLOPS_PIPELINE, MLOPS_PIPELINE_RUN and MLOPS_PIPELINE_STEP
 * are set by the WorkflowTemplate's containers and by `mlops pipeline run --local` alike. A step command run
 * by hand (no pipeline) logs without them.
 */
export function pipelineTags(step: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const tags: Record<string, string | undefined> = {
    [PIPELINE_TAG]: tagValue(env.MLOPS_PIPELINE),
    [PIPELINE_RUN_TAG]: tagValue(env.MLOPS_PIPELINE_RUN),
    [PIPELINE_STEP_TAG]: tagValue(env.MLOPS_PIPELINE_STEP) ?? step,
  };
  return Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Name of a step's run: `<pipeline run>-<step>` in a pipeline, `<step>` by hand. */
export function stepRunName(step: string, env: NodeJS.ProcessEnv = process.env): string {
  const run = tagValue(env.MLOPS_PIPELINE_RUN);
  return (run ? `${run}-${step}` : step).slice(0, 250);
}

export interface StepRun {
  runId: string;
  experimentId: string;
  artifactUri: string;
}

/**
 * Runs `work` inside a new run of the step in `experiment`: FINISHED when it returns, FAILED (with the
 * error as the `mlops.pipeline.error` tag) when it throws, and the error passed on.
 */
export async function withStepRun<T>(
  client: MlflowClient,
  opts: { experiment: string; step: string; tags?: Record<string, string> },
  work: (run: StepRun) => Promise<T>,
): Promise<T> {
  const experimentId = await client.getOrCreateExperiment(opts.experiment);
  const info = await client.createRun(experimentId, stepRunName(opts.step), {
    'mlflow.source.name': `mlops pipeline step ${opts.step}`,
    'mlflow.source.type': 'JOB',
    'mlflow.user': process.env.USER ?? 'mlops',
    ...pipelineTags(opts.step),
    ...opts.tags,
  });
  const run = { runId: info.run_id, experimentId, artifactUri: info.artifact_uri };
  try {
    const result = await work(run);
    await client.finishRun(run.runId, 'FINISHED');
    return result;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await client.logBatch(run.runId, { tags: { 'mlops.pipeline.error': message.slice(0, 5000) } }).catch(() => undefined);
    await client.finishRun(run.runId, 'FAILED').catch(() => undefined);
    throw err;
  }
}

/** Writes an output parameter's file (its directory created): the value and nothing else, as Argo reads it. */
export async function writeOutput(file: string, value: string): Promise<void> {
  if (file.trim() === '') throw new Error('an output file path is empty');
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, value);
}

/** Refuses an input path that is empty, missing or not what the step reads, in one line. */
export async function checkInputPath(flag: string, p: string, kind: 'file' | 'directory'): Promise<string> {
  if (p.trim() === '') throw new Error(`${flag} is empty`);
  const s = await stat(p).catch(() => undefined);
  if (!s) throw new Error(`${flag} ${p} does not exist`);
  if (kind === 'directory' ? !s.isDirectory() : !s.isFile()) throw new Error(`${flag} ${p} is not a ${kind}`);
  return p;
}

/** A flag's value that must be non-empty after placeholders resolved (an empty upstream output, say). */
export function required(flag: string, value: string): string {
  if (value.trim() === '') throw new Error(`${flag} is empty`);
  return value.trim();
}
