import { Readable } from 'node:stream';

/**
 * A small client for the MLflow REST API (tracking, registry, proxied artifacts) — what `mlops train`,
 * `mlops promote` and `mlops retrain` need, configured like MLflow's own client from the environment:
 * MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (basic auth) or
 * MLFLOW_TRACKING_TOKEN (bearer), MLFLOW_TRACKING_INSECURE_TLS is not supported (use a proper CA).
 */

export interface MlflowClientOptions {
  /** Base URL of the tracking server, e.g. http://127.0.0.1:5000. Default: MLFLOW_TRACKING_URI. */
  trackingUri?: string;
  username?: string;
  password?: string;
  token?: string;
  /** Attempts for connection errors and 503/429 answers (the server may still be starting). Default 5. */
  attempts?: number;
  env?: NodeJS.ProcessEnv;
}

/** An error answer of the server, with MLflow's error code. */
export class MlflowApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'MlflowApiError';
  }
}

export interface RunInfo {
  run_id: string;
  experiment_id: string;
  artifact_uri: string;
  status: string;
  run_name?: string;
}
export interface RunData {
  metrics?: { key: string; value: number; step?: number; timestamp?: number }[];
  params?: { key: string; value: string }[];
  tags?: { key: string; value: string }[];
}
export interface Run {
  info: RunInfo;
  data: RunData;
}
export interface ModelVersion {
  name: string;
  version: string;
  source?: string;
  run_id?: string;
  status?: string;
  aliases?: string[];
  current_stage?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MlflowClient {
  readonly trackingUri: string;
  private readonly auth?: string;
  private readonly attempts: number;

  constructor(opts: MlflowClientOptions = {}) {
    const env = opts.env ?? process.env;
    const uri = opts.trackingUri ?? env.MLFLOW_TRACKING_URI;
    if (!uri) throw new Error('no tracking server: set MLFLOW_TRACKING_URI or pass --tracking-uri');
    if (!/^https?:\/\//.test(uri)) throw new Error(`MLFLOW_TRACKING_URI must be an http(s) URL of a tracking server (got ${uri})`);
    this.trackingUri = uri.replace(/\/+$/, '');
    const username = opts.username ?? env.MLFLOW_TRACKING_USERNAME;
    const password = opts.password ?? env.MLFLOW_TRACKING_PASSWORD;
    const token = opts.token ?? env.MLFLOW_TRACKING_TOKEN;
    if (username !== undefined && password !== undefined && username !== '') this.auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    else if (token) this.auth = `Bearer ${token}`;
    this.attempts = opts.attempts ?? 5;
  }

  private async request(method: string, path: string, init: { json?: unknown; body?: Buffer; contentType?: string } = {}): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.auth) headers.authorization = this.auth;
    let body: Buffer | string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.body) {
      headers['content-type'] = init.contentType ?? 'application/octet-stream';
      body = init.body;
    }
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.trackingUri + path, { method, headers, body });
      } catch (err) {
        lastError = err;
        if (attempt < this.attempts) await sleep(200 * 2 ** attempt);
        continue;
      }
      const text = await res.text();
      if ((res.status === 503 || res.status === 429) && attempt < this.attempts) {
        lastError = new MlflowApiError(res.status, 'TEMPORARILY_UNAVAILABLE', text, path);
        await sleep(200 * 2 ** attempt);
        continue;
      }
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = undefined;
      }
      if (!res.ok) {
        const e = (parsed ?? {}) as { error_code?: string; message?: string };
        throw new MlflowApiError(res.status, e.error_code ?? `HTTP_${res.status}`, e.message ?? (text.slice(0, 200) || res.statusText), path);
      }
      return parsed ?? {};
    }
    const cause = lastError instanceof Error ? ((lastError as Error & { cause?: Error }).cause?.message ?? lastError.message) : String(lastError);
    throw new Error(`tracking server ${this.trackingUri} unreachable (${method} ${path}): ${cause}`);
  }

  private api<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', endpoint: string, payload?: Record<string, unknown>): Promise<T> {
    if (method === 'GET' && payload) {
      const q = new URLSearchParams(Object.entries(payload).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
      return this.request('GET', `/api/2.0/mlflow/${endpoint}?${q}`) as Promise<T>;
    }
    return this.request(method, `/api/2.0/mlflow/${endpoint}`, { json: payload ?? {} }) as Promise<T>;
  }

  // --- tracking -------------------------------------------------------------------------------------
  async getOrCreateExperiment(name: string): Promise<string> {
    try {
      const r = await this.api<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { experiment_name: name });
      return r.experiment.experiment_id;
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw err;
    }
    try {
      return (await this.api<{ experiment_id: string }>('POST', 'experiments/create', { name })).experiment_id;
    } catch (err) {
      // Another job created it in between.
      if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        return (await this.api<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { experiment_name: name })).experiment.experiment_id;
      }
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

  async logBatch(runId: string, batch: { params?: Record<string, string | number>; metrics?: Record<string, number>; tags?: Record<string, string> }): Promise<void> {
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

  /**
   * Uploads one artifact under the run's artifact URI: proxied (`mlflow-artifacts:`) through this server,
   * or straight into a `file://` / `s3://` store (servers run with --no-serve-artifacts; S3 settings from
   * MLFLOW_S3_ENDPOINT_URL and the AWS environment, as MLflow's client does).
   */
  async uploadArtifact(artifactUri: string, relPath: string, data: Buffer): Promise<void> {
    const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
    if (proxied) {
      const base = proxied[1].replace(/\/+$/, '');
      const path = [base, relPath].filter(Boolean).join('/').split('/').map(encodeURIComponent).join('/');
      await this.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${path}`, { body: data });
      return;
    }
    const { artifactRepositoryFor } = await import('../tracking/artifacts');
    const repo = artifactRepositoryFor(artifactUri, { create: true });
    try {
      await repo.put(relPath, Readable.from([data]));
    } finally {
      repo.close?.();
    }
  }

  // --- registry -------------------------------------------------------------------------------------
  async ensureRegisteredModel(name: string, description?: string): Promise<void> {
    try {
      await this.api('POST', 'registered-models/create', { name, ...(description ? { description } : {}) });
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
  }

  async createModelVersion(name: string, source: string, runId: string, description?: string): Promise<ModelVersion> {
    let mv = (await this.api<{ model_version: ModelVersion }>('POST', 'model-versions/create', { name, source, run_id: runId, ...(description ? { description } : {}) })).model_version;
    // MLflow's client waits for READY too; our server answers READY at once, others may not.
    for (let i = 0; i < 150 && mv.status === 'PENDING_REGISTRATION'; i++) {
      await sleep(200);
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
}
