import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from '../../core/errors';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be an integer between 0 and 65535');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** `mlops local` (what `npm start` runs): the whole loop on this machine with embedded defaults. */
export function registerLocalCommands(program: Command): void {
  program
    .command('local')
    .description('run the local platform: tracking server (SQLite + local artifacts), demo churn model trained, registered and served at @champion')
    .addOption(new Option('--data-dir <dir>', 'store, artifacts and model cache').env('MLOPS_LOCAL_DIR').default('.mlops'))
    .addOption(new Option('--host <host>', 'interface both servers bind').env('MLOPS_LOCAL_HOST').default('127.0.0.1'))
    .addOption(new Option('--tracking-port <port>', 'tracking server port (0 = any free port)').env('MLOPS_TRACKING_PORT').default(5000).argParser(port))
    .addOption(new Option('--inference-port <port>', 'inference server port (0 = any free port)').env('MLOPS_INFERENCE_PORT').default(8080).argParser(port))
    .addOption(
      new Option('--drift-psi-threshold <psi>', 'PSI above which an input feature counts as drifted')
        .env('MLOPS_DRIFT_PSI_THRESHOLD')
        .default(0.2)
        .argParser(positive),
    )
    .addOption(new Option('--poll-interval <seconds>', 'how often serving re-resolves the alias').default(5).argParser(positive))
    .option('--train', 'train a new version even if the alias exists from an earlier start')
    .action(
      async (opts: {
        dataDir: string;
        host: string;
        trackingPort: number;
        inferencePort: number;
        driftPsiThreshold: number;
        pollInterval: number;
        train?: boolean;
      }) => {
        const { startLocalPlatform } = await import('./platform');
        const log = (line: string) => process.stdout.write(`${line}\n`);
        let platform;
        try {
          platform = await startLocalPlatform({
            dataDir: opts.dataDir,
            host: opts.host,
            trackingPort: opts.trackingPort,
            inferencePort: opts.inferencePort,
            driftPsiThreshold: opts.driftPsiThreshold,
            pollIntervalMs: opts.pollInterval * 1000,
            forceTraining: opts.train,
            log,
          });
        } catch (err) {
          throw new CliError(`local platform: ${err instanceof Error ? err.message : String(err)}`);
        }
        process.stdout.write(platform.banner);
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            // A second Ctrl-C while draining: leave now.
            process.exit(130);
          }
          stopping = true;
          log(`${signal}: stopping the inference and tracking servers`);
          platform.close().then(
            () => {
              log('stopped');
              process.exit(0);
            },
            (err: unknown) => {
              process.stderr.write(`mlops: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
              process.exit(1);
            },
          );
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      },
    );
}
