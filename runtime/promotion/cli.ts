import type { Command } from 'commander';
import { Option } from 'commander';
import { CliError } from '../../core/errors';

/** `mlops promote <model> --version N --alias champion [--require "metrics.auc >= 0.8"]`. */
export function registerPromotionCommands(program: Command): void {
  // `--version <n>` (MLflow's name for a model version) would otherwise be taken by the root program's
  // `-V, --version`: with positional options the root parses only the options before the subcommand.
  program.enablePositionalOptions();
  program
    .command('promote')
    .description('point a registry alias at a model version, if the gate holds on the run that produced it')
    .argument('<model>', 'registered model name')
    .requiredOption('--version <n>', 'model version to promote')
    .option('--alias <alias>', 'alias serving follows', 'champion')
    .option(
      '--require <condition>',
      'gate on the version\'s run, e.g. "metrics.auc >= 0.8" (repeatable; `and` joins conditions)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .addOption(new Option('--tracking-uri <url>', 'tracking server').env('MLFLOW_TRACKING_URI'))
    .action(async (model: string, opts: { version: string; alias: string; require: string[]; trackingUri?: string }) => {
      const { promote } = await import('./promote');
      const { MlflowClient } = await import('../mlflow');
      const { parseGate } = await import('./gate');
      try {
        opts.require.forEach((r) => parseGate(r));
        const client = new MlflowClient({ trackingUri: opts.trackingUri });
        const result = await promote({ name: model, version: opts.version, alias: opts.alias, require: opts.require, client });
        const gate = result.conditions.length ? ` (gate passed: ${result.conditions.map((c) => c.text).join(' and ')})` : '';
        const from = result.previous ? ` (was version ${result.previous})` : '';
        process.stdout.write(`${model}@${opts.alias} → version ${opts.version}${from}${gate}\n`);
      } catch (err) {
        throw new CliError(`promote: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
}
