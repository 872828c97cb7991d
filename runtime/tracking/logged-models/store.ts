import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { MlflowError } from '../http/errors';
import { jsonShapeProblem } from '../../json-shape';
import { jsonDouble, type KeyValue } from '../runs/entities';
import { loggedModelFilter, loggedModelOrder } from '../search/logged-models';
import { decodePageToken, encodePageToken } from '../search/page-token';
import { joinUri } from '../runs/store';
import { checkCount, checkLength, excerpt, LIMITS, REGISTRY_LIMITS, REQUEST_LIMITS } from '../http/limits';
import { parseExperimentId, validateKey, validateLength, validateMaxResults, validateRunId } from '../http/validation';
import type { LoggedModel, LoggedModelStatus } from './entities';
import type { LoggedModelsTable, Database, TrackingDb } from '../db/schema';
import { validateLoggedModelName } from '../registry/validation';

type Db = Kysely<Database>;

const ADJECTIVES = [
  'able',
  'bold',
  'calm',
  'clean',
  'crisp',
  'eager',
  'fair',
  'gentle',
  'keen',
  'lucky',
  'merry',
  'neat',
  'quick',
  'sharp',
  'silent',
  'sunny',
  'wise',
];
const NOUNS = ['ant', 'bass', 'cat', 'crow', 'deer', 'eel', 'finch', 'fox', 'hare', 'hawk', 'lynx', 'mole', 'owl', 'ram', 'seal', 'toad', 'wolf'];
function randomName(): string {
  const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 1000)}`;
}

const MODEL_ID = /^m-[0-9a-f]{32}$/;

/** Run tag holding the MLflow 2.x `runs/log-model` history (mlflow.utils.mlflow_tags.MLFLOW_LOGGED_MODELS). */
export const LOGGED_MODELS_RUN_TAG = 'mlflow.log-model.history';

/** Tag MLflow sets on a logged model listing the registry versions made from it. */
export const MODEL_VERSIONS_TAG = 'mlflow.modelVersions';

/**
 * The {name, version} entries of a `mlflow.modelVersions` tag value. Users can set that tag to
 * anything, so whatever is not such a list is ignored rather than trusted.
 */
export function registrationsIn(tagValue: string | undefined): { name: string; version: string }[] {
  let parsed: unknown;
  try {
    parsed = tagValue ? JSON.parse(tagValue) : [];
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed
    .filter((r: unknown): r is { name: string; version: string } => {
      const entry = r as { name?: unknown; version?: unknown } | null | undefined;
      return typeof entry?.name === 'string' && typeof entry.version === 'string';
    })
    .map((r) => ({ name: r.name, version: r.version }));
}

/** SearchLoggedModels.datasets entry: a dataset name, optionally pinned to one digest. */
export interface DatasetFilter {
  dataset_name: string;
  dataset_digest?: string;
}

/** MLflow 3 logged models (service.proto CreateLoggedModel … SearchLoggedModels) and 2.x runs/log-model. */
export class LoggedModelStore {
  constructor(readonly db: TrackingDb) {}

  private async row(db: Db, modelId: string, allowDeleted = false): Promise<LoggedModelsTable> {
    let q = db.selectFrom('logged_models').selectAll().where('model_id', '=', modelId);
    if (!allowDeleted) q = q.where('lifecycle_stage', '=', 'active');
    const row = MODEL_ID.test(modelId) ? await q.executeTakeFirst() : undefined;
    if (!row) throw MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
    return row;
  }

  private validateParams(params: KeyValue[]): void {
    params.forEach((p, i) => {
      validateKey(p.key, `params[${i}].key`, 'Param key');
      validateLength(`Param value 'params[${i}].value'`, LIMITS.MAX_PARAM_VAL_LENGTH, p.value);
    });
  }

  private validateTags(tags: KeyValue[]): void {
    tags.forEach((t, i) => {
      validateKey(t.key, `tags[${i}].key`, 'Tag key');
      validateLength(`Tag value 'tags[${i}].value'`, LIMITS.MAX_TAG_VAL_LENGTH, t.value);
    });
  }

  async create(req: {
    experimentId: string;
    name?: string;
    modelType?: string;
    sourceRunId?: string;
    params: KeyValue[];
    tags: KeyValue[];
  }): Promise<LoggedModel> {
    const experimentId = parseExperimentId(req.experimentId);
    if (req.name) validateLoggedModelName(req.name);
    if (req.sourceRunId) validateRunId(req.sourceRunId);
    this.validateParams(req.params);
    this.validateTags(req.tags);
    validateLength("Model type 'model_type'", 500, req.modelType);
    const modelId = `m-${randomUUID().replace(/-/g, '')}`;
    await this.db.transaction().execute(async (tx) => {
      const exp = await tx
        .selectFrom('experiments')
        .select(['artifact_location', 'lifecycle_stage'])
        .where('experiment_id', '=', experimentId)
        .executeTakeFirst();
      if (!exp) throw MlflowError.notFound(`No Experiment with id=${req.experimentId} exists`);
      if (exp.lifecycle_stage !== 'active')
        throw MlflowError.invalid(`The experiment ${req.experimentId} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`);
      if (req.sourceRunId) {
        const run = await tx.selectFrom('runs').select('run_uuid').where('run_uuid', '=', req.sourceRunId).executeTakeFirst();
        if (!run) throw MlflowError.notFound(`Run with id=${req.sourceRunId} not found`);
      }
      const now = Date.now();
      await tx
        .insertInto('logged_models')
        .values({
          model_id: modelId,
          experiment_id: experimentId,
          name: req.name || randomName(),
          // <experiment artifact root>/models/<model_id>/artifacts, as MLflow lays it out.
          artifact_location: joinUri(exp.artifact_location ?? '', 'models', modelId, 'artifacts'),
          creation_timestamp_ms: now,
          last_updated_timestamp_ms: now,
          status: 'LOGGED_MODEL_PENDING',
          lifecycle_stage: 'active',
          model_type: req.modelType || null,
          source_run_id: req.sourceRunId || null,
          status_message: null,
          creator_id: null,
        })
        .execute();
      await this.upsertParams(tx, modelId, req.params);
      await this.upsertTags(tx, modelId, req.tags);
    });
    return this.get(modelId);
  }

  private async upsertParams(db: Db, modelId: string, params: KeyValue[]): Promise<void> {
    const unique = [...new Map(params.map((p) => [p.key, p])).values()];
    if (!unique.length) return;
    await db
      .insertInto('logged_model_params')
      .values(unique.map((p) => ({ model_id: modelId, param_key: p.key, param_value: p.value })))
      .onConflict((oc) => oc.columns(['model_id', 'param_key']).doUpdateSet((eb) => ({ param_value: eb.ref('excluded.param_value') })))
      .execute();
  }

  private async upsertTags(db: Db, modelId: string, tags: KeyValue[]): Promise<void> {
    const unique = [...new Map(tags.map((t) => [t.key, t])).values()];
    if (!unique.length) return;
    await db
      .insertInto('logged_model_tags')
      .values(unique.map((t) => ({ model_id: modelId, tag_key: t.key, tag_value: t.value })))
      .onConflict((oc) => oc.columns(['model_id', 'tag_key']).doUpdateSet((eb) => ({ tag_value: eb.ref('excluded.tag_value') })))
      .execute();
  }

  async get(modelId: string): Promise<LoggedModel> {
    const row = await this.row(this.db, modelId);
    const [m] = await this.hydrate(this.db, [row]);
    return m;
  }

  /** The experiment a logged model belongs to (any lifecycle stage), without loading it. */
  async experimentIdOf(modelId: string): Promise<string> {
    const row = await this.db.selectFrom('logged_models').select('experiment_id').where('model_id', '=', modelId).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
    return String(row.experiment_id);
  }

  /** The artifact location of an active logged model (for `models:/m-<id>` and artifact listing). */
  async artifactLocation(modelId: string): Promise<string> {
    return (await this.row(this.db, modelId)).artifact_location;
  }

  async finalize(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    if (status === 'LOGGED_MODEL_STATUS_UNSPECIFIED')
      throw MlflowError.invalid(
        "Invalid value for parameter 'status' supplied: a logged model is finalized as LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.",
      );
    await this.db.transaction().execute(async (tx) => {
      await this.row(tx, modelId);
      await tx.updateTable('logged_models').set({ status, last_updated_timestamp_ms: Date.now() }).where('model_id', '=', modelId).execute();
    });
    return this.get(modelId);
  }

  /** Soft delete, as MLflow: the model disappears from get/search; its artifacts stay for garbage collection. */
  async delete(modelId: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await this.row(tx, modelId);
      await tx
        .updateTable('logged_models')
        .set({ lifecycle_stage: 'deleted', last_updated_timestamp_ms: Date.now() })
        .where('model_id', '=', modelId)
        .execute();
    });
  }

  async setTags(modelId: string, tags: KeyValue[]): Promise<LoggedModel> {
    this.validateTags(tags);
    await this.db.transaction().execute(async (tx) => {
      await this.row(tx, modelId);
      await this.upsertTags(tx, modelId, tags);
      await tx.updateTable('logged_models').set({ last_updated_timestamp_ms: Date.now() }).where('model_id', '=', modelId).execute();
    });
    return this.get(modelId);
  }

  async deleteTag(modelId: string, key: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await this.row(tx, modelId);
      const r = await tx.deleteFrom('logged_model_tags').where('model_id', '=', modelId).where('tag_key', '=', key).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw MlflowError.notFound(`No tag with key '${key}' found for model with ID '${modelId}'.`);
    });
  }

  async logParams(modelId: string, params: KeyValue[]): Promise<void> {
    this.validateParams(params);
    if (params.length > LIMITS.MAX_PARAMS_TAGS_PER_BATCH)
      throw MlflowError.invalid(`A batch logging request can contain at most ${LIMITS.MAX_PARAMS_TAGS_PER_BATCH} params. Got ${params.length} params.`);
    await this.db.transaction().execute(async (tx) => {
      await this.row(tx, modelId);
      await this.upsertParams(tx, modelId, params);
    });
  }

  async search(req: {
    experimentIds: string[];
    filter?: string;
    /** Restricts metric filters (and, without them, the models) to metrics logged on these datasets. */
    datasets?: DatasetFilter[];
    maxResults?: number;
    orderBy: { field_name: string; ascending: boolean; dataset_name?: string; dataset_digest?: string }[];
    pageToken?: string;
  }): Promise<{ models: LoggedModel[]; next_page_token?: string }> {
    if (!req.experimentIds.length) throw MlflowError.invalid("Missing value for required parameter 'experiment_ids'.");
    const datasets = req.datasets ?? [];
    checkCount('experiment_ids', req.experimentIds.length, REQUEST_LIMITS.SEARCH_MAX_EXPERIMENT_IDS);
    checkCount('datasets', datasets.length, REQUEST_LIMITS.SEARCH_MAX_DATASETS);
    checkCount('order_by', req.orderBy.length, REQUEST_LIMITS.ORDER_BY_MAX_TERMS);
    req.orderBy.forEach((o, i) => checkLength(`order_by[${i}].field_name`, o.field_name, REQUEST_LIMITS.ORDER_BY_TERM_MAX_LENGTH));
    if (datasets.some((d) => !d.dataset_name)) throw MlflowError.invalid('`dataset_name` in the `datasets` clause must be specified.');
    // OR of the requested datasets, as MLflow's search_logged_models applies it to metric rows.
    const onDatasets = datasets.length
      ? sql<boolean>`(${sql.join(
          datasets.map((d) =>
            d.dataset_digest ? sql`(x.dataset_name = ${d.dataset_name} AND x.dataset_digest = ${d.dataset_digest})` : sql`x.dataset_name = ${d.dataset_name}`,
          ),
          sql` OR `,
        )})`
      : sql<boolean>`1 = 1`;
    const ids = req.experimentIds.map(parseExperimentId);
    const limit =
      validateMaxResults(req.maxResults, REGISTRY_LIMITS.SEARCH_LOGGED_MODEL_MAX_RESULTS_THRESHOLD) ?? REGISTRY_LIMITS.SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT;
    const offset = decodePageToken(req.pageToken);
    let q = this.db.selectFrom('logged_models').selectAll().where('experiment_id', 'in', ids).where('lifecycle_stage', '=', 'active');
    const filter = loggedModelFilter(req.filter, onDatasets);
    for (const predicate of filter.predicates) q = q.where(predicate);
    // With datasets but no metric filter, only models with some metric on those datasets (as MLflow).
    if (datasets.length && !filter.hasMetricFilter) {
      q = q.where(sql<boolean>`EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = logged_models.model_id AND ${onDatasets})`);
    }
    for (const term of loggedModelOrder(req.orderBy)) q = q.orderBy(term);
    q = q.orderBy('creation_timestamp_ms', 'desc').orderBy('model_id');
    const rows = await q
      .limit(limit + 1)
      .offset(offset)
      .execute();
    const page = rows.slice(0, limit);
    return { models: await this.hydrate(this.db, page), ...(rows.length > limit ? { next_page_token: encodePageToken(offset + limit) } : {}) };
  }

  /**
   * 2.x `runs/log-model`: appends the MLmodel dict to the run's `mlflow.log-model.history` tag, as
   * MLflow's record_logged_model does.
   */
  async recordLoggedModel(runId: string, modelJson: string): Promise<void> {
    validateRunId(runId);
    let model: Record<string, unknown>;
    const problem = jsonShapeProblem(modelJson, { maxDepth: REQUEST_LIMITS.JSON_MAX_DEPTH, maxTokens: REQUEST_LIMITS.JSON_MAX_TOKENS });
    if (problem) throw MlflowError.invalid(`Parameter 'model_json' has ${problem}.`);
    try {
      const parsed: unknown = JSON.parse(modelJson);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      model = parsed as Record<string, unknown>;
    } catch {
      throw MlflowError.invalid(`Malformed model info. \n ${excerpt(modelJson)} \n is not a valid JSON.`);
    }
    const missing = ['artifact_path', 'flavors', 'utc_time_created', 'run_id'].filter((k) => !(k in model));
    if (missing.length) throw MlflowError.invalid(`Model json is missing mandatory fields: ${missing.join(', ')}`);
    await this.db.transaction().execute(async (tx) => {
      const run = await tx.selectFrom('runs').select('lifecycle_stage').where('run_uuid', '=', runId).executeTakeFirst();
      if (!run) throw MlflowError.notFound(`Run with id=${runId} not found`);
      if (run.lifecycle_stage !== 'active')
        throw MlflowError.invalid(`The run ${runId} must be in the 'active' state. Current state is ${run.lifecycle_stage}.`);
      const tag = await tx.selectFrom('tags').select('value').where('run_uuid', '=', runId).where('key', '=', LOGGED_MODELS_RUN_TAG).executeTakeFirst();
      let history: unknown[] = [];
      try {
        const prev: unknown = tag?.value ? JSON.parse(tag.value) : [];
        history = Array.isArray(prev) ? prev : [];
      } catch {
        history = [];
      }
      // MLflow stores the model's tag dict: signature, input example and other bulky fields stay in MLmodel.
      const { signature: _s, saved_input_example_info: _i, ...slim } = model;
      const value = JSON.stringify([...history, slim]);
      validateLength(`Tag value '${LOGGED_MODELS_RUN_TAG}'`, LIMITS.MAX_TAG_VAL_LENGTH, value);
      await tx
        .insertInto('tags')
        .values({ run_uuid: runId, key: LOGGED_MODELS_RUN_TAG, value })
        .onConflict((oc) => oc.columns(['key', 'run_uuid']).doUpdateSet({ value }))
        .execute();
    });
  }

  private async hydrate(db: Db, rows: LoggedModelsTable[]): Promise<LoggedModel[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.model_id);
    const tags = await db.selectFrom('logged_model_tags').selectAll().where('model_id', 'in', ids).orderBy('tag_key').execute();
    const params = await db.selectFrom('logged_model_params').selectAll().where('model_id', 'in', ids).orderBy('param_key').execute();
    const metrics = await db
      .selectFrom('logged_model_metrics')
      .selectAll()
      .where('model_id', 'in', ids)
      .orderBy('metric_name')
      .orderBy('metric_step')
      .orderBy('metric_timestamp_ms')
      .orderBy('dataset_name')
      .orderBy('metric_value')
      .execute();
    return rows.map((r) => {
      const myTags = tags.filter((t) => t.model_id === r.model_id);
      const registrations = registrationsIn(myTags.find((t) => t.tag_key === MODEL_VERSIONS_TAG)?.tag_value);
      return {
        info: {
          model_id: r.model_id,
          experiment_id: String(r.experiment_id),
          name: r.name,
          creation_timestamp_ms: r.creation_timestamp_ms,
          last_updated_timestamp_ms: r.last_updated_timestamp_ms,
          artifact_uri: r.artifact_location,
          status: r.status as LoggedModelStatus,
          ...(r.model_type ? { model_type: r.model_type } : {}),
          ...(r.source_run_id ? { source_run_id: r.source_run_id } : {}),
          ...(r.status_message ? { status_message: r.status_message } : {}),
          tags: myTags.map((t) => ({ key: t.tag_key, value: t.tag_value })),
          registrations,
        },
        data: {
          params: params.filter((p) => p.model_id === r.model_id).map((p) => ({ key: p.param_key, value: p.param_value })),
          metrics: metrics
            .filter((m) => m.model_id === r.model_id)
            .map((m) => ({
              key: m.metric_name,
              value: m.is_nan ? 'NaN' : jsonDouble(m.metric_value),
              timestamp: m.metric_timestamp_ms,
              step: m.metric_step,
              run_id: m.run_id,
              model_id: m.model_id,
              ...(m.dataset_name ? { dataset_name: m.dataset_name } : {}),
              ...(m.dataset_digest ? { dataset_digest: m.dataset_digest } : {}),
            })),
        },
      };
    });
  }
}
