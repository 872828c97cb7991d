import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { createTrackingApp, type TrackingAppOptions } from './app';
import type { TrackingContext, TrackingFeature, TrackingPlugin } from './plugin';
import * as path from 'node:path';
import { ArtifactRoots, artifactRepositoryFor } from './artifacts';
import { artifactsFeature } from './artifacts/routes';
import { DEFAULT_BACKEND_STORE_URI, openStore } from './db/connection';
import { prepareSchema } from './db/migrate';
import { keepStatisticsFresh } from './db/planner-statistics';
import { LoggedModelStore, loggedModelsFeature } from './logged-models';
import { RegistryStore, registryFeature } from './registry';
import { TrackingStore, runsFeature } from './runs';
import { serverInfoFeature } from './info/routes';
import { TraceStore, tracesFeature } from './traces';
import { webUiFeature } from './web';

export interface TrackingServerOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 5000. */
  port?: number;
  /** `sqlite:///path.db` (default `sqlite:///.mlops/mlflow.db`) or `postgresql://user:pass@host/db`. */
  backendStoreUri?: string;
  /** Where proxied artifacts are stored: a local path, `file:///dir` or `s3://bucket/prefix`. Default `./mlartifacts`. */
  artifactsDestination?: string;
  /** Proxy artifacts through this server (`mlflow-artifacts:` URIs). Default true. */
  serveArtifacts?: boolean;
  /** Artifact root recorded for new experiments; default `mlflow-artifacts:/` when serving artifacts, else the destination. */
  defaultArtifactRoot?: string;
  /**
   * More artifact roots (`s3://bucket/prefix`, `file:///dir` or an absolute path) that admins may give
   * experiments as artifact_location, besides the proxy and the default root (`--allowed-artifact-roots`).
   * @default []
   */
  allowedArtifactRoots?: string[];
  /**
   * Apply pending migrations to an existing, older schema at start. An empty database is always initialized
   * (as `mlflow server` does), under a lock so replicas starting together do not race. Default true for
   * SQLite (zero config), false for PostgreSQL (run `mlops tracking db upgrade` once per release, e.g. from a Job).
   */
  upgradeDb?: boolean;
  logger?: FastifyServerOptions['logger'];
  /** Reverse proxies whose X-Forwarded-For is believed (`--forwarded-allow-ips`); see TrackingAppOptions. Default none. */
  trustedProxies?: TrackingAppOptions['trustedProxies'];
  /** Host/Origin/framing guards (`--allowed-hosts`, `--cors-allowed-origins`, `--x-frame-options`); see TrackingAppOptions. */
  browserGuards?: TrackingAppOptions['browserGuards'];
  /**
   * Features besides the built-in ones (experiments and runs, artifacts, the registry, the web UI),
   * e.g. basic auth; mounted after the registry and before the web UI.
   * @default []
   */
  features?: readonly TrackingFeature[];
  /** One more feature's API plugins, mounted as `features` are (kept for callers that pass a feature's parts). @default [] */
  plugins?: readonly TrackingPlugin[];
  /** One more feature's root plugins. @default [] */
  rootPlugins?: readonly TrackingPlugin[];
  /** One more feature's app-wide hooks. @default none */
  beforeRoutes?: TrackingFeature['beforeRoutes'];
}

/** The server's features in mounting order: the web UI's fallback page goes last. */
export function serverFeatures(opts: Pick<TrackingServerOptions, 'features' | 'plugins' | 'rootPlugins' | 'beforeRoutes'> = {}): TrackingFeature[] {
  const extra: TrackingFeature = { plugins: opts.plugins, rootPlugins: opts.rootPlugins, beforeRoutes: opts.beforeRoutes };
  return [serverInfoFeature, runsFeature, artifactsFeature, registryFeature, loggedModelsFeature, tracesFeature, ...(opts.features ?? []), extra, webUiFeature];
}

export interface RunningTrackingServer {
  url: string;
  app: FastifyInstance;
  context: TrackingContext;
  close(): Promise<void>;
}

/** Opens the store (migrating if asked), builds the app and listens. */
export async function startTrackingServer(opts: TrackingServerOptions = {}): Promise<RunningTrackingServer> {
  const uri = opts.backendStoreUri ?? DEFAULT_BACKEND_STORE_URI;
  const connection = await openStore(uri);
  try {
    const schema = await prepareSchema(connection.db, connection.dialect, { upgrade: opts.upgradeDb ?? connection.dialect === 'sqlite' });
    if (schema.status === 'outdated') {
      throw new Error(
        `the database schema at ${connection.displayUri} is not current (pending: ${schema.pending.join(', ')}); run \`mlops tracking db upgrade --backend-store-uri ...\` or start with --upgrade-db`,
      );
    }
    const serveArtifacts = opts.serveArtifacts ?? true;
    const destination = opts.artifactsDestination ?? './mlartifacts';
    const artifacts = serveArtifacts ? artifactRepositoryFor(destination) : undefined;
    const defaultArtifactRoot = opts.defaultArtifactRoot ?? (serveArtifacts ? 'mlflow-artifacts:/' : destination);
    const artifactRoots = await ArtifactRoots.create({
      proxied: artifacts ? { destination, repository: artifacts } : undefined,
      defaultArtifactRoot,
      allowed: opts.allowedArtifactRoots,
      storeDirs: connection.file ? [path.dirname(connection.file)] : [],
    });
    const store = new TrackingStore(connection.db, connection.dialect, { defaultArtifactRoot });
    const context: TrackingContext = {
      connection,
      store,
      registry: new RegistryStore(connection.db),
      loggedModels: new LoggedModelStore(connection.db),
      traces: new TraceStore(connection.db),
      artifacts,
      artifactRoots,
    };
    const app = await createTrackingApp({
      context,
      features: serverFeatures(opts),
      logger: opts.logger,
      trustedProxies: opts.trustedProxies,
      browserGuards: opts.browserGuards,
    });
    const host = opts.host ?? '127.0.0.1';
    await app.listen({ host, port: opts.port ?? 5000 });
    const statistics = connection.dialect === 'postgres' ? keepStatisticsFresh(connection.db, { log: app.log }) : undefined;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : opts.port;
    const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return {
      url: `http://${urlHost}:${port}`,
      app,
      context,
      close: async () => {
        await app.close();
        await statistics?.stop();
        artifactRoots.close();
        artifacts?.close?.();
        await connection.close();
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}
