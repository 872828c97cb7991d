/** The JSON shapes of MLflow's protobuf messages (service.proto), as the REST API returns them. */
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
export const VIEW_TYPES = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const;

export interface KeyValue {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: string;
  last_update_time?: number;
  creation_time?: number;
  tags?: KeyValue[];
}

/** protobuf JSON writes non-finite doubles as strings. */
export type JsonDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export function jsonDouble(v: number): JsonDouble {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

export interface Metric {
  key: string;
  value: JsonDouble;
  timestamp: number;
  step: number;
  run_id?: string;
}

export interface RunInfo {
  run_id: string;
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: string;
}

export interface DatasetInput {
  tags: KeyValue[];
  dataset: { name: string; digest: string; source_type: string; source: string; schema?: string; profile?: string };
}

export interface Run {
  info: RunInfo;
  data: { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] };
  inputs: { dataset_inputs: DatasetInput[]; model_inputs: { model_id: string }[] };
  outputs: { model_outputs: { model_id: string; step: number }[] };
}

/** A metric as a client logs it (value already parsed; NaN/±Infinity allowed). */
export interface MetricInput {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  /** MLflow 3: the logged model this point also belongs to (stored in logged_model_metrics too). */
  model_id?: string;
  /** The dataset the metric was computed on; only kept for logged-model metrics, as MLflow does. */
  dataset_name?: string;
  dataset_digest?: string;
}
