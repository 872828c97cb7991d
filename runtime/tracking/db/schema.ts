import type { ColumnType, Generated, Kysely } from 'kysely';

/**
 * The schema of every table in the tracking database (tracking, registry and logged models, auth),
 * shared by the SQLite and PostgreSQL stores: one database type, so every store reads the same
 * Kysely instance without casts. Names and keys follow MLflow's SQL stores so the semantics
 * (idempotent metric inserts, one latest value per key) carry over.
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

/** The tables of experiments and runs (migrations 0001, 0002, 0005). */
export interface TrackingTables {
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

/** Tables added by migration 0003_registry (names and columns after MLflow's SQL stores). */
export interface RegisteredModelsTable {
  name: string;
  creation_time: number;
  last_updated_time: number;
  description: string | null;
  user_id: string | null;
  /** Highest version number handed out so far (deleted versions included); the next one is this + 1. */
  last_version: Generated<number>;
}

export interface RegisteredModelTagsTable {
  name: string;
  key: string;
  value: string | null;
}

export interface ModelVersionsTable {
  name: string;
  version: number;
  creation_time: number;
  last_updated_time: number;
  description: string | null;
  user_id: string | null;
  current_stage: string;
  source: string;
  /** Where the artifacts really are (a `models:/m-…` source resolves to the logged model's location). */
  storage_location: string | null;
  run_id: string | null;
  run_link: string | null;
  status: string;
  status_message: string | null;
  model_id: string | null;
}

export interface ModelVersionTagsTable {
  name: string;
  version: number;
  key: string;
  value: string | null;
}

export interface RegisteredModelAliasesTable {
  name: string;
  alias: string;
  version: number;
}

export interface RegistryAuditTable {
  id: Generated<number>;
  timestamp: number;
  user_id: string | null;
  action: string;
  name: string;
  version: number | null;
  from_stage: string | null;
  to_stage: string | null;
  alias: string | null;
  run_id: string | null;
  source: string | null;
  previous_name: string | null;
}

export interface LoggedModelsTable {
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_location: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  status: string;
  lifecycle_stage: string;
  model_type: string | null;
  source_run_id: string | null;
  status_message: string | null;
  creator_id: string | null;
}

export interface LoggedModelTagsTable {
  model_id: string;
  tag_key: string;
  tag_value: string;
}

export interface LoggedModelParamsTable {
  model_id: string;
  param_key: string;
  param_value: string;
}

export interface RegistryTables {
  registered_models: RegisteredModelsTable;
  registered_model_tags: RegisteredModelTagsTable;
  model_versions: ModelVersionsTable;
  model_version_tags: ModelVersionTagsTable;
  registered_model_aliases: RegisteredModelAliasesTable;
  registry_audit: RegistryAuditTable;
  logged_models: LoggedModelsTable;
  logged_model_tags: LoggedModelTagsTable;
  logged_model_params: LoggedModelParamsTable;
}

/**
 * The basic-auth tables (migration 0004_auth), shaped like MLflow's auth store
 * (mlflow/server/auth/db/models.py): users, and one permission row per (user, experiment) and per
 * (user, registered model). They live in the tracking database rather than a second one, so one
 * backup and one migration job cover both.
 */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  /**
   * usernameKey(username) (usernames.ts), unique: names differing only in case or look-alike letters
   * collide. NULL only for accounts that already had such a twin when migration 0006 ran.
   */
  username_key: string | null;
  /** `scrypt$N$r$p$salt$hash` (base64 parts): see passwords.ts. */
  password_hash: string;
  /** 0/1 (SQLite has no boolean type; PostgreSQL stores the same integer). */
  is_admin: number;
}

export interface ExperimentPermissionsTable {
  id: Generated<number>;
  /** Canonical decimal id (`String(Number(id))`), so `01` can never name a second row for experiment 1. */
  experiment_id: string;
  user_id: number;
  permission: string;
}

export interface RegisteredModelPermissionsTable {
  id: Generated<number>;
  name: string;
  user_id: number;
  permission: string;
}

export interface AuthTables {
  users: UsersTable;
  experiment_permissions: ExperimentPermissionsTable;
  registered_model_permissions: RegisteredModelPermissionsTable;
}

/** MLflow 3 traces (migration 0007_traces), after MLflow's SQL store. */
export interface TraceInfoTable {
  request_id: string;
  experiment_id: number;
  timestamp_ms: number;
  execution_time_ms: number | null;
  /** TraceInfoV3.State name: OK, ERROR, IN_PROGRESS or STATE_UNSPECIFIED. */
  status: string;
  client_request_id: string | null;
  request_preview: string | null;
  response_preview: string | null;
}

/** trace_tags and trace_request_metadata. */
export interface TraceKeyValueTable {
  request_id: string;
  key: string;
  value: string | null;
}

export interface AssessmentsTable {
  assessment_id: string;
  trace_id: string;
  name: string;
  assessment_type: string;
  value: string;
  error: string | null;
  created_timestamp: number;
  last_updated_timestamp: number;
  source_type: string;
  source_id: string | null;
  span_id: string | null;
  rationale: string | null;
  overrides: string | null;
  /** 0/1. */
  valid: number;
  assessment_metadata: string | null;
}

export interface TraceRunLinksTable {
  request_id: string;
  run_id: string;
}

export interface TraceTables {
  trace_info: TraceInfoTable;
  trace_tags: TraceKeyValueTable;
  trace_request_metadata: TraceKeyValueTable;
  assessments: AssessmentsTable;
  trace_run_links: TraceRunLinksTable;
}

/** Every table of the tracking database. */
export interface Database extends TrackingTables, RegistryTables, AuthTables, TraceTables {}

export type TrackingDb = Kysely<Database>;

/** The same database type under the registry's former name (kept for callers of the public exports). */
export type RegistryDatabase = Database;
export type RegistryDb = TrackingDb;
/** The same database type under the auth store's former name. */
export type AuthDatabase = Database;
export type AuthDb = TrackingDb;
