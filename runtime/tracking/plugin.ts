import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { ArtifactRepository } from './artifacts/repository';
import type { ArtifactRoots } from './artifacts/roots';
import type { StoreConnection } from './db/connection';
import type { LoggedModelStore } from './logged-models/store';
import type { RegistryStore } from './registry/store';
import type { TrackingStore } from './runs/store';
import type { TraceStore } from './traces/store';

/**
 * The contract between the tracking app and its features: what a feature receives (the context),
 * what it gives (plugins and hooks), and the request fields the app decorates. Features import this
 * module, never the app that composes them.
 */

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's Prometheus registry (/metrics), for plugins that export their own metrics. */
    metricsRegistry: Registry;
  }
  interface FastifyContextConfig {
    /** On a search route: the same search again from another page, in process (see SearchPager). */
    searchPage?: SearchPager;
  }
  interface FastifyRequest {
    /** The authenticated user, set by an auth hook (issue 4); null when the server runs without auth. */
    user: string | null;
    /** Whether `user` is an admin (set by the auth hook with `user`); false when there is no user. */
    userIsAdmin: boolean;
    /** Byte length of the JSON body as received (MLflow caps log-batch requests at 1 MB). */
    bodyBytes: number;
  }
}

/**
 * What every feature receives: the connection, every store over its one database type, and (when
 * artifacts are served) the artifact repository. Features reach each other's data through these stores.
 */
export interface TrackingContext {
  connection: StoreConnection;
  /** Experiments, runs, metrics, params, tags, inputs. */
  store: TrackingStore;
  /** Registered models, versions, aliases and the audit trail. */
  registry: RegistryStore;
  /** MLflow 3 logged models. */
  loggedModels: LoggedModelStore;
  /** MLflow 3 traces: trace infos, tags, metadata, assessments, run links. */
  traces: TraceStore;
  /** Root of proxied artifacts (`--artifacts-destination`); undefined with --no-serve-artifacts. */
  artifacts?: ArtifactRepository;
  /** Every artifact root the server reads, and the policy on experiment locations and stored run roots. */
  artifactRoots: ArtifactRoots;
}

export type TrackingPlugin = FastifyPluginAsync<TrackingContext>;

/**
 * A TrackingPlugin whose registration is synchronous (routes, hooks, parsers): Fastify still gets the
 * promise it waits on, and a throw while registering rejects it, as it would from an async plugin.
 */
export function syncPlugin(register: (app: FastifyInstance, ctx: TrackingContext) => void): TrackingPlugin {
  return (app, ctx) =>
    new Promise<void>((resolve) => {
      register(app, ctx);
      resolve();
    });
}

/**
 * A search route's handler as a function of the page: `page` overrides the request's page_token and
 * max_results. Search routes put it in their route config (`searchPage`) so that a hook can ask for
 * following pages in process (basic auth refills a page it filtered) without a request to itself.
 */
export type SearchPager = (request: FastifyRequest, page?: { pageToken: string; maxResults: number }) => Promise<Record<string, unknown>>;

/** MLflow's REST prefixes: every API plugin is mounted under each. */
export const API_PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'] as const;
/** MLflow 3's REST prefixes (traces, server-info): plugins in `v3Plugins` are mounted under each. */
export const API_V3_PREFIXES = ['/api/3.0/mlflow', '/ajax-api/3.0/mlflow'] as const;
/** The proxied-artifact prefixes (`mlflow-artifacts:` URIs). */
export const ARTIFACT_PREFIXES = ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts'] as const;

/**
 * One feature of the tracking server (runs, the registry, the web UI, basic auth…): the plugins it
 * mounts and the app-wide hooks it installs. The server hands the list to createTrackingApp, which
 * mounts them in list order (so a catch-all such as the UI's fallback page goes last).
 */
export interface TrackingFeature {
  /**
   * Runs on the root instance before any route is added: the place for app-wide hooks such as
   * authentication (`app.addHook('onRequest', …)` setting `request.user`).
   * @default none
   */
  beforeRoutes?: (app: FastifyInstance, context: TrackingContext) => void | Promise<void>;
  /** Mounted under each of API_PREFIXES. @default [] */
  plugins?: readonly TrackingPlugin[];
  /** Mounted under each of API_V3_PREFIXES. @default [] */
  v3Plugins?: readonly TrackingPlugin[];
  /** Mounted under each of ARTIFACT_PREFIXES. @default [] */
  artifactPlugins?: readonly TrackingPlugin[];
  /** Mounted at the root (own prefixes, e.g. /api/3.0/mlflow or /get-artifact). @default [] */
  rootPlugins?: readonly TrackingPlugin[];
}
