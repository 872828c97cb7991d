import { Command, CommanderError } from 'commander';
import { commandRegistrars } from './commands';
import { CliError } from '../core/errors';
import { version } from '../package.json';

/** Builds the `mlops` program with every registered subcommand; exported for tests. */
export function buildProgram(): Command {
  const program = new Command('mlops')
    .description('MLOps platform blueprint: synthesize, check and deploy the platform; run its tracking and inference servers.')
    .version(version, '-V, --version', 'print the mlops version')
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const register of commandRegistrars) register(program);
  // Apply the same error behaviour to every subcommand, including ones added by registrars.
  const visit = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });
    cmd.commands.forEach(visit);
  };
  visit(program);
  return program;
}

/** Runs the CLI: one-line errors on stderr, exit code 1 on failure (commander's own code for usage errors). */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version also arrive here, with exit code 0.
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(`mlops: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
