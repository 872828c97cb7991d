import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from '../../core/errors';
import { checkGuardList } from './http/browser-guards';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be an integer between 0 and 65535');
  return n;
}

/** `--allowed-artifact-roots s3://a/p,/srv/shared`: a comma-separated list, blanks ignored. */
function artifactRootList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

function positiveCount(value: string): number {
  const n = count(value);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}

/** `--forwarded-allow-ips 10.0.0.0/8,127.0.0.1` (uvicorn's flag and FORWARDED_ALLOW_IPS): the proxies whose X-Forwarded-For is believed. */
function addressList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(item)) throw new InvalidArgumentError(`'${item}' is not an IP address or CIDR`);
  }
  return items;
}

/** `--allowed-hosts a,b` / `--cors-allowed-origins …`: checked as the guards check them, so a bad value stops the start. */
function patternList(what: string): (value: string) => string[] {
  return (value) => {
    const items = artifactRootList(value);
    try {
      checkGuardList(what, items);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    return items;
  };
}

interface ServeFlags {
  host: string;
  port: number;
  backendStoreUri: string;
  defaultArtifactRoot?: string;
  allowedArtifactRoots?: string[];
  artifactsDestination: string;
  serveArtifacts: boolean;
  upgradeDb?: boolean;
  appName?: string;
  forwardedAllowIps?: string[];
  allowedHosts?: string[];
  corsAllowedOrigins?: string[];
  xFrameOptions: string;
  disableSecurityMiddleware?: boolean;
}

function storeOption(): Option {
  return new Option('--backend-store-uri <uri>', 'metadata store: sqlite:///<path> or postgresql://user:pass@host:port/db')
    .env('MLFLOW_BACKEND_STORE_URI')
    .default('sqlite:///.mlops/mlflow.db');
}

/** `--app-name basic-auth`: the admin password from MLFLOW_AUTH_ADMIN_PASSWORD or a file; never a default. */
interface AuthFlags {
  authAdminUsername: string;
  authAdminPasswordFile?: string;
  authDefaultPermission: string;
  authFailedLoginsPerAddress: number;
  authFailedLoginsPerUser: number;
  authLoginQueue: number;
}

async function basicAuthFromOptions(opts: AuthFlags) {
  let password = process.env.MLFLOW_AUTH_ADMIN_PASSWORD;
  if (opts.authAdminPasswordFile) {
    try {
      // A Secret mounted as a file usually ends with a newline that is not part of the password.
      password = (await import('node:fs')).readFileSync(opts.authAdminPasswordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new CliError(`--auth-admin-password-file: cannot read ${opts.authAdminPasswordFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  if (!password) throw new CliError('--app-name basic-auth needs an admin password: set MLFLOW_AUTH_ADMIN_PASSWORD or --auth-admin-password-file <path>');
  const { basicAuth } = await import('./auth');
  return basicAuth({
    adminUsername: opts.authAdminUsername,
    adminPassword: password,
    defaultPermission: opts.authDefaultPermission as 'READ',
    serviceUsers: serviceUsersFromEnv(process.env),
    loginLimits: { failuresPerAddress: opts.authFailedLoginsPerAddress, failuresPerUser: opts.authFailedLoginsPerUser, kdfQueue: opts.authLoginQueue },
  });
}

/**
 * Users to provision at start, from `MLOPS_AUTH_USER_<ID>_USERNAME` + `MLOPS_AUTH_USER_<ID>_PASSWORD` pairs
 * (the platform maps the in-cluster clients' login Secrets to them). Half a pair is an error, not a skip.
 */
export function serviceUsersFromEnv(env: NodeJS.ProcessEnv): Array<{ username: string; password: string }> {
  const ids = new Set<string>();
  for (const key of Object.keys(env)) {
    const m = /^MLOPS_AUTH_USER_([A-Z0-9_]+)_(USERNAME|PASSWORD)$/.exec(key);
    if (m) ids.add(m[1]);
  }
  return [...ids].sort().map((id) => {
    const username = env[`MLOPS_AUTH_USER_${id}_USERNAME`];
    const password = env[`MLOPS_AUTH_USER_${id}_PASSWORD`];
    if (!username) throw new CliError(`MLOPS_AUTH_USER_${id}_USERNAME is not set (MLOPS_AUTH_USER_${id}_PASSWORD is)`);
    if (!password) throw new CliError(`MLOPS_AUTH_USER_${id}_PASSWORD is not set (MLOPS_AUTH_USER_${id}_USERNAME is)`);
    return { username, password };
  });
}

/** `mlops tracking serve | db upgrade`: flags and env vars as in `mlflow server` / `mlflow db upgrade`. */
export function registerTrackingCommands(program: Command): void {
  const tracking = program.command('tracking').description('the MLflow-compatible tracking server');
  addServeOptions(tracking.command('serve').description('run the tracking server (MLflow REST API, proxied artifacts, /health, /version, /metrics)')).action(
    serve,
  );
  tracking
    .command('db')
    .description('manage the tracking database schema')
    .command('upgrade')
    .description('apply pending schema migrations (run once per release, e.g. from a Kubernetes Job)')
    .addOption(storeOption())
    .action(dbUpgrade);
}

/**
 * The flags of `mlops tracking serve` (MLflow's names and env vars where MLflow has the flag), in groups. The
 * order is the order of `--help` and of the README's flag table: add new flags where they belong, not at the end.
 */
function addServeOptions(command: Command): Command {
  for (const addGroup of [addListenOptions, addArtifactOptions, addAuthOptions, addHttpGuardOptions]) addGroup(command);
  return command;
}

/** Where the server listens. */
function addListenOptions(command: Command): Command {
  return command
    .addOption(new Option('--host <host>', 'interface to bind').env('MLFLOW_HOST').default('127.0.0.1'))
    .addOption(new Option('-p, --port <port>', 'port to listen on (0 = any free port)').env('MLFLOW_PORT').default(5000).argParser(port));
}

/** The backend store and where artifacts go. */
function addArtifactOptions(command: Command): Command {
  return command
    .addOption(storeOption())
    .addOption(
      new Option('--default-artifact-root <uri>', 'artifact root for new experiments (default mlflow-artifacts:/ when serving artifacts)').env(
        'MLFLOW_DEFAULT_ARTIFACT_ROOT',
      ),
    )
    .addOption(
      new Option(
        '--allowed-artifact-roots <uris>',
        'comma-separated s3:// or local prefixes admins may give experiments as artifact_location (besides the proxy and the default root)',
      )
        .env('MLFLOW_SERVER_ALLOWED_ARTIFACT_ROOTS')
        .argParser(artifactRootList),
    )
    .addOption(
      new Option('--artifacts-destination <uri>', 'where proxied artifacts are stored: a path, file:// or s3://bucket/prefix')
        .env('MLFLOW_ARTIFACTS_DESTINATION')
        .default('./mlartifacts'),
    )
    .option('--serve-artifacts', 'proxy artifact uploads/downloads through this server (default)')
    .option('--no-serve-artifacts', 'do not proxy artifacts; clients access the artifact store directly')
    .option('--upgrade-db', 'apply pending schema migrations before serving (default for SQLite)');
}

/** The basic-auth app: admin account, default permission and login limits. */
function addAuthOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--app-name <name>',
        'serve with an app plugin: basic-auth = HTTP Basic users and permissions (as `mlflow server --app-name basic-auth`)',
      ).choices(['basic-auth']),
    )
    .addOption(
      new Option('--auth-admin-username <name>', 'basic-auth: admin account created at first start').env('MLFLOW_AUTH_ADMIN_USERNAME').default('admin'),
    )
    .addOption(
      new Option('--auth-admin-password-file <path>', 'basic-auth: file holding the admin password (a mounted Secret); else MLFLOW_AUTH_ADMIN_PASSWORD').env(
        'MLFLOW_AUTH_ADMIN_PASSWORD_FILE',
      ),
    )
    .addOption(
      new Option('--auth-default-permission <permission>', 'basic-auth: permission without an explicit grant')
        .choices(['READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'])
        .env('MLFLOW_AUTH_DEFAULT_PERMISSION')
        .default('READ'),
    )
    .addOption(
      new Option(
        '--auth-failed-logins-per-address <count>',
        'basic-auth: failed logins one client address may make per minute before its new logins get 429 (0 = no limit)',
      )
        .env('MLOPS_AUTH_FAILED_LOGINS_PER_ADDRESS')
        .default(30)
        .argParser(count),
    )
    .addOption(
      new Option(
        '--auth-failed-logins-per-user <count>',
        'basic-auth: failed logins for one user name per 5 minutes, from any address, before its new logins get 429 (0 = no limit)',
      )
        .env('MLOPS_AUTH_FAILED_LOGINS_PER_USER')
        .default(10)
        .argParser(count),
    )
    .addOption(
      new Option('--auth-login-queue <count>', 'basic-auth: logins that may wait for password verification before more get 503')
        .env('MLOPS_AUTH_LOGIN_QUEUE')
        .default(32)
        .argParser(positiveCount),
    );
}

/** Which proxies, hosts, origins and framings the server trusts. */
function addHttpGuardOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--forwarded-allow-ips <list>',
        'comma-separated proxy addresses/CIDRs whose X-Forwarded-For names the client (default: none, the header is ignored)',
      )
        .env('FORWARDED_ALLOW_IPS')
        .argParser(addressList),
    )
    .addOption(
      new Option(
        '--allowed-hosts <list>',
        'comma-separated Host header values served (names, *.globs, * for any); default loopback names and private addresses (DNS-rebinding guard)',
      )
        .env('MLFLOW_SERVER_ALLOWED_HOSTS')
        .argParser(patternList('--allowed-hosts')),
    )
    .addOption(
      new Option('--cors-allowed-origins <list>', "comma-separated browser origins besides the server's own that may call the API (default none)")
        .env('MLFLOW_SERVER_CORS_ALLOWED_ORIGINS')
        .argParser(patternList('--cors-allowed-origins')),
    )
    .addOption(
      new Option('--x-frame-options <value>', 'X-Frame-Options on every answer (NONE sends none)')
        .env('MLFLOW_SERVER_X_FRAME_OPTIONS')
        .default('SAMEORIGIN')
        .choices(['SAMEORIGIN', 'DENY', 'NONE']),
    )
    .option('--disable-security-middleware', 'turn off the Host, Origin and framing guards (also MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE=true)');
}

async function serve(opts: ServeFlags & AuthFlags): Promise<void> {
  const { startTrackingServer } = await import('./server');
  const auth = opts.appName === 'basic-auth' ? await basicAuthFromOptions(opts) : undefined;
  let server;
  try {
    server = await startTrackingServer({
      features: auth ? [auth] : [],
      host: opts.host,
      port: opts.port,
      backendStoreUri: opts.backendStoreUri,
      defaultArtifactRoot: opts.defaultArtifactRoot,
      allowedArtifactRoots: opts.allowedArtifactRoots,
      artifactsDestination: opts.artifactsDestination,
      serveArtifacts: opts.serveArtifacts,
      upgradeDb: opts.upgradeDb,
      trustedProxies: opts.forwardedAllowIps,
      browserGuards:
        opts.disableSecurityMiddleware || process.env.MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE === 'true'
          ? false
          : { allowedHosts: opts.allowedHosts, corsAllowedOrigins: opts.corsAllowedOrigins, xFrameOptions: opts.xFrameOptions },
    });
  } catch (err) {
    throw new CliError(`cannot start the tracking server: ${err instanceof Error ? err.message : String(err)}`);
  }
  server.app.log.info(
    {
      url: server.url,
      store: server.context.connection.displayUri,
      artifacts: server.context.artifacts?.rootUri ?? 'not served',
      auth: auth ? 'basic-auth' : 'off',
    },
    'tracking server listening',
  );
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function dbUpgrade(opts: { backendStoreUri: string }): Promise<void> {
  const { openStore } = await import('./db/connection');
  const { prepareSchema } = await import('./db/migrate');
  let connection;
  try {
    connection = await openStore(opts.backendStoreUri);
  } catch (err) {
    throw new CliError(`cannot open ${opts.backendStoreUri}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    // The same lock as a starting server takes, so a release's Job and new replicas never race.
    const outcome = await prepareSchema(connection.db, connection.dialect, { upgrade: true });
    if (outcome.status === 'outdated') throw new Error(`pending ${outcome.pending.join(', ')}`); // unreachable with upgrade: true
    process.stdout.write(
      outcome.applied.length ? `applied ${outcome.applied.join(', ')}; schema at ${outcome.current}\n` : `schema already at ${outcome.current}\n`,
    );
  } catch (err) {
    throw new CliError(`${connection.displayUri}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await connection.close();
  }
}
