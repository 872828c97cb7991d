import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from '../../core/errors';

export function numberArg(name: string, { integer = false, min = -Infinity } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
      throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}`);
    }
    return n;
  };
}

/** Flags shared by `mlops train` and `mlops retrain`: the data and the model's hyperparameters. */
export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--rows <n>', 'rows of generated churn data', numberArg('--rows', { integer: true, min: 10 }), 5000)
    .option('--seed <n>', 'data seed (same seed, same data)', numberArg('--seed', { integer: true, min: 0 }), 42)
    .option('--shift <x>', 'covariate shift of the generated population (0 = the standard one)', numberArg('--shift'), 0)
    .option('--epochs <n>', 'gradient descent steps', numberArg('--epochs', { integer: true, min: 1 }), 300)
    .option('--learning-rate <x>', 'gradient descent step size', numberArg('--learning-rate', { min: Number.MIN_VALUE }), 0.5)
    .option('--l2 <x>', 'L2 penalty on the weights', numberArg('--l2', { min: 0 }), 0.001)
    .addOption(new Option('--tracking-uri <url>', 'tracking server').env('MLFLOW_TRACKING_URI'));
}

export interface TrainingFlags {
  rows: number;
  seed: number;
  shift: number;
  epochs: number;
  learningRate: number;
  l2: number;
  trackingUri?: string;
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** `mlops train`: the churn model's training entrypoint, also the platform's training Job. */
export function registerTrainingCommands(program: Command): void {
  addTrainingOptions(
    program
      .command('train')
      .description('train the churn model, log it (params, metrics, ONNX model, reference stats) to the tracking server and register it')
      .option('--experiment <name>', 'experiment to log the run in', 'churn')
      .option('--register <model>', 'registered model to add a version to (e.g. churn-predictor)')
      .option('--alias <alias>', 'alias to point at the new version (needs --register)')
      .option('--run-name <name>', 'run name (default churn-lr-<timestamp>)')
      .option('--output <dir>', 'also write the MLflow model directory here')
      .option('--offline', 'no tracking server: only write --output'),
  ).action(async (opts: TrainingFlags & { experiment: string; register?: string; alias?: string; runName?: string; output?: string; offline?: boolean }) => {
    const { processRank, runTraining } = await import('./train');
    const { MlflowClient } = await import('../mlflow');
    const { pipelineTags, stepRunName } = await import('../pipelines/step-run');
    // As a pipeline step (a distributed one runs `mlops train` on every replica), the run carries the pipeline's tags.
    const step = process.env.MLOPS_PIPELINE_RUN ? process.env.MLOPS_PIPELINE_STEP || 'train' : undefined;
    try {
      const client = opts.offline ? undefined : new MlflowClient({ trackingUri: opts.trackingUri });
      const result = await runTraining({
        experiment: opts.experiment,
        registeredModel: opts.register,
        alias: opts.alias,
        runName: opts.runName ?? (step ? stepRunName(step) : undefined),
        ...(step ? { tags: pipelineTags(step) } : {}),
        rows: opts.rows,
        seed: opts.seed,
        shift: opts.shift,
        epochs: opts.epochs,
        learningRate: opts.learningRate,
        l2: opts.l2,
        outputDir: opts.output,
        offline: opts.offline,
        client,
        rank: processRank(),
        log: (line) => process.stdout.write(`${line}\n`),
      });
      if (!result.modelUri) return;
      const parts = [
        result.runId ? `run_id=${result.runId}` : undefined,
        `model_uri=${result.modelUri}`,
        result.version ? `version=${result.version.version}` : undefined,
      ];
      process.stdout.write(parts.filter(Boolean).join(' ') + '\n');
    } catch (err) {
      throw new CliError(`train: ${errorMessage(err)}`);
    }
  });
}
