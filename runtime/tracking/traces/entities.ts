import { MlflowError } from '../http/errors';
import { excerpt } from '../http/limits';

/**
 * MLflow 3 trace entities as the REST API writes them (service.proto TraceInfoV3, assessments.proto
 * Assessment), in protobuf JSON: timestamps as RFC 3339 strings, durations as "<seconds>s", maps as
 * objects, enums by name.
 */

export const TRACE_STATES = ['STATE_UNSPECIFIED', 'OK', 'ERROR', 'IN_PROGRESS'] as const;
export type TraceState = (typeof TRACE_STATES)[number];

export const ASSESSMENT_SOURCE_TYPES = ['SOURCE_TYPE_UNSPECIFIED', 'HUMAN', 'LLM_JUDGE', 'CODE'] as const;

/** Trace tag the server sets: where the client uploads (and reads) the trace's span data. */
export const ARTIFACT_LOCATION_TAG = 'mlflow.artifactLocation';
/** Tag holding the trace's name (search key `name`). */
export const TRACE_NAME_TAG = 'mlflow.traceName';
/** Request metadata naming the run the trace was created in (search key `run_id`). */
export const SOURCE_RUN_METADATA = 'mlflow.sourceRun';

export interface TraceLocation {
  type: 'MLFLOW_EXPERIMENT';
  mlflow_experiment: { experiment_id: string };
}

export interface AssessmentJson {
  assessment_id: string;
  assessment_name: string;
  trace_id: string;
  span_id?: string;
  source: { source_type: string; source_id?: string };
  create_time: string;
  last_update_time: string;
  feedback?: Record<string, unknown>;
  expectation?: Record<string, unknown>;
  rationale?: string;
  error?: Record<string, unknown>;
  metadata?: Record<string, string>;
  overrides?: string;
  valid: boolean;
}

export interface TraceInfoV3 {
  trace_id: string;
  client_request_id?: string;
  trace_location: TraceLocation;
  request_preview?: string;
  response_preview?: string;
  request_time: string;
  execution_duration?: string;
  state: TraceState;
  trace_metadata: Record<string, string>;
  assessments: AssessmentJson[];
  tags: Record<string, string>;
}

/** Trace ids the server accepts: MLflow's `tr-<32 hex>` and other ids of safe characters (they become an artifact path segment). */
const TRACE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$/;

export function isTraceId(id: string): boolean {
  return TRACE_ID.test(id);
}

/** 400 unless `id` is a trace id the server can store (at most 50 characters, letters, digits, '-' and '_'). */
export function validateTraceId(id: string, field = 'trace_id'): void {
  if (!isTraceId(id)) throw MlflowError.invalid(`Invalid value '${excerpt(id)}' for parameter '${field}': a trace id is 1-50 letters, digits, '-' or '_'.`);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/;

/** A protobuf JSON Timestamp ("2025-01-02T03:04:05.678Z") as epoch milliseconds; 400 if malformed. */
export function timestampToMs(value: string, field: string): number {
  const m = RFC3339.exec(value);
  const ms = m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${(m.at(7) ?? '0').slice(0, 3).padEnd(3, '0')}${m[8].toUpperCase()}`) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw MlflowError.invalid(`Invalid value '${excerpt(value)}' for parameter '${field}': expected an RFC 3339 timestamp after 1970.`);
  return ms;
}

export function msToTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

const DURATION = /^(\d{1,12})(?:\.(\d{1,9}))?s$/;

/** A protobuf JSON Duration ("1.5s") as whole milliseconds; 400 if malformed or negative. */
export function durationToMs(value: string, field: string): number {
  const m = DURATION.exec(value);
  if (!m) throw MlflowError.invalid(`Invalid value '${excerpt(value)}' for parameter '${field}': expected a duration such as "1.5s".`);
  return Number(m[1]) * 1000 + Math.round(Number(`0.${m.at(2) ?? '0'}`) * 1000);
}

export function msToDuration(ms: number): string {
  return `${ms / 1000}s`;
}
