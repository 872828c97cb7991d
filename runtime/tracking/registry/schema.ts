import type { Generated, Kysely } from 'kysely';
import type { Database } from '../store/schema';

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

export type RegistryDatabase = Database & RegistryTables;
export type RegistryDb = Kysely<RegistryDatabase>;
