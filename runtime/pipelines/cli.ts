import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { CliError } from '../../core/errors';
import { errorMessage, numberArg } from '../training/cli';
import { registerStepCommands } from './step-cli';
import { currentMlopsCommand } from '../current-cli';
import type { LocalRunResult } from './local-runner';

/**
 * The `pipeline` command group, shared with `mlops pipeline submit` (runtime/pipelines/submit-cli.ts): whichever
 * registrar runs first creates it, the other adds to it.
 */
export function pipelineGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'pipeline') ?? program.command('pipeline').description('pipelines: on Argo Workflows, or locally with --local')
  );
}

interface RunFlags {
  local?: boolean;
  env: string;
  param: string[];
  parallel: number;
  workDir: string;
  trackingUri?: string;
}

function summary(r: LocalRunResult): string[] {
  const width = Math.max(...r.steps.map((s) => s.step.length));
  return [
    `run ${r.runId}: ${r.succeeded ? 'succeeded' : 'failed'}`,
    ...r.steps.map((s) => {
      const detail = s.status === 'skipped' ? (s.message ?? '') : `${s.attempts} attempt${s.attempts === 1 ? '' : 's'}, ${s.seconds.toFixed(1)} s`;
      return `  ${s.step.padEnd(width)}  ${s.status.padEnd(9)}  ${detail}`;
    }),
  ];
}

/** Fails fast, in one line, when the tracking server does not answer (the steps would each retry for minutes). */
async function checkTrackingServer(trackingUri: string): Promise<void> {
  if (!/^https?:\/\//.test(trackingUri)) throw new Error(`the tracking URI must be an http(s) URL of a tracking server (got ${trackingUri})`);
  const url = `${trackingUri.replace(/\/+$/, '')}/health`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
    throw new Error(`tracking server ${trackingUri} does not answer (${errorMessage(err)}); npm start runs one`);
  });
  if (!res.ok) throw new Error(`tracking server ${trackingUri} answers ${url} with HTTP ${res.status}`);
}

async function runLocal(name: string, opts: RunFlags): Promise<void> {
  const { resolveEnvironment } = await import('../../environments');
  const { choosePipeline, newRunId, resolveParams } = await import('./definition');
  const { runPipelineLocally } = await import('./local-runner');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const env = resolveEnvironment(opts.env);
  const { definition, source } = choosePipeline(env, name);
  const params = resolveParams(definition, opts.param);
  const trackingUri = opts.trackingUri ?? process.env.MLFLOW_TRACKING_URI;
  if (!trackingUri) throw new Error('no tracking server: set MLFLOW_TRACKING_URI or pass --tracking-uri (npm start runs one on http://127.0.0.1:5000)');
  await checkTrackingServer(trackingUri);
  const runId = newRunId(name);
  const workDir = path.resolve(opts.workDir, runId);
  say(`pipeline ${name} (${source}), run ${runId}: ${Object.keys(definition.steps).length} steps, at most ${opts.parallel} at once`);
  say(`work dir ${workDir}, tracking ${trackingUri}`);
  const abort = new AbortController();
  const stop = (signal: string) => {
    say(`${signal}: stopping the running steps`);
    abort.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.once('SIGINT', onInt).once('SIGTERM', onTerm);
  try {
    const result = await runPipelineLocally({
      pipeline: name,
      definition,
      params,
      runId,
      workDir,
      mlops: currentMlopsCommand(),
      env: { ...process.env, MLFLOW_TRACKING_URI: trackingUri },
      parallel: opts.parallel,
      signal: abort.signal,
      out: (line, stream) => process[stream].write(`${line}\n`),
    });
    summary(result).forEach(say);
    const failed = result.steps.find((s) => s.status === 'failed');
    if (failed) throw new Error(`step ${failed.step} failed: ${failed.message ?? ''}`);
  } finally {
    process.off('SIGINT', onInt).off('SIGTERM', onTerm);
  }
}

/** `mlops pipeline run <name> --local` and `mlops pipeline step …`. */
export function registerPipelineCommands(program: Command): void {
  const pipeline = pipelineGroup(program);
  pipeline
    .command('run')
    .description("run a pipeline's DAG as local processes against a tracking server (--local; on Argo Workflows: mlops pipeline submit)")
    .argument('<name>', 'pipeline name (the environment\'s pipelines:, or the built-in "churn")')
    .option('--local', 'run the steps as local processes')
    .option('--env <env>', 'environment (name or YAML/JSON file) whose pipelines: definition to run', 'dev')
    .option('--param <name=value>', 'override a pipeline parameter (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--parallel <n>', 'steps running at once', numberArg('--parallel', { integer: true, min: 1 }), 2)
    .option('--work-dir <dir>', "where each run keeps its steps' outputs and artifacts (a directory per run)", '.mlops/pipelines')
    .addOption(new Option('--tracking-uri <url>', 'tracking server the steps log to').env('MLFLOW_TRACKING_URI'))
    .action(async (name: string, opts: RunFlags) => {
      if (!opts.local) throw new CliError('pipeline run: only --local runs here; `mlops pipeline submit` runs a pipeline on Argo Workflows');
      if (opts.parallel > 16) throw new CliError('pipeline run: --parallel must be at most 16');
      try {
        await runLocal(name, opts);
      } catch (err) {
        throw new CliError(`pipeline run: ${errorMessage(err).replace(/\n\s*/g, '; ')}`);
      }
    });
  registerStepCommands(pipeline);
}
