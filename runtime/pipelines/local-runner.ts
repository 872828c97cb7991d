import { cp, mkdir, readFile, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ancestors, topologicalOrder, type PipelineDefinition, type PipelineStep } from '../../environments/pipelines';
import { artifactsDir, outputsDir, stepArgv, stepDir, type LocalBindings } from './bindings';
import { describeAttempt, runAttempt, type LineSink } from './step-process';
import { runRanks } from './distributed-local';

/*
 * `mlops pipeline run <name> --local`: the DAG of a pipeline definition run as local processes, with the
 * semantics of the WorkflowTemplate it renders to: a step starts when its dependencies succeeded, retries
 * and per-attempt timeouts are the step's, the whole run has the pipeline's timeout, and after a failure no
 * new step starts (Argo's DAG failFast) while the running ones finish. Why these choices: docs/adr/0026.
 */

export interface LocalRunOptions {
  pipeline: string;
  definition: PipelineDefinition;
  /** Parameter values (the definition's defaults with overrides applied). */
  params: Readonly<Record<string, string>>;
  /** Id of this run: the steps' `mlops.pipeline.run` tag and the name of its work dir. */
  runId: string;
  /** This run's directory (created): one subdirectory per step with its outputs and artifacts. */
  workDir: string;
  /** What a step's leading `mlops` runs: this checkout's CLI, e.g. [process.execPath, bin/mlops.js]. */
  mlops: readonly string[];
  /** Environment of the steps (MLOPS_PIPELINE* added). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Steps running at once. @default 2 */
  parallel?: number;
  /** Wait before the first retry, doubling each time (Argo's backoff, at laptop scale). @default 1000 */
  retryBackoffMs?: number;
  out: LineSink;
  signal?: AbortSignal;
}

export type StepStatus = 'succeeded' | 'failed' | 'skipped';

export interface StepResult {
  step: string;
  status: StepStatus;
  attempts: number;
  seconds: number;
  outputs: Record<string, string>;
  /** Why it failed or did not run. */
  message?: string;
}

export interface LocalRunResult {
  runId: string;
  succeeded: boolean;
  steps: StepResult[];
}

/** Largest output parameter value read back (a run id, a URI, a version: small values, as in Argo). */
const MAX_OUTPUT_BYTES = 64 * 1024;

/** The output parameters a finished attempt wrote, or why they are missing. */
async function readOutputs(dir: string, step: PipelineStep): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const name of step.outputs) {
    const file = path.join(dir, name);
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) throw new Error(`did not write output "${name}" (${file})`);
    if (s.size > MAX_OUTPUT_BYTES) throw new Error(`output "${name}" is larger than ${MAX_OUTPUT_BYTES} bytes`);
    const value = (await readFile(file, 'utf8')).trim();
    if (value === '') throw new Error(`output "${name}" is empty (${file})`);
    outputs[name] = value;
  }
  return outputs;
}

async function checkArtifacts(dir: string, step: PipelineStep): Promise<void> {
  for (const name of step.artifacts)
    if (!(await stat(path.join(dir, name)).catch(() => undefined))) throw new Error(`did not produce artifact "${name}" (${path.join(dir, name)})`);
}

/** A fresh step directory for an attempt, with copies of its input artifacts (as Argo unpacks them into the pod). */
async function prepareStepDir(workDir: string, name: string, step: PipelineStep): Promise<void> {
  await rm(stepDir(workDir, name), { recursive: true, force: true });
  await mkdir(outputsDir(workDir, name), { recursive: true });
  await mkdir(artifactsDir(workDir, name), { recursive: true });
  for (const [art, from] of Object.entries(step.inputArtifacts))
    await cp(path.join(artifactsDir(workDir, from), art), path.join(artifactsDir(workDir, name), art), { recursive: true });
}

interface Scheduler {
  opts: LocalRunOptions;
  deadline: number;
  outputs: Map<string, Record<string, string>>;
}

