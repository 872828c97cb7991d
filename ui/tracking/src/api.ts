// Typed calls to the tracking server's MLflow REST API (field names as in MLflow's service.proto and
// model_registry.proto). Paths are relative to the page, so the UI works under an ingress path prefix;
// credentials ride along same-origin, so the ingress's or the server's basic auth (the browser's own
// 401 prompt) covers every request.

export interface KeyValue {
  key: string;
  value: string;
}
/** A double as MLflow's JSON carries it: NaN and the infinities are strings. */
export type JsonDouble = number | 'NaN' | 'Infinity' | '-Infinity';
export interface Metric {
  key: string;
  value: JsonDouble;
  timestamp: number;
  step: number;
  run_id?: string;
}
export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  creation_time?: number;
  last_update_time?: number;
  tags?: KeyValue[];
}
export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status?: string;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
}
/** A dataset as `mlflow.log_input` records it (service.proto Dataset); schema and profile are JSON text. */
export interface Dataset {
  name: string;
  digest: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}
export interface DatasetInput {
  tags?: KeyValue[];
  dataset: Dataset;
}
export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[]; model_inputs?: { model_id: string }[] };
  outputs?: { model_outputs?: { model_id: string; step?: number }[] };
}
/** An MLflow 3 logged model (service.proto LoggedModel): its files live under its own artifact location. */
export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    artifact_uri?: string;
    creation_timestamp_ms?: number;
    last_updated_timestamp_ms?: number;
    model_type?: string;
    source_run_id?: string;
    status?: string;
    tags?: KeyValue[];
    registrations?: { name: string; version: string }[];
  };
  data?: { params?: KeyValue[]; metrics?: Metric[] };
}
export interface FileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}
export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  user_id?: string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  run_link?: string;
  aliases?: string[];
  tags?: KeyValue[];
}
export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: ModelVersion[];
  aliases?: { alias: string; version: string }[];
  tags?: KeyValue[];
}

/** An error the server answered with (MLflow's `{error_code, message}`), or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** MLflow 3 trace info (service.proto TraceInfoV3) in protobuf JSON: times as RFC 3339, durations as "<seconds>s". */
export interface TraceInfo {
  trace_id: string;
  client_request_id?: string;
  trace_location?: { type?: string; mlflow_experiment?: { experiment_id: string } };
  request_preview?: string;
  response_preview?: string;
  request_time?: string;
  execution_duration?: string;
  state?: string;
  trace_metadata?: Record<string, string>;
  assessments?: Assessment[];
  tags?: Record<string, string>;
}
/** A feedback or expectation on a trace (assessments.proto Assessment). */
export interface Assessment {
  assessment_id: string;
  assessment_name: string;
  trace_id?: string;
  span_id?: string;
  source?: { source_type?: string; source_id?: string };
  create_time?: string;
  last_update_time?: string;
  feedback?: { value?: unknown; error?: { error_code?: string; error_message?: string } };
  expectation?: { value?: unknown; serialized_value?: { serialization_format?: string; value?: string } };
  rationale?: string;
  metadata?: Record<string, string>;
  overrides?: string;
  valid?: boolean;
}

/** Registered-model tag marking a prompt (mlflow/prompt/constants.py IS_PROMPT_TAG_KEY). */
export const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt';

const API = 'ajax-api/2.0/mlflow';
const API_V3 = 'ajax-api/3.0/mlflow';
/** The artifact proxy (`mlflow-artifacts:` locations), where the client uploads a trace's spans. */
export const ARTIFACTS_API = 'ajax-api/2.0/mlflow-artifacts/artifacts';

type Query = Record<string, string | number | string[] | undefined>;

function queryString(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === '') continue;
    for (const item of Array.isArray(v) ? v : [v]) p.append(k, String(item));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

