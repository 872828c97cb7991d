import { MlflowError } from './errors';

/**
 * Every cap the tracking server applies to what a request carries, in one place (the README's
 * "Request limits" table lists them). MLflow's own values where MLflow has one; the others bound the
 * work one request can cause: event-loop time spent parsing and compiling, SQL bound-parameter counts,
 * PostgreSQL planning time (which grows faster than linearly with the number of EXISTS clauses).
 * Anything over a cap is a 400 INVALID_PARAMETER_VALUE before any parsing or SQL that depends on its size.
 */

/** MLflow's field and batch limits (mlflow/utils/validation.py, mlflow/store/tracking/__init__.py). */
export const LIMITS = {
  MAX_PARAMS_TAGS_PER_BATCH: 100,
  MAX_METRICS_PER_BATCH: 1000,
  MAX_DATASETS_PER_BATCH: 1000,
  MAX_ENTITIES_PER_BATCH: 1000,
  MAX_BATCH_LOG_REQUEST_SIZE: 1_000_000,
  MAX_PARAM_VAL_LENGTH: 6000,
  MAX_TAG_VAL_LENGTH: 8000,
  MAX_EXPERIMENT_NAME_LENGTH: 500,
  MAX_EXPERIMENT_TAG_KEY_LENGTH: 250,
  MAX_EXPERIMENT_TAG_VAL_LENGTH: 20000,
  MAX_ENTITY_KEY_LENGTH: 250,
  MAX_DATASET_NAME_SIZE: 500,
  MAX_DATASET_DIGEST_SIZE: 36,
  MAX_DATASET_SCHEMA_SIZE: 1048575,
  MAX_DATASET_SOURCE_SIZE: 65535,
  MAX_DATASET_PROFILE_SIZE: 16777215,
  MAX_INPUT_TAG_KEY_SIZE: 255,
  MAX_INPUT_TAG_VALUE_SIZE: 500,
  SEARCH_MAX_RESULTS_DEFAULT: 1000,
  SEARCH_MAX_RESULTS_THRESHOLD: 50000,
  /** server/handlers.py MAX_RUNS_GET_METRIC_HISTORY_BULK (get-history-bulk-interval run_ids). */
  MAX_RUNS_GET_METRIC_HISTORY_BULK: 100,
  /** server/handlers.py MAX_RESULTS_PER_RUN (get-history-bulk-interval max_results). */
  MAX_RESULTS_PER_RUN: 2500,
} as const;

/** MLflow's model-registry limits (mlflow/utils/validation.py, mlflow/store/model_registry/__init__.py). */
export const REGISTRY_LIMITS = {
  MAX_MODEL_NAME_LENGTH: 256,
  MAX_MODEL_REGISTRY_TAG_KEY_LENGTH: 250,
  MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH: 100_000,
  MAX_REGISTERED_MODEL_ALIAS_LENGTH: 255,
  MAX_DESCRIPTION_LENGTH: 100_000,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT: 100,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD: 1000,
  SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT: 10_000,
  SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD: 200_000,
  SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT: 50,
  SEARCH_LOGGED_MODEL_MAX_RESULTS_THRESHOLD: 1000,
} as const;

