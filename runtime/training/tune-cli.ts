import { Command, Option } from 'commander';
import { CliError } from '../../core/errors';
import { addTrainingOptions, errorMessage, numberArg, type TrainingFlags } from './cli';

/*
 * `mlops tune trial` (one Katib trial: a child run, its metrics printed for Katib's StdOut collector),
 * `mlops tune register` (the best trial as a model version) and `mlops tune run --local` (a random search
 * as trial processes, then register).
 */

interface SearchFlags {
  tuning: string;
  experiment: string;
  metric: string;
  goal: 'maximize' | 'minimize';
  register: string;
  alias?: string;
  trackingUri?: string;
}

const METRICS = ['auc', 'accuracy', 'logloss', 'train_auc'];

function searchOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--tuning <name>', 'name of the search (the parent run carries it as tag mlops.tuning)')
    .option('--experiment <name>', 'experiment of the parent and child runs', 'churn')
    .addOption(new Option('--metric <name>', 'objective metric').choices(METRICS).default('auc'))
    .addOption(new Option('--goal <direction>', 'objective direction').choices(['maximize', 'minimize']).default('maximize'))
    .option('--register <model>', 'registered model the best trial becomes a version of', 'churn-predictor')
    .option('--alias <alias>', 'alias to point at the registered best version');
}

async function client(trackingUri?: string) {
  const { MlflowClient } = await import('../mlflow');
  return new MlflowClient({ trackingUri });
}

function registerTrial(tune: Command): void {
  addTrainingOptions(
    searchOptions(tune.command('trial').description('run one trial: train as a child run of the search, print name=value metrics (Katib StdOut format)')),
  ).action(async (opts: SearchFlags & TrainingFlags) => {
    const { runTrial, metricLines } = await import('./tune');
    try {
      const r = await runTrial({ ...opts, client: await client(opts.trackingUri), log: (line) => process.stdout.write(`${line}\n`) });
      if (r.runId) process.stdout.write(`trial run_id ${r.runId} parent ${r.parentRunId ?? ''}\n`);
      process.stdout.write(metricLines(r.metrics).join('\n') + '\n');
    } catch (err) {
      throw new CliError(`tune trial: ${errorMessage(err)}`);
    }
  });
}

function registerRegister(tune: Command): void {
  searchOptions(tune.command('register').description('register the best finished trial of the search as a model version and finish its parent run'))
    .addOption(new Option('--tracking-uri <url>', 'tracking server').env('MLFLOW_TRACKING_URI'))
    .action(async (opts: SearchFlags) => {
      const { registerBestTrial } = await import('./tune');
      try {
        const best = await registerBestTrial({ ...opts, registeredModel: opts.register, client: await client(opts.trackingUri) });
        process.stdout.write(
          `best of ${best.trials} trials: run ${best.bestRunId} ${opts.metric}=${best.value} (${Object.entries(best.params)
            .filter(([k]) => ['learning_rate', 'epochs', 'l2'].includes(k))
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')})\n`,
        );
        process.stdout.write(`registered ${best.version.name} version ${best.version.version}; parent run ${best.parentRunId} finished\n`);
      } catch (err) {
        throw new CliError(`tune register: ${errorMessage(err)}`);
      }
    });
}

interface RunFlags extends SearchFlags {
  local?: boolean;
  param: string[];
  trials: number;
  parallel: number;
  searchSeed: number;
  rows: number;
}

function registerRun(tune: Command): void {
  searchOptions(tune.command('run').description('run a random search locally as Katib would (one process per trial), then register the best'))
    .option('--local', 'run the trials as local processes (the in-cluster search is the Katib Experiment `mlops synth` renders)')
    .option(
      '--param <name=min:max[:int]>',
      'a searched range, e.g. learning-rate=0.05:1 or epochs=50:400:int (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--trials <n>', 'trials', numberArg('--trials', { integer: true, min: 1 }), 6)
    .option('--parallel <n>', 'trials at once', numberArg('--parallel', { integer: true, min: 1 }), 2)
    .option('--search-seed <n>', 'seed of the random search', numberArg('--search-seed', { integer: true, min: 0 }), 1)
    .option('--rows <n>', 'rows of generated churn data per trial', numberArg('--rows', { integer: true, min: 10 }), 5000)
    .addOption(new Option('--tracking-uri <url>', 'tracking server').env('MLFLOW_TRACKING_URI'))
    .action(async (opts: RunFlags) => {
      if (!opts.local) throw new CliError('tune run: only --local is supported here; in a cluster the search is the Katib Experiment of training.tuning');
      if (opts.param.length === 0) throw new CliError('tune run: give at least one --param');
      const { runLocalSearch } = await import('./tune-run');
      try {
        await runLocalSearch({ ...opts, registeredModel: opts.register, out: (line) => process.stdout.write(`${line}\n`) });
      } catch (err) {
        throw new CliError(`tune run: ${errorMessage(err)}`);
      }
    });
}

export function registerTuneCommands(program: Command): void {
  const tune = program.command('tune').description('hyperparameter search tracked as a parent run with one child run per trial');
  registerTrial(tune);
  registerRegister(tune);
  registerRun(tune);
}