async function request<T>(method: 'GET' | 'POST', path: string, query: Query = {}, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${path}${queryString(query)}`, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'NETWORK_ERROR', `Cannot reach the tracking server (${(e as Error).message}). Check that it is running and reload.`);
  }
  const text = await res.text();
  let json: unknown = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {};
  }
  if (!res.ok) {
    const err = json as { error_code?: string; message?: string };
    const fallback =
      res.status === 401 || res.status === 403
        ? 'You are not signed in or not allowed to see this; reload the page to sign in again.'
        : `HTTP ${res.status} ${res.statusText}`;
    throw new ApiError(res.status, err.error_code ?? `HTTP_${res.status}`, err.message ?? fallback);
  }
  return json as T;
}

export const api = {
  searchExperiments: (filter: string, pageToken?: string, maxResults = 50) =>
    request<{ experiments?: Experiment[]; next_page_token?: string }>(
      'POST',
      `${API}/experiments/search`,
      {},
      {
        filter: filter || undefined,
        max_results: maxResults,
        page_token: pageToken || undefined,
        order_by: ['last_update_time DESC'],
      },
    ),
  getExperiment: (id: string) => request<{ experiment: Experiment }>('GET', `${API}/experiments/get`, { experiment_id: id }),
  searchRuns: (experimentId: string, filter: string, orderBy: string[], pageToken?: string, maxResults = 25) =>
    request<{ runs?: Run[]; next_page_token?: string }>(
      'POST',
      `${API}/runs/search`,
      {},
      {
        experiment_ids: [experimentId],
        filter: filter || undefined,
        order_by: orderBy.length ? orderBy : undefined,
        max_results: maxResults,
        page_token: pageToken || undefined,
      },
    ),
  getRun: (runId: string) => request<{ run: Run }>('GET', `${API}/runs/get`, { run_id: runId }),
  /** Runs whose `mlflow.parentRunId` tag names this run (autolog's tuning candidates, nested runs). */
  childRuns: (experimentId: string, parentRunId: string, maxResults = 100, alsoMatching = '') =>
    request<{ runs?: Run[]; next_page_token?: string }>(
      'POST',
      `${API}/runs/search`,
      {},
      {
        experiment_ids: [experimentId],
        // The filter DSL has only `and`, so a table filter composes by appending it.
        filter: [`tags.mlflow.parentRunId = '${quote(parentRunId)}'`, alsoMatching.trim()].filter(Boolean).join(' and '),
        order_by: ['attributes.start_time DESC'],
        max_results: maxResults,
      },
    ),
  // Editing goes through the clients' endpoints, so the server's permissions (UPDATE on the experiment) apply.
  renameRun: (runId: string, runName: string) => request<{ run_info: RunInfo }>('POST', `${API}/runs/update`, {}, { run_id: runId, run_name: runName }),
  setTag: (runId: string, key: string, value: string) => request<object>('POST', `${API}/runs/set-tag`, {}, { run_id: runId, key, value }),
  deleteTag: (runId: string, key: string) => request<object>('POST', `${API}/runs/delete-tag`, {}, { run_id: runId, key }),
  /** The run's MLflow 3 logged models: those it produced (source_run_id). */
  loggedModelsOfRun: (experimentId: string, runId: string) =>
    request<{ models?: LoggedModel[] }>(
      'POST',
      `${API}/logged-models/search`,
      {},
      {
        experiment_ids: [experimentId],
        filter: `source_run_id = '${quote(runId)}'`,
        max_results: 100,
      },
    ),
  getLoggedModel: (modelId: string) => request<{ model: LoggedModel }>('GET', `${API}/logged-models/${encodeURIComponent(modelId)}`),
  listLoggedModelArtifacts: (modelId: string, path: string) =>
    request<{ root_uri?: string; files?: FileInfo[]; next_page_token?: string }>(
      'GET',
      `${API}/logged-models/${encodeURIComponent(modelId)}/artifacts/directories`,
      {
        artifact_directory_path: path || undefined,
      },
    ),
  /** Registered model versions whose source is this run (model-versions/search by run_id). */
  modelVersionsOfRun: (runId: string) =>
    request<{ model_versions?: ModelVersion[] }>('GET', `${API}/model-versions/search`, { filter: `run_id = '${quote(runId)}'`, max_results: 200 }),
  /** Downsampled history of one metric for up to 100 runs (every run's first and last step kept). */
  historyBulkInterval: (runIds: string[], metricKey: string, maxResults = 1000, steps?: { from: number; to: number }) =>
    request<{ metrics?: Metric[] }>('GET', `${API}/metrics/get-history-bulk-interval`, {
      run_ids: runIds,
      metric_key: metricKey,
      max_results: maxResults,
      start_step: steps?.from,
      end_step: steps?.to,
    }),
  listArtifacts: (runId: string, path: string, pageToken?: string) =>
    request<{ root_uri?: string; files?: FileInfo[]; next_page_token?: string }>('GET', `${API}/artifacts/list`, {
      run_id: runId,
      path: path || undefined,
      page_token: pageToken,
    }),
  searchRegisteredModels: (filter: string, pageToken?: string) =>
    request<{ registered_models?: RegisteredModel[]; next_page_token?: string }>('GET', `${API}/registered-models/search`, {
      filter: filter || undefined,
      max_results: 50,
      page_token: pageToken,
    }),
  getRegisteredModel: (name: string) => request<{ registered_model: RegisteredModel }>('GET', `${API}/registered-models/get`, { name }),
  searchModelVersions: (name: string) =>
    request<{ model_versions?: ModelVersion[] }>('GET', `${API}/model-versions/search`, {
      filter: `name='${quote(name)}'`,
      max_results: 200,
      order_by: ['version_number DESC'],
    }),
  /** SearchTracesV3 over one experiment, newest first; `filter` is MLflow's trace filter syntax, passed as typed. */
  searchTraces: (experimentId: string, filter: string, pageToken?: string, maxResults = 25) =>
    request<{ traces?: TraceInfo[]; next_page_token?: string }>(
      'POST',
      `${API_V3}/traces/search`,
      {},
      {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        filter: filter || undefined,
        max_results: maxResults,
        order_by: ['timestamp_ms DESC'],
        page_token: pageToken || undefined,
      },
    ),
  getTraceInfo: (traceId: string) => request<{ trace: { trace_info: TraceInfo } }>('GET', `${API_V3}/traces/${encodeURIComponent(traceId)}`),
  /** Prompts as the client's search_prompts finds them: registered models tagged as prompts, `filter` ANDed on. */
  searchPrompts: (filter: string, pageToken?: string) =>
    request<{ registered_models?: RegisteredModel[]; next_page_token?: string }>('GET', `${API}/registered-models/search`, {
      filter: [`tags.\`${IS_PROMPT_TAG}\` = 'true'`, filter].filter(Boolean).join(' AND '),
      max_results: 50,
      page_token: pageToken,
    }),
  /** A prompt's versions, newest first, as the client's search_prompt_versions asks for them. */
  searchPromptVersions: (name: string) =>
    request<{ model_versions?: ModelVersion[] }>('GET', `${API}/model-versions/search`, {
      filter: `name = '${quote(name)}' AND tag.\`${IS_PROMPT_TAG}\` = 'true'`,
      max_results: 200,
      order_by: ['version_number DESC'],
    }),
  auditTrail: (name: string) =>
    request<{ entries?: AuditEntry[]; events?: AuditEntry[]; audit?: AuditEntry[] }>('GET', `${API}/model-versions/audit`, { name }),
};

