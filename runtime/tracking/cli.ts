import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from '../../cli/errors';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be an integer between 0 and 65535');
  return n;
}

function storeOption(): Option {
  return new Option('--backend-store-uri <uri>', 'metadata store: sqlite:///<path> or postgresql://user:pass@host:port/db')
    .env('MLFLOW_BACKEND_STORE_URI')
    .default('sqlite:///.mlops/mlflow.db');
}

/** `mlops tracking serve | db upgrade`: flags and env vars as in `mlflow server` / `mlflow db upgrade`. */
export function registerTrackingCommands(program: Command): void {
  const tracking = program.command('tracking').description('the MLflow-compatible tracking server');

  tracking
    .command('serve')
    .description('run the tracking server (MLflow REST API, proxied artifacts, /health, /version, /metrics)')
    .addOption(new Option('--host <host>', 'interface to bind').env('MLFLOW_HOST').default('127.0.0.1'))
    .addOption(new Option('-p, --port <port>', 'port to listen on (0 = any free port)').env('MLFLOW_PORT').default(5000).argParser(port))
    .addOption(storeOption())
    .addOption(new Option('--default-artifact-root <uri>', 'artifact root for new experiments (default mlflow-artifacts:/ when serving artifacts)').env('MLFLOW_DEFAULT_ARTIFACT_ROOT'))
    .addOption(new Option('--artifacts-destination <uri>', 'where proxied artifacts are stored: a path, file:// or s3://bucket/prefix').env('MLFLOW_ARTIFACTS_DESTINATION').default('./mlartifacts'))
    .option('--serve-artifacts', 'proxy artifact uploads/downloads through this server (default)')
    .option('--no-serve-artifacts', 'do not proxy artifacts; clients access the artifact store directly')
    .option('--upgrade-db', 'apply pending schema migrations before serving (default for SQLite)')
    .action(async (opts: { host: string; port: number; backendStoreUri: string; defaultArtifactRoot?: string; artifactsDestination: string; serveArtifacts: boolean; upgradeDb?: boolean }) => {
      const { startTrackingServer } = await import('./server');
      let server;
      try {
        server = await startTrackingServer({
          host: opts.host,
          port: opts.port,
          backendStoreUri: opts.backendStoreUri,
          defaultArtifactRoot: opts.defaultArtifactRoot,
          artifactsDestination: opts.artifactsDestination,
          serveArtifacts: opts.serveArtifacts,
          upgradeDb: opts.upgradeDb,
        });
      } catch (err) {
        throw new CliError(`cannot start the tracking server: ${err instanceof Error ? err.message : String(err)}`);
      }
      server.app.log.info({ url: server.url, store: server.context.connection.displayUri, artifacts: server.context.artifacts?.rootUri ?? 'not served' }, 'tracking server listening');
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  tracking
    .command('db')
    .description('manage the tracking database schema')
    .command('upgrade')
    .description('apply pending schema migrations (run once per release, e.g. from a Kubernetes Job)')
    .addOption(storeOption())
    .action(async (opts: { backendStoreUri: string }) => {
      const { openStore } = await import('./store/connection');
      const { migrateToLatest } = await import('./store/migrate');
      let connection;
      try {
        connection = await openStore(opts.backendStoreUri);
      } catch (err) {
        throw new CliError(`cannot open ${opts.backendStoreUri}: ${err instanceof Error ? err.message : String(err)}`);
      }
      try {
        const outcome = await migrateToLatest(connection.db);
        process.stdout.write(
          outcome.applied.length ? `applied ${outcome.applied.join(', ')}; schema at ${outcome.current}\n` : `schema already at ${outcome.current}\n`,
        );
      } catch (err) {
        throw new CliError(`${connection.displayUri}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        await connection.close();
      }
    });
}