/** MLflow's trace limits (mlflow/store/tracking/__init__.py, mlflow/utils/validation.py, dbmodels) and ours. */
export const TRACE_LIMITS = {
  /** MLflow's MAX_TRACE_LINKS_PER_REQUEST (link-to-run trace_ids). */
  MAX_TRACE_LINKS_PER_REQUEST: 100,
  MAX_TRACE_TAG_KEY_LENGTH: 250,
  /** Longer tag and metadata values are truncated, as MLflow truncates trace tag values. */
  MAX_TRACE_TAG_VAL_LENGTH: 8000,
  /** request_preview / response_preview columns (the client truncates to this itself); longer ones are truncated. */
  MAX_PREVIEW_LENGTH: 1000,
  SEARCH_TRACES_DEFAULT_MAX_RESULTS: 100,
  /** MLflow refuses more than SEARCH_MAX_RESULTS_THRESHOLD; pages above PAGE_MAX are cut short with a next_page_token (the client keeps paging). */
  SEARCH_TRACES_MAX_RESULTS: 50_000,
  SEARCH_TRACES_PAGE_MAX: 1_000,
  /** Ours: tags or metadata entries on one trace, assessments in one StartTraceV3, ids in one delete/batch-get. */
  MAX_TRACE_ENTRIES: 1_000,
  /** Ours: traces deleted per transaction when deleting by timestamp (the event loop is yielded between). */
  DELETE_CHUNK: 1_000,
  /** Characters of one assessment's JSON (value, error, rationale, metadata). */
  MAX_ASSESSMENT_JSON_LENGTH: 1_000_000,
} as const;

/** Caps MLflow does not have (it answers such requests slowly, or with a database error). */
export const REQUEST_LIMITS = {
  /** Characters in a search `filter` (1,000 quoted run ids fit; checked before tokenizing). */
  FILTER_MAX_LENGTH: 50_000,
  /** Comparisons AND-ed in one filter: PostgreSQL plans 20 EXISTS clauses in ~0.1 s, 100 in ~3 s, 200 in ~30 s. */
  FILTER_MAX_CLAUSES: 20,
  /** Values in all IN / NOT IN lists of one filter together (each is a bound SQL parameter). */
  FILTER_MAX_IN_VALUES: 1_000,
  /** `order_by` terms: each is a correlated subquery per candidate row. */
  ORDER_BY_MAX_TERMS: 10,
  /** Characters in one `order_by` term (a key is at most 250). */
  ORDER_BY_TERM_MAX_LENGTH: 500,
  /** `experiment_ids` of one runs/logged-models search (each is a bound SQL parameter). */
  SEARCH_MAX_EXPERIMENT_IDS: 10_000,
  /** Items in any list field of a request, checked before its items are (the longest legitimate one is experiment_ids). */
  LIST_MAX_ITEMS: 10_000,
  /** `datasets` of one logged-models search (repeated inside every metric clause). */
  SEARCH_MAX_DATASETS: 100,
  /** Characters in a `page_token` (the server's own tokens are under 40). */
  PAGE_TOKEN_MAX_LENGTH: 1_024,
  /** Nesting of arrays and objects in a JSON body (MLflow's messages nest at most 5 deep). */
  JSON_MAX_DEPTH: 64,
  /** Structural tokens (`[`, `{`, `,`, `:`) in a JSON body: bounds JSON.parse time whatever the body size. */
  JSON_MAX_TOKENS: 100_000,
  /** Request body of every JSON endpoint but log-inputs (Fastify's bodyLimit; log-batch also has MLflow's 1 MB). */
  BODY_DEFAULT_BYTES: 1024 * 1024,
  /** log-inputs: a dataset profile alone may be 16 MB (MAX_DATASET_PROFILE_SIZE). */
  BODY_LOG_INPUTS_BYTES: 16 * 1024 * 1024,
} as const;

/** A user-supplied string as it may appear in an error message: at most `max` characters. */
export function excerpt(value: string, max = 200): string {
  return value.length <= max ? value : `${value.slice(0, max)}… (${value.length} characters)`;
}

/** 400 when a request list holds more than `max` items. */
export function checkCount(field: string, count: number, max: number): void {
  if (count > max) throw MlflowError.invalid(`Parameter '${field}' may hold at most ${max} items, got ${count}.`);
}

/** 400 when a request string is longer than `max` characters. */
export function checkLength(field: string, value: string | undefined, max: number): void {
  if (value !== undefined && value.length > max) throw MlflowError.invalid(`Parameter '${field}' may be at most ${max} characters long, got ${value.length}.`);
}