/** One registry change as the server's audit endpoint reports it; fields beyond these are shown raw. */
export interface AuditEntry {
  timestamp?: number;
  user_id?: string;
  user?: string;
  action?: string;
  name?: string;
  version?: string;
  [field: string]: unknown;
}

/** A value inside a single-quoted filter string: the server's filter DSL escapes a quote by doubling it, as SQL does. */
export function quote(value: string): string {
  return value.replace(/'/g, "''");
}

/** Where one artifact of a run or of a logged model is read: the run's root, or the model's own. */
export type ArtifactSource = { kind: 'run'; run: RunInfo } | { kind: 'model'; modelId: string };

/** URL that downloads a file of a logged model (MLflow's `logged-models/<id>/artifacts/files`). */
export function loggedModelArtifactUrl(modelId: string, path: string): string {
  return `${API}/logged-models/${encodeURIComponent(modelId)}/artifacts/files${queryString({ artifact_file_path: path })}`;
}

export function sourceUrl(source: ArtifactSource, path: string): string {
  return source.kind === 'run' ? artifactUrl(source.run, path) : loggedModelArtifactUrl(source.modelId, path);
}

/** URL that downloads one artifact: the server's `/get-artifact`, which reads proxied (`mlflow-artifacts:`) and direct roots alike. */
export function artifactUrl(run: RunInfo, path: string): string {
  return `get-artifact${queryString({ run_id: run.run_id, path })}`;
}
