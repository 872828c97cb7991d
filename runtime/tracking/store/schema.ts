import type { ColumnType, Generated, Kysely } from 'kysely';

/**
 * The tracking store's tables, shared by the SQLite and PostgreSQL stores. Names and keys follow
 * MLflow's SQL store so the semantics (idempotent metric inserts, one latest value per key) carry over.
 * Other parts (model registry, auth) extend this interface with their own tables and add migrations.
 */
export interface ExperimentsTable {
  experiment_id: Generated<number>;
  name: string;
  artifact_location: string | null;
  lifecycle_stage: string;
  creation_time: number | null;
  last_update_time: number | null;
}

export interface ExperimentTagsTable {
  experiment_id: number;
  key: string;
  value: string | null;
}

export interface RunsTable {
  run_uuid: string;
  name: string | null;
  source_type: string | null;
  source_name: string | null;
  entry_point_name: string | null;
  user_id: string | null;
  status: string;
  start_time: number | null;
  end_time: number | null;
  deleted_time: number | null;
  source_version: string | null;
  lifecycle_stage: string;
  artifact_uri: string | null;
  experiment_id: number;
}

export interface MetricsTable {
  run_uuid: string;
  key: string;
  value: number;
  timestamp: number;
  step: number;
  /** 0/1: NaN is stored as value 0 with is_nan 1, as MLflow does, since neither store orders NaN. */
  is_nan: number;
}

export type LatestMetricsTable = MetricsTable;

export interface ParamsTable {
  run_uuid: string;
  key: string;
  value: string;
}

export interface TagsTable {
  run_uuid: string;
  key: string;
  value: string | null;
}

export interface DatasetsTable {
  dataset_uuid: string;
  experiment_id: number;
  name: string;
  digest: string;
  dataset_source_type: string;
  dataset_source: string;
  dataset_schema: string | null;
  dataset_profile: string | null;
}

/** Links between entities: dataset → run (inputs), model → run (inputs), run → model (outputs). */
export interface InputsTable {
  input_uuid: string;
  source_type: string;
  source_id: string;
  destination_type: string;
  destination_id: string;
  step: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface InputTagsTable {
  input_uuid: string;
  name: string;
  value: string;
}

/** Points logged with a `model_id` (MLflow's logged_model_metrics); '' stands for no dataset. */
export interface LoggedModelMetricsTable {
  model_id: string;
  metric_name: string;
  metric_timestamp_ms: number;
  metric_step: number;
  metric_value: number;
  is_nan: number;
  experiment_id: number;
  run_id: string;
  dataset_name: string;
  dataset_digest: string;
}

export interface Database {
  experiments: ExperimentsTable;
  experiment_tags: ExperimentTagsTable;
  runs: RunsTable;
  metrics: MetricsTable;
  latest_metrics: LatestMetricsTable;
  logged_model_metrics: LoggedModelMetricsTable;
  params: ParamsTable;
  tags: TagsTable;
  datasets: DatasetsTable;
  inputs: InputsTable;
  input_tags: InputTagsTable;
}

export type TrackingDb = Kysely<Database>;
