import { Command, Option } from 'commander';
import { CliError } from '../../core/errors';
import { errorMessage, numberArg } from '../training/cli';
import type { StepContext } from './steps';

/*
 * `mlops pipeline step <kind>`: the commands the churn pipeline's steps run (environments/pipelines.ts
 * churnPipeline() passes exactly these flags), in an Argo step pod or under `mlops pipeline run --local`.
 */

interface Common {
  experiment: string;
  trackingUri?: string;
}

function stepCommand(group: Command, kind: string, description: string): Command {
  return group
    .command(kind)
    .description(description)
    .option('--experiment <name>', 'experiment the step logs its run in', 'churn')
    .addOption(new Option('--tracking-uri <url>', 'tracking server').env('MLFLOW_TRACKING_URI'));
}

/** Runs a step with a client for its flags; any failure is one line on stderr and exit code 1. */
async function runStep(kind: string, opts: Common, work: (ctx: StepContext) => Promise<void>): Promise<void> {
  const { MlflowClient } = await import('../mlflow');
  try {
    const client = new MlflowClient({ trackingUri: opts.trackingUri });
    await work({ experiment: opts.experiment, client, log: (line) => process.stdout.write(`${line}\n`) });
  } catch (err) {
    throw new CliError(`pipeline step ${kind}: ${errorMessage(err).split('\n')[0]}`);
  }
}

function registerDataAndTraining(group: Command): void {
  stepCommand(group, 'prepare-data', 'generate the churn rows into a dataset directory (the `dataset` artifact) and log them')
    .option('--rows <n>', 'rows of generated churn data', numberArg('--rows', { integer: true, min: 10 }), 5000)
    .option('--seed <n>', 'data seed (same seed, same data)', numberArg('--seed', { integer: true, min: 0 }), 42)
    .option('--shift <x>', 'covariate shift of the generated population (0 = the standard one)', numberArg('--shift'), 0)
    .requiredOption('--out <dir>', 'dataset directory to write')
    .action((opts: Common & { rows: number; seed: number; shift: number; out: string }) =>
      runStep('prepare-data', opts, async (ctx) => (await import('./steps')).prepareData(ctx, opts)),
    );
  stepCommand(group, 'train', 'train on a prepared dataset, log the run and model, write its run id and model URI')
    .requiredOption('--data <dir>', 'dataset directory from prepare-data')
    .requiredOption('--run-id-file <file>', 'file to write the run id to')
    .requiredOption('--model-uri-file <file>', 'file to write the model URI (runs:/<id>/model) to')
    .option('--epochs <n>', 'gradient descent steps', numberArg('--epochs', { integer: true, min: 1 }), 300)
    .option('--learning-rate <x>', 'gradient descent step size', numberArg('--learning-rate', { min: Number.MIN_VALUE }), 0.5)
    .option('--l2 <x>', 'L2 penalty on the weights', numberArg('--l2', { min: 0 }), 0.001)
    .action((opts: Common & { data: string; runIdFile: string; modelUriFile: string; epochs: number; learningRate: number; l2: number }) =>
      runStep('train', opts, async (ctx) => (await import('./steps')).trainStep(ctx, opts)),
    );
  stepCommand(group, 'evaluate', "score the train run's logged model on the dataset's held-out rows; eval_* metrics on the train run")
    .requiredOption('--data <dir>', 'dataset directory from prepare-data')
    .requiredOption('--model-run <id>', 'run id of the train step')
    .action((opts: Common & { data: string; modelRun: string }) => runStep('evaluate', opts, async (ctx) => (await import('./steps')).evaluateStep(ctx, opts)));
}

function registerRegistry(group: Command): void {
  stepCommand(group, 'register', 'create a model version from the train run, write its number')
    .requiredOption('--model-uri <uri>', 'runs:/<run id>/model from the train step')
    .requiredOption('--name <model>', 'registered model name')
    .requiredOption('--version-file <file>', 'file to write the version number to')
    .action((opts: Common & { modelUri: string; name: string; versionFile: string }) =>
      runStep('register', opts, async (ctx) => (await import('./steps')).registerStep(ctx, opts)),
    );
  stepCommand(group, 'promote', 'point the alias at the version if the gate holds on its run; fail the step otherwise')
    .requiredOption('--name <model>', 'registered model name')
    .requiredOption('--version <n>', 'model version to promote')
    .option('--alias <alias>', 'alias serving follows', 'champion')
    .option(
      '--require <condition>',
      'gate on the version\'s run, e.g. "metrics.eval_auc >= 0.75" (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .action((opts: Common & { name: string; version: string; alias: string; require: string[] }) =>
      runStep('promote', opts, async (ctx) => (await import('./steps')).promoteStep(ctx, opts)),
    );
}

function registerHandOff(group: Command): void {
  stepCommand(group, 'find-run', "write the run id (and model URI) of an earlier step's finished run in this pipeline run, e.g. a distributed step's")
    .requiredOption('--step <name>', 'the earlier step')
    .requiredOption('--run-id-file <file>', 'file to write the run id to')
    .option('--model-uri-file <file>', 'file to write runs:/<run id>/model to')
    .action((opts: Common & { step: string; runIdFile: string; modelUriFile?: string }) =>
      runStep('find-run', opts, async (ctx) => (await import('./steps')).findRunStep(ctx, opts)),
    );
}

/** Adds `step prepare-data|train|evaluate|register|promote|find-run` under the `pipeline` group. */
export function registerStepCommands(pipeline: Command): void {
  const group = pipeline.command('step').description("the pipeline steps' commands (what the churn pipeline's steps run)");
  // `--version` of promote must reach it, not the root program's -V/--version (see runtime/promotion/cli.ts).
  pipeline.enablePositionalOptions();
  group.enablePositionalOptions();
  registerDataAndTraining(group);
  registerRegistry(group);
  registerHandOff(group);
}