/** One attempt of a step: fresh directory, the process, then its outputs and artifacts checked; never throws. */
async function attemptStep(s: Scheduler, name: string, step: PipelineStep, timeoutMs: number): Promise<{ outputs?: Record<string, string>; message: string }> {
  const { opts } = s;
  const bindings: LocalBindings = { params: opts.params, outputs: s.outputs, workDir: opts.workDir, step: name };
  try {
    await prepareStepDir(opts.workDir, name, step);
    const env = { ...(opts.env ?? process.env), MLOPS_PIPELINE: opts.pipeline, MLOPS_PIPELINE_RUN: opts.runId, MLOPS_PIPELINE_STEP: name };
    const argv = stepArgv(step, bindings, opts.mlops);
    const attempt = { argv, env, cwd: stepDir(opts.workDir, name), timeoutMs, prefix: `[${name}]`, out: opts.out, signal: opts.signal };
    const r = await (step.distributed ? runRanks(step.distributed, attempt) : runAttempt(attempt));
    if (r.code !== 0) return { message: describeAttempt(r, timeoutMs) };
    await checkArtifacts(artifactsDir(opts.workDir, name), step);
    return { outputs: await readOutputs(outputsDir(opts.workDir, name), step), message: 'succeeded' };
  } catch (err) {
    return { message: err instanceof Error ? err.message : String(err) };
  }
}

/** A step with its retries: each attempt limited by the step's timeout and what is left of the pipeline's. */
async function runStep(s: Scheduler, name: string, step: PipelineStep): Promise<StepResult> {
  const started = Date.now();
  const attempts = step.retries + 1;
  let message = '';
  for (let i = 1; i <= attempts; i++) {
    const left = s.deadline - Date.now();
    if (left <= 0 || s.opts.signal?.aborted) {
      message = s.opts.signal?.aborted ? 'stopped' : 'the pipeline timed out';
      break;
    }
    s.opts.out(`[${name}] started${attempts > 1 ? ` (attempt ${i}/${attempts})` : ''}`, 'stdout');
    const r = await attemptStep(s, name, step, Math.min(step.timeoutSeconds * 1000, left));
    const seconds = (Date.now() - started) / 1000;
    if (r.outputs) return { step: name, status: 'succeeded', attempts: i, seconds, outputs: r.outputs };
    message = r.message;
    if (attempts > 1) s.opts.out(`[${name}] attempt ${i}/${attempts} failed: ${message}`, 'stderr');
    if (i < attempts) await delay(Math.min((s.opts.retryBackoffMs ?? 1000) * 2 ** (i - 1), 30_000));
  }
  return { step: name, status: 'failed', attempts, seconds: (Date.now() - started) / 1000, outputs: {}, message };
}

/** Runs the DAG: ready steps start in topological order, at most `parallel` at once; results in that order. */
export async function runPipelineLocally(opts: LocalRunOptions): Promise<LocalRunResult> {
  const def = opts.definition;
  const order = topologicalOrder(def);
  const s: Scheduler = { opts, deadline: Date.now() + def.timeoutSeconds * 1000, outputs: new Map() };
  const results = new Map<string, StepResult>();
  const running = new Map<string, Promise<void>>();
  const parallel = Math.max(1, opts.parallel ?? 2);
  await mkdir(opts.workDir, { recursive: true });
  const failed = () => [...results.values()].some((r) => r.status === 'failed');
  for (;;) {
    const ready = order.filter((n) => !results.has(n) && !running.has(n) && def.steps[n].dependsOn.every((d) => results.get(d)?.status === 'succeeded'));
    for (const name of failed() || opts.signal?.aborted ? [] : ready.slice(0, parallel - running.size)) {
      const task = runStep(s, name, def.steps[name]).then((r) => {
        results.set(name, r);
        if (r.status === 'succeeded') s.outputs.set(name, r.outputs);
        opts.out(`[${name}] ${r.status === 'succeeded' ? 'succeeded' : `failed: ${r.message ?? ''}`} (${r.seconds.toFixed(1)} s)`, 'stdout');
        running.delete(name);
      });
      running.set(name, task);
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  for (const name of order.filter((n) => !results.has(n))) results.set(name, skipped(def, name, results));
  const steps = order.map((n) => results.get(n)).filter((r): r is StepResult => r !== undefined);
  return { runId: opts.runId, succeeded: steps.every((r) => r.status === 'succeeded'), steps };
}

/** A step that never started: a dependency failed, or another step did (fail fast). */
function skipped(def: PipelineDefinition, name: string, results: ReadonlyMap<string, StepResult>): StepResult {
  const failedAncestor = [...ancestors(def, name)].find((a) => results.get(a)?.status === 'failed');
  const anyFailed = [...results.values()].find((r) => r.status === 'failed');
  const message = failedAncestor
    ? `not run: it depends on ${failedAncestor}, which failed`
    : anyFailed
      ? `not run: ${anyFailed.step} failed`
      : 'not run: the pipeline stopped';
  return { step: name, status: 'skipped', attempts: 0, seconds: 0, outputs: {}, message };
}
