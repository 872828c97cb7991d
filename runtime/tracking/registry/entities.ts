import type { KeyValue } from '../runs/entities';

/** JSON shapes of model_registry.proto, as the REST API returns them. */

/** MLflow's stages, in canonical spelling; requests may use any case. */
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
/** The stages archive_existing_versions may be combined with (MLflow's DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS). */
export const ACTIVE_STAGES: readonly Stage[] = ['Staging', 'Production'];

export type ModelVersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: string;
  description?: string;
  source: string;
  run_id?: string;
  status: ModelVersionStatus;
  status_message?: string;
  tags: KeyValue[];
  run_link?: string;
  aliases: string[];
  model_id?: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  description?: string;
  latest_versions: ModelVersion[];
  tags: KeyValue[];
  aliases: { alias: string; version: string }[];
}

/** One registry change, as `GET /model-versions/audit` returns it (absent fields are null). */
export interface AuditEntry {
  id: number;
  timestamp: number;
  user_id: string | null;
  action: AuditAction;
  name: string;
  version: string | null;
  from_stage: string | null;
  to_stage: string | null;
  alias: string | null;
  run_id: string | null;
  source: string | null;
  previous_name: string | null;
}

export type AuditAction =
  | 'create_registered_model'
  | 'rename_registered_model'
  | 'delete_registered_model'
  | 'create_model_version'
  | 'transition_stage'
  | 'set_alias'
  | 'delete_alias'
  | 'delete_model_version';
