import { setTimeout as delay } from 'node:timers/promises';
import { downloadArtifacts, uploadArtifact } from './artifacts';
import { resolveConnection, type MlflowConnectionOptions } from './config';
import { MlflowApiError } from './errors';
import { MlflowHttp, type MlflowHttpHooks } from './http';
import type { RegistryModelUri } from './model-uri';
import type { ModelVersion, ResolvedVersion, Run, RunInfo } from './types';

export interface MlflowClientOptions extends MlflowConnectionOptions, MlflowHttpHooks {}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

const isCode = (err: unknown, ...codes: string[]): boolean => err instanceof MlflowApiError && codes.includes(err.errorCode);

/**
 * The runtime's one client of the MLflow REST API (tracking, registry, artifacts): what `mlops train`,
 * `promote`, `retrain`, `serve` and the local platform need, configured as MLflow's own client is (see
 * MlflowConnectionOptions) and retrying as it does (see retry.ts).
 */
export class MlflowClient {
  readonly http: MlflowHttp;

  constructor(opts: MlflowClientOptions = {}) {
    this.http = new MlflowHttp(resolveConnection(opts), opts);
  }

  get trackingUri(): string {
    return this.http.trackingUri;
  }

  /** A call under /api/2.0/mlflow: GET payloads go in the query, others in a JSON body. */
  api<T>(method: Method, endpoint: string, payload?: Record<string, unknown>): Promise<T> {
    const path = `/api/2.0/mlflow/${endpoint}`;
    if (method === 'GET') return this.http.json<T>({ method, path, query: payload as Record<string, string | number | boolean | undefined> | undefined });
    return this.http.json<T>({ method, path, json: payload ?? {} });
  }

  // --- tracking -------------------------------------------------------------------------------------
  async getOrCreateExperiment(name: string): Promise<string> {
    const byName = async () =>
      (await this.api<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { experiment_name: name })).experiment.experiment_id;
    try {
      return await byName();
    } catch (err) {
      if (!isCode(err, 'RESOURCE_DOES_NOT_EXIST')) throw err;
    }
    try {
      return (await this.api<{ experiment_id: string }>('POST', 'experiments/create', { name })).experiment_id;
    } catch (err) {
      // Another job created it in between.
      if (isCode(err, 'RESOURCE_ALREADY_EXISTS')) return byName();
      throw err;
    }
  }

  async createRun(experimentId: string, runName: string, tags: Record<string, string> = {}): Promise<RunInfo> {
    const r = await this.api<{ run: Run }>('POST', 'runs/create', {
      experiment_id: experimentId,
      run_name: runName,
      start_time: Date.now(),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return r.run.info;
  }

  async logBatch(
    runId: string,
    batch: { params?: Record<string, string | number>; metrics?: Record<string, number>; tags?: Record<string, string> },
  ): Promise<void> {
    const now = Date.now();
    await this.api('POST', 'runs/log-batch', {
      run_id: runId,
      params: Object.entries(batch.params ?? {}).map(([key, value]) => ({ key, value: String(value) })),
      metrics: Object.entries(batch.metrics ?? {}).map(([key, value]) => ({ key, value, timestamp: now, step: 0 })),
      tags: Object.entries(batch.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
  }

  async finishRun(runId: string, status: 'FINISHED' | 'FAILED' | 'KILLED'): Promise<void> {
    await this.api('POST', 'runs/update', { run_id: runId, status, end_time: Date.now() });
  }

  async getRun(runId: string): Promise<Run> {
    return (await this.api<{ run: Run }>('GET', 'runs/get', { run_id: runId })).run;
  }

  // --- artifacts ------------------------------------------------------------------------------------
  /** Uploads one file under a run's artifact URI (proxied through the server, or into file:// / s3://). */
  uploadArtifact(artifactUri: string, relPath: string, data: Buffer): Promise<void> {
    return uploadArtifact(this.http, artifactUri, relPath, data);
  }

  /** Downloads every file under an artifact URI (mlflow-artifacts:/, runs:/, file://) into `dest`. */
  downloadArtifacts(artifactUri: string, dest: string): Promise<void> {
    return downloadArtifacts(this.http, artifactUri, dest);
  }

  // --- registry -------------------------------------------------------------------------------------
  async ensureRegisteredModel(name: string, description?: string): Promise<void> {
    try {
      await this.api('POST', 'registered-models/create', { name, ...(description ? { description } : {}) });
    } catch (err) {
      if (!isCode(err, 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
  }

  async createModelVersion(name: string, source: string, runId: string, description?: string): Promise<ModelVersion> {
    let mv = (
      await this.api<{ model_version: ModelVersion }>('POST', 'model-versions/create', { name, source, run_id: runId, ...(description ? { description } : {}) })
    ).model_version;
    // MLflow's client waits for READY too; our server answers READY at once, others may not.
    for (let i = 0; i < 150 && mv.status === 'PENDING_REGISTRATION'; i++) {
      await delay(200);
      mv = await this.getModelVersion(name, mv.version);
    }
    if (mv.status && mv.status !== 'READY') throw new Error(`model version ${name}/${mv.version} is ${mv.status}`);
    return mv;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return (await this.api<{ model_version: ModelVersion }>('GET', 'model-versions/get', { name, version })).model_version;
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return (await this.api<{ model_version: ModelVersion }>('GET', 'registered-models/alias', { name, alias })).model_version;
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.api('POST', 'registered-models/alias', { name, alias, version });
  }

  /** Highest version among the latest per stage (only `stage` when given), as `models:/<name>/<stage|latest>` means. */
  async latestVersion(name: string, stage?: string): Promise<ModelVersion | undefined> {
    const body = stage ? { name, stages: [stage] } : { name };
    const versions = (await this.api<{ model_versions?: ModelVersion[] }>('POST', 'registered-models/get-latest-versions', body)).model_versions ?? [];
    return versions.sort((a, b) => Number(b.version) - Number(a.version))[0];
  }

  /** models:/ URI → the registered version it names now, and where its files are. */
  async resolveModelVersion(uri: RegistryModelUri): Promise<ResolvedVersion> {
    let mv: ModelVersion | undefined;
    if (uri.kind === 'alias') mv = await this.getModelVersionByAlias(uri.name, uri.alias);
    else if (uri.kind === 'version') mv = await this.getModelVersion(uri.name, uri.version);
    else mv = await this.latestVersion(uri.name, uri.kind === 'stage' ? uri.stage : undefined);
    if (!mv) {
      const path = '/api/2.0/mlflow/registered-models/get-latest-versions';
      throw new MlflowApiError(
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `${uri.uri}: registered model '${uri.name}' has no version${uri.kind === 'stage' ? ` in stage ${uri.stage}` : ''}`,
        'POST',
        path,
      );
    }
    const { artifact_uri } = await this.api<{ artifact_uri: string }>('GET', 'model-versions/get-download-uri', { name: mv.name, version: mv.version });
    return { name: mv.name, version: mv.version, artifactUri: artifact_uri || mv.source || '', runId: mv.run_id };
  }
}
