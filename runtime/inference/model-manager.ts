import * as path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Batcher } from './batcher';
import type { InferenceMetrics } from './metrics';
import { describeModel, readModelFiles, type LoadedModel } from './model';
import { MlflowClient, parseModelUri, type ModelUri } from '../mlflow';
import { cachedDownload, defaultCacheDir, modelLocationIn } from './model-source';
import type { SessionRunner } from './pool';

/** What the model manager reads of the server's options. */
export interface ModelManagerOptions {
  model: string;
  modelName?: string;
  trackingUri?: string;
  trackingUsername?: string;
  trackingPassword?: string;
  trackingToken?: string;
  cacheDir?: string;
}

interface Located {
  name: string;
  version: string;
  location: string;
}

/** Resolves and loads model versions and swaps them in, keeping the old one until its requests finish. */
export class ModelManager {
  current!: LoadedModel;
  private loads = 0;
  private updating: Promise<boolean> | undefined;
  private readonly uri: ModelUri;
  /** The tracking server registry and run URIs resolve against (none for local files). */
  private readonly tracking?: { client: MlflowClient; uri: string };
  /** Cuts short registry calls still retrying when the server closes. */
  private readonly abort = new AbortController();

  constructor(
    private readonly opts: ModelManagerOptions,
    private readonly pool: SessionRunner,
    private readonly batcher: Batcher,
    private readonly metrics: InferenceMetrics,
    private readonly log: FastifyBaseLogger | undefined,
  ) {
    this.uri = parseModelUri(opts.model);
    if (this.uri.kind !== 'local') {
      const trackingUri = opts.trackingUri ?? process.env.MLFLOW_TRACKING_URI;
      if (!trackingUri) throw new Error(`${opts.model} needs a tracking server: set MLFLOW_TRACKING_URI or --tracking-uri`);
      // Credentials, retries, timeout and TLS fall back to MLflow's environment variables.
      const client = new MlflowClient({
        trackingUri,
        username: opts.trackingUsername,
        password: opts.trackingPassword,
        token: opts.trackingToken,
        signal: this.abort.signal,
      });
      this.tracking = { client, uri: trackingUri };
    }
  }

  /** Alias, stage and latest URIs can move to another version; fixed versions, runs and files cannot. */
  get moving(): boolean {
    return ['alias', 'stage', 'latest'].includes(this.uri.kind);
  }

  private async locate(): Promise<Located> {
    const u = this.uri;
    const cacheDir = this.opts.cacheDir ?? defaultCacheDir();
    if (u.kind === 'local') {
      const base = path.basename(u.path.replace(/\/+$/, ''));
      return { name: this.opts.modelName ?? base.replace(/\.onnx$/, ''), version: '1', location: u.path };
    }
    if (!this.tracking) throw new Error(`${this.opts.model} needs a tracking server`);
    const { client, uri: trackingUri } = this.tracking;
    if (u.kind === 'run') {
      const dir = await cachedDownload(client, trackingUri, u.uri, cacheDir);
      return { name: this.opts.modelName ?? path.posix.basename(u.path), version: u.runId, location: modelLocationIn(dir) };
    }
    const resolved = await client.resolveModelVersion(u);
    if (this.loads > 0 && resolved.version === this.current.version && resolved.name === this.current.name)
      return { name: resolved.name, version: resolved.version, location: '' };
    const dir = await cachedDownload(client, trackingUri, resolved.artifactUri, cacheDir);
    return { name: this.opts.modelName ?? resolved.name, version: resolved.version, location: modelLocationIn(dir) };
  }

  private async load(found: Located): Promise<LoadedModel> {
    const files = readModelFiles(found.location);
    const key = `${found.name}@${found.version}#${++this.loads}`;
    const io = await this.pool.load(key, files.onnxPath);
    try {
      return describeModel(found.name, found.version, this.opts.model, key, files, io);
    } catch (err) {
      this.pool.unload(key);
      throw err;
    }
  }

  /** Stops registry calls in flight (a poll retrying against a tracking server that went away). */
  stop(): void {
    this.abort.abort();
  }

  async loadInitial(): Promise<LoadedModel> {
    this.current = await this.load(await this.locate());
    this.metrics.modelVersion.set({ model: this.current.name, version: this.current.version, source: this.opts.model }, 1);
    return this.current;
  }

  checkForUpdate(): Promise<boolean> {
    // One check at a time: a slow download must not start a second one for the same version.
    this.updating ??= this.update().finally(() => (this.updating = undefined));
    return this.updating;
  }

  private async update(): Promise<boolean> {
    const found = await this.locate();
    if (found.version === this.current.version) return false;
    const next = await this.load(found);
    const old = this.current;
    // The swap is one assignment: requests already holding `old` finish on its sessions.
    this.current = next;
    this.metrics.swaps.inc({ model: next.name });
    this.metrics.modelVersion.remove({ model: old.name, version: old.version, source: this.opts.model });
    this.metrics.modelVersion.set({ model: next.name, version: next.version, source: this.opts.model }, 1);
    this.log?.info({ model: next.name, from: old.version, to: next.version }, 'swapped to a new model version');
    this.retire(old);
    return true;
  }

  /** Unloads a swapped-out version once nothing queued or running still uses it. */
  private retire(old: LoadedModel): void {
    const check = () => {
      if (this.batcher.pending(old.key) > 0) return void setTimeout(check, 50).unref();
      this.pool.unload(old.key);
    };
    check();
  }
}
