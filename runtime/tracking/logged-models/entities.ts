import type { JsonDouble, KeyValue } from '../runs/entities';

/** MLflow 3 logged models as the REST API returns them (service.proto LoggedModel). */
export const LOGGED_MODEL_STATUSES = ['LOGGED_MODEL_STATUS_UNSPECIFIED', 'LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    artifact_uri: string;
    status: LoggedModelStatus;
    model_type?: string;
    source_run_id?: string;
    status_message?: string;
    tags: KeyValue[];
    registrations: { name: string; version: string }[];
  };
  data: {
    params: KeyValue[];
    /** Every point logged with this model_id (MLflow returns the full history, not only the latest). */
    metrics: LoggedModelMetric[];
  };
}

/** service.proto Metric as a logged model reports it: the run and dataset it was logged with. */
export interface LoggedModelMetric {
  key: string;
  value: JsonDouble;
  timestamp: number;
  step: number;
  run_id: string;
  model_id: string;
  dataset_name?: string;
  dataset_digest?: string;
}
