/** The shapes of the MLflow REST API 2.0 answers the runtime reads (a subset of service.proto's messages). */

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
/** One entry of an artifact listing (`artifacts/list`, `mlflow-artifacts/artifacts`). */
export interface ArtifactFileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number | string;
}
/** A resolved model version: what to download and how to label it. */
export interface ResolvedVersion {
  name: string;
  version: string;
  /** Artifact location of the version (mlflow-artifacts:/…, runs:/…, file://…). */
  artifactUri: string;
  runId?: string;
}
