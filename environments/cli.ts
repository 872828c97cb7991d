import type { Command } from 'commander';
import { CliError } from '../core/errors';

/** `mlops env …`: list, show and validate environment configurations. */
export function registerEnvCommands(program: Command): void {
  const env = program.command('env').description('inspect and validate environment configurations');

  env
    .command('list')
    .description('list the built-in environments')
    .action(async () => {
      const { ENVIRONMENT_NAMES, loadEnvironment } = await import('./index');
      for (const name of ENVIRONMENT_NAMES) {
        const cfg = loadEnvironment(name);
        const target = cfg.cluster.kind === 'eks' ? `eks ${cfg.cluster.name} (${cfg.cluster.region})` : `local (${cfg.cluster.kubeContext})`;
        process.stdout.write(`${name}\t${target}\t${cfg.ingress.host}\n`);
      }
    });

  env
    .command('show')
    .description('print an environment with every default filled in')
    .argument('<env>', 'environment name (dev, staging, prod) or a YAML/JSON file')
    .option('--format <format>', 'yaml or json', 'yaml')
    .action(async (name: string, opts: { format: string }) => {
      if (opts.format !== 'yaml' && opts.format !== 'json') throw new CliError(`--format must be yaml or json, got "${opts.format}"`);
      const cfg = await resolveOrFail(name);
      const { stringify } = await import('yaml');
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(cfg, null, 2)}\n` : stringify(cfg));
    });

  env
    .command('validate')
    .description('validate environments; prints one line per problem with its field path')
    .argument('<env...>', 'environment names or YAML/JSON files')
    .action(async (names: string[]) => {
      let failed = 0;
      for (const name of names) {
        try {
          await resolveOrFail(name);
          process.stdout.write(`${name}: valid\n`);
        } catch (err) {
          failed++;
          process.stderr.write(`${(err as Error).message}\n`);
        }
      }
      if (failed) throw new CliError(`${failed} of ${names.length} environment(s) invalid`);
    });
}

async function resolveOrFail(nameOrFile: string) {
  const { resolveEnvironment } = await import('./index');
  try {
    return resolveEnvironment(nameOrFile);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new CliError(`"${nameOrFile}" is neither a built-in environment nor a readable file`);
    throw new CliError(e.message);
  }
}
