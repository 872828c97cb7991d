import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { MlflowError } from '../http/errors';
import { checkCount, LIMITS, REQUEST_LIMITS } from '../http/limits';
import {
  parseExperimentId,
  validateBatchLimits,
  validateExperimentName,
  validateKey,
  validateLength,
  validateMaxResults,
  validateRunId,
} from '../http/validation';
import type { DialectName } from '../db/connection';
import {
  type DatasetInput,
  type Experiment,
  type KeyValue,
  type Metric,
  type MetricInput,
  type Run,
  type RunInfo,
  type RunStatus,
  type ViewType,
} from './entities';
import type { Database, RunsTable, TrackingDb } from '../db/schema';
import { assembleRuns, fetchRunChildren, metricJson, runInfoJson } from './hydrate';
import { childColumnsPg, childrenFromColumns } from './hydrate-pg';
import { insertMetricPoints, logMetricsInOneStatement, metricRows, upsertLatestMetrics } from './metric-writes';
import { parseFilter, parseOrderByList } from '../search/filter';
import { decodePageToken, encodePageToken } from '../search/page-token';
import { experimentFilterPredicates, experimentOrderTerms, runFilterPredicates, runOrderTerms } from '../search/runs';
import { joinUri } from './uris';
import { createRunInOneStatement, createRunInTransaction, type NewRun } from './create-run';

const RUN_NAME_TAG = 'mlflow.runName';
const USER_TAG = 'mlflow.user';

export interface TrackingStoreOptions {
  /** Where new experiments put artifacts when no artifact_location is given (e.g. `mlflow-artifacts:/`, `s3://b/p`, `file:///srv/mlruns`). */
  defaultArtifactRoot: string;
}

export { joinUri };

function lifecycleFilter(view: ViewType): string[] {
  return view === 'ACTIVE_ONLY' ? ['active'] : view === 'DELETED_ONLY' ? ['deleted'] : ['active', 'deleted'];
}

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
  'stately',
  'sunny',
  'wise',
];
const NOUNS = ['ant', 'bass', 'cat', 'crow', 'deer', 'eel', 'finch', 'fox', 'hare', 'hawk', 'lynx', 'mole', 'owl', 'ram', 'seal', 'shrew', 'toad', 'wolf'];
function randomRunName(): string {
  const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 1000)}`;
}

type Db = TrackingDb | Transaction<Database>;

/**
 * The tracking store: experiments, runs and their metrics/params/tags/inputs on SQLite or PostgreSQL.
 * Methods validate before writing, write each request in one transaction, and throw MlflowError for
 * anything the caller got wrong.
 */
export class TrackingStore {
  constructor(
    readonly db: TrackingDb,
    readonly dialect: DialectName,
    private readonly options: TrackingStoreOptions,
  ) {}

  /** Where experiments created without an artifact_location keep their artifacts (`<root>/<experiment id>/…`). */
  get defaultArtifactRoot(): string {
    return this.options.defaultArtifactRoot;
  }

  // ── experiments ────────────────────────────────────────────────────────────────────────────────

  async createExperiment(name: string, artifactLocation: string | undefined, tags: KeyValue[]): Promise<string> {
    validateExperimentName(name);
    for (const t of tags) this.validateExperimentTag(t.key, t.value);
    return this.db
      .transaction()
      .execute(async (tx) => {
        const existing = await tx.selectFrom('experiments').select('experiment_id').where('name', '=', name).executeTakeFirst();
        if (existing) throw MlflowError.alreadyExists(`Experiment(name=${name}) already exists.`);
        const now = Date.now();
        const inserted = await tx
          .insertInto('experiments')
          .values({ name, artifact_location: artifactLocation || null, lifecycle_stage: 'active', creation_time: now, last_update_time: now })
          .returning('experiment_id')
          .executeTakeFirstOrThrow();
        const id = inserted.experiment_id;
        if (!artifactLocation) {
          await tx
            .updateTable('experiments')
            .set({ artifact_location: joinUri(this.options.defaultArtifactRoot, String(id)) })
            .where('experiment_id', '=', id)
            .execute();
        }
        if (tags.length)
          await tx
            .insertInto('experiment_tags')
            .values(dedupeLast(tags).map((t) => ({ experiment_id: id, key: t.key, value: t.value })))
            .execute();
        return String(id);
      })
      .catch((err: unknown) => {
        // Two concurrent creates with one name: the unique constraint decides, reported as MLflow does.
        if (isUniqueViolation(err)) throw MlflowError.alreadyExists(`Experiment(name=${name}) already exists.`);
        throw err;
      });
  }

  async getExperiment(experimentId: string, db: Db = this.db): Promise<Experiment> {
    const id = parseExperimentId(experimentId);
    const row = await db.selectFrom('experiments').selectAll().where('experiment_id', '=', id).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`No Experiment with id=${experimentId} exists`);
    const tags = await db.selectFrom('experiment_tags').select(['key', 'value']).where('experiment_id', '=', id).orderBy('key').execute();
    return experimentJson(row, tags);
  }

  /** The id of the experiment named `name` (any lifecycle stage), without loading it. */
  async experimentIdByName(name: string): Promise<string> {
    const row = await this.db.selectFrom('experiments').select('experiment_id').where('name', '=', name).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`Could not find experiment with name '${name}'`);
    return String(row.experiment_id);
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    const row = await this.db.selectFrom('experiments').select('experiment_id').where('name', '=', name).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`Could not find experiment with name '${name}'`);
    return this.getExperiment(String(row.experiment_id));
  }

  async searchExperiments(req: {
    viewType: ViewType;
    maxResults?: number;
    filter?: string;
    orderBy: string[];
    pageToken?: string;
  }): Promise<{ experiments: Experiment[]; next_page_token?: string }> {
    const limit = validateMaxResults(req.maxResults, LIMITS.SEARCH_MAX_RESULTS_THRESHOLD) ?? LIMITS.SEARCH_MAX_RESULTS_DEFAULT;
    const offset = decodePageToken(req.pageToken);
    const predicates = experimentFilterPredicates(parseFilter(req.filter, { allowBareAttributes: true }));
    const order = experimentOrderTerms(parseOrderByList(req.orderBy));
    let q = this.db.selectFrom('experiments').selectAll().where('lifecycle_stage', 'in', lifecycleFilter(req.viewType));
    for (const p of predicates) q = q.where(p);
    for (const o of order) q = q.orderBy(o);
    q = q
      .orderBy('creation_time', 'desc')
      .orderBy('experiment_id', 'asc')
      .limit(limit + 1)
      .offset(offset);
    const more = (n: number) => (n > limit ? { next_page_token: encodePageToken(offset + limit) } : {});
    if (this.dialect === 'postgres') {
      // One statement: the page with its tags as a JSON column, in key order as the two-query path has them.
      const rows = await q.select(experimentTagsPg).execute();
      const page = rows.slice(0, limit);
      return {
        experiments: page.map((r) =>
          experimentJson(
            r,
            r.child_tags.map(([key, value]) => ({ key, value })),
          ),
        ),
        ...more(rows.length),
      };
    }
    const rows = await q.execute();
    const page = rows.slice(0, limit);
    const tags = page.length
      ? await this.db
          .selectFrom('experiment_tags')
          .select(['experiment_id', 'key', 'value'])
          .where(
            'experiment_id',
            'in',
            page.map((r) => r.experiment_id),
          )
          .orderBy('key')
          .execute()
      : [];
    return {
      experiments: page.map((r) =>
        experimentJson(
          r,
          tags.filter((t) => t.experiment_id === r.experiment_id),
        ),
      ),
      ...more(rows.length),
    };
  }

  async updateExperiment(experimentId: string, newName: string): Promise<void> {
    validateExperimentName(newName);
    await this.db.transaction().execute(async (tx) => {
      const exp = await this.getExperiment(experimentId, tx);
      if (exp.lifecycle_stage !== 'active') throw MlflowError.invalid('Cannot rename a non-active experiment.');
      const clash = await tx.selectFrom('experiments').select('experiment_id').where('name', '=', newName).executeTakeFirst();
      if (clash && String(clash.experiment_id) !== experimentId) throw MlflowError.alreadyExists(`Experiment(name=${newName}) already exists.`);
      await tx.updateTable('experiments').set({ name: newName, last_update_time: Date.now() }).where('experiment_id', '=', Number(experimentId)).execute();
    });
  }

  /** Soft delete, as MLflow: the experiment and its runs move to the `deleted` lifecycle stage. */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.setExperimentLifecycle(experimentId, 'deleted');
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.setExperimentLifecycle(experimentId, 'active');
  }

  private async setExperimentLifecycle(experimentId: string, stage: 'active' | 'deleted'): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const exp = await this.getExperiment(experimentId, tx);
      if (stage === 'active' && exp.lifecycle_stage !== 'deleted')
        throw MlflowError.invalid(`Cannot restore an experiment that is not deleted (experiment_id=${experimentId}).`);
      if (stage === 'deleted' && exp.lifecycle_stage !== 'active')
        throw MlflowError.invalid(`Cannot delete an experiment that is not active (experiment_id=${experimentId}).`);
      const now = Date.now();
      const id = Number(experimentId);
      await tx.updateTable('experiments').set({ lifecycle_stage: stage, last_update_time: now }).where('experiment_id', '=', id).execute();
      await tx
        .updateTable('runs')
        .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? now : null })
        .where('experiment_id', '=', id)
        .where('lifecycle_stage', '=', stage === 'deleted' ? 'active' : 'deleted')
        .execute();
    });
  }

  private validateExperimentTag(key: string, value: string): void {
    validateKey(key, 'key');
    validateLength("Experiment tag key 'key'", LIMITS.MAX_EXPERIMENT_TAG_KEY_LENGTH, key);
    validateLength("Experiment tag value 'value'", LIMITS.MAX_EXPERIMENT_TAG_VAL_LENGTH, value);
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    this.validateExperimentTag(key, value);
    await this.db.transaction().execute(async (tx) => {
      const exp = await this.getExperiment(experimentId, tx);
      if (exp.lifecycle_stage !== 'active')
        throw MlflowError.invalid(`The experiment ${experimentId} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`);
      await tx
        .insertInto('experiment_tags')
        .values({ experiment_id: Number(experimentId), key, value })
        .onConflict((oc) => oc.columns(['key', 'experiment_id']).doUpdateSet({ value }))
        .execute();
    });
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const exp = await this.getExperiment(experimentId, tx);
      if (exp.lifecycle_stage !== 'active')
        throw MlflowError.invalid(`The experiment ${experimentId} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`);
      const r = await tx.deleteFrom('experiment_tags').where('experiment_id', '=', Number(experimentId)).where('key', '=', key).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw MlflowError.notFound(`No tag with name: ${key} in experiment with id ${experimentId}`);
    });
  }

  // ── runs ───────────────────────────────────────────────────────────────────────────────────────

  async createRun(req: { experimentId: string; userId?: string; runName?: string; startTime?: number; tags: KeyValue[] }): Promise<Run> {
    for (const [i, t] of req.tags.entries()) this.validateTag(t, `tags[${i}]`);
    const tagName = req.tags.find((t) => t.key === RUN_NAME_TAG)?.value;
    if (req.runName && tagName && req.runName !== tagName) {
      throw MlflowError.invalid(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${req.runName}', mlflow.runName='${tagName}').`,
      );
    }
    const runName = req.runName || tagName || randomRunName();
    validateLength("Run name 'run_name'", LIMITS.MAX_ENTITY_KEY_LENGTH, runName);
    const runId = randomUUID().replace(/-/g, '');
    const experimentId = parseExperimentId(req.experimentId);
    const run: NewRun = {
      run_uuid: runId,
      name: runName,
      source_type: 'UNKNOWN',
      source_name: '',
      entry_point_name: '',
      user_id: req.userId ?? req.tags.find((t) => t.key === USER_TAG)?.value ?? '',
      status: 'RUNNING',
      start_time: req.startTime ?? Date.now(),
      end_time: null,
      deleted_time: null,
      source_version: '',
      lifecycle_stage: 'active',
      experiment_id: experimentId,
    };
    const tags = dedupeLast([...req.tags.filter((t) => t.key !== RUN_NAME_TAG), { key: RUN_NAME_TAG, value: runName }]);
    const create = this.dialect === 'postgres' ? createRunInOneStatement : createRunInTransaction;
    const { experimentStage, artifactUri } = await create(this.db, run, this.options.defaultArtifactRoot, tags);
    if (experimentStage === undefined) throw MlflowError.notFound(`No Experiment with id=${req.experimentId} exists`);
    if (experimentStage !== 'active')
      throw MlflowError.invalid(`The experiment ${req.experimentId} must be in the 'active' state. Current state is ${experimentStage}.`);
    const children = { metrics: [], params: [], datasetInputs: [], modelLinks: [], inputTags: [] };
    const [created] = assembleRuns([{ ...run, artifact_uri: artifactUri ?? null }], { ...children, tags: tags.map((t) => ({ run_uuid: runId, ...t })) });
    return created;
  }

  /** `lockKey`: on PostgreSQL, hold the run FOR KEY SHARE until the transaction ends (writers of metric points, ADR 0031). */
  private async runRow(runId: string, db: Db = this.db, lockKey = false): Promise<RunsTable> {
    validateRunId(runId);
    const q = db.selectFrom('runs').selectAll().where('run_uuid', '=', runId);
    const row = await (lockKey && this.dialect === 'postgres' ? q.forKeyShare() : q).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`Run with id=${runId} not found`);
    return row;
  }

  /** Loads the run and rejects writes to deleted runs, as MLflow's _check_run_is_active does. */
  private async activeRun(runId: string, db: Db, lockKey = false): Promise<RunsTable> {
    const row = await this.runRow(runId, db, lockKey);
    checkActive(runId, row.lifecycle_stage);
    return row;
  }

  /** The experiment a run belongs to (any lifecycle stage), without loading the run. */
  async experimentIdOfRun(runId: string): Promise<string> {
    validateRunId(runId);
    const row = await this.db.selectFrom('runs').select('experiment_id').where('run_uuid', '=', runId).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`Run with id=${runId} not found`);
    return String(row.experiment_id);
  }

  async getRun(runId: string): Promise<Run> {
    if (this.dialect === 'postgres') {
      validateRunId(runId);
      const rows = await this.db.selectFrom('runs').selectAll('runs').select(childColumnsPg()).where('run_uuid', '=', runId).execute();
      if (!rows.length) throw MlflowError.notFound(`Run with id=${runId} not found`);
      return assembleRuns(rows, childrenFromColumns(rows))[0];
    }
    const row = await this.runRow(runId);
    const [run] = await this.hydrateRuns([row]);
    return run;
  }

  async updateRun(req: { runId: string; status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    if (req.runName !== undefined) validateLength("Run name 'run_name'", LIMITS.MAX_ENTITY_KEY_LENGTH, req.runName);
    await this.db.transaction().execute(async (tx) => {
      await this.activeRun(req.runId, tx);
      const changes: Partial<RunsTable> = {};
      if (req.status) changes.status = req.status;
      if (req.endTime !== undefined) changes.end_time = req.endTime;
      if (req.runName) changes.name = req.runName;
      if (Object.keys(changes).length) await tx.updateTable('runs').set(changes).where('run_uuid', '=', req.runId).execute();
      if (req.runName) await this.upsertTags(tx, req.runId, [{ key: RUN_NAME_TAG, value: req.runName }]);
    });
    return runInfoJson(await this.runRow(req.runId));
  }

  async deleteRun(runId: string): Promise<void> {
    await this.runRow(runId);
    await this.db.updateTable('runs').set({ lifecycle_stage: 'deleted', deleted_time: Date.now() }).where('run_uuid', '=', runId).execute();
  }

  async restoreRun(runId: string): Promise<void> {
    await this.runRow(runId);
    await this.db.updateTable('runs').set({ lifecycle_stage: 'active', deleted_time: null }).where('run_uuid', '=', runId).execute();
  }

  private validateTag(t: KeyValue, path: string): void {
    validateKey(t.key, `${path}.key`.replace(/^\./, ''), 'Tag key');
    validateLength(`Tag value '${path}.value'`.replace("'.", "'"), LIMITS.MAX_TAG_VAL_LENGTH, t.value);
  }

  private validateParam(p: KeyValue, path: string): void {
    validateKey(p.key, `${path}.key`.replace(/^\./, ''), 'Param key');
    validateLength(`Param value '${path}.value'`.replace("'.", "'"), LIMITS.MAX_PARAM_VAL_LENGTH, p.value);
  }

  /**
   * Each metric in order, so the first bad one is the one named; a key already accepted in this batch
   * is not checked again (a 500-point batch usually repeats a handful of keys).
   */
  private validateMetrics(metrics: MetricInput[]): void {
    const accepted = new Set<string>();
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i];
      if (accepted.has(m.key) && m.dataset_name === undefined && m.dataset_digest === undefined && m.timestamp >= 0) continue;
      this.validateMetric(m, `metrics[${i}]`);
      accepted.add(m.key);
    }
  }

  private validateMetric(m: MetricInput, path: string): void {
    validateKey(m.key, `${path}.key`.replace(/^\./, ''), 'Metric key');
    validateLength(`Dataset name '${path}.dataset_name'`, 500, m.dataset_name);
    validateLength(`Dataset digest '${path}.dataset_digest'`, 36, m.dataset_digest);
    if (m.timestamp < 0)
      throw MlflowError.invalid(
        `Invalid value ${m.timestamp} for parameter '${path}.timestamp' supplied: Timestamp must be a nonnegative long (64-bit integer).`,
      );
  }

  /**
   * Metrics, params and tags of one run in a single transaction: all or nothing. Metric points are
   * insert-or-ignore on the full key, so a retried batch adds nothing; a param may be re-logged only
   * with the same value.
   */
  async logBatch(runId: string, metrics: MetricInput[], params: KeyValue[], tags: KeyValue[]): Promise<void> {
    validateBatchLimits(metrics.length, params.length, tags.length);
    this.validateMetrics(metrics);
    params.forEach((p, i) => this.validateParam(p, `params[${i}]`));
    tags.forEach((t, i) => this.validateTag(t, `tags[${i}]`));
    const seen = new Set<string>();
    const dupes = params.filter((p) => (seen.has(p.key) ? true : (seen.add(p.key), false))).map((p) => p.key);
    if (dupes.length) {
      throw MlflowError.invalid(
        `Duplicate parameter keys have been submitted: ${JSON.stringify(dupes)}. Please ensure the request contains only one param value per param key.`,
      );
    }
    if (this.dialect === 'postgres' && metrics.length && !params.length && !tags.length && metrics.every((m) => !m.model_id)) {
      validateRunId(runId);
      const { rows, latest } = metricRows(runId, metrics);
      checkActive(runId, await logMetricsInOneStatement(this.db, runId, rows, latest));
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      const run = await this.activeRun(runId, tx, metrics.length > 0);
      if (params.length) await this.insertParams(tx, runId, params);
      if (metrics.length) await this.insertMetrics(tx, runId, metrics);
      await this.insertLoggedModelMetrics(tx, run, metrics);
      if (tags.length) await this.upsertTags(tx, runId, tags);
    });
  }

  private async insertParams(tx: Transaction<Database>, runId: string, params: KeyValue[]): Promise<void> {
    await tx
      .insertInto('params')
      .values(params.map((p) => ({ run_uuid: runId, key: p.key, value: p.value })))
      .onConflict((oc) => oc.columns(['key', 'run_uuid']).doNothing())
      .execute();
    // Read back after the insert, so a concurrent writer of the same key is caught as well.
    const stored = await tx
      .selectFrom('params')
      .select(['key', 'value'])
      .where('run_uuid', '=', runId)
      .where(
        'key',
        'in',
        params.map((p) => p.key),
      )
      .execute();
    const byKey = new Map(stored.map((r) => [r.key, r.value]));
    for (const p of params) {
      const old = byKey.get(p.key);
      if (old !== p.value) {
        throw MlflowError.invalid(
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}' for run ID='${runId}'. Attempted logging new value '${p.value}'.`,
        );
      }
    }
  }

  private async insertMetrics(tx: Transaction<Database>, runId: string, metrics: MetricInput[]): Promise<void> {
    const { rows, latest } = metricRows(runId, metrics);
    await insertMetricPoints(tx, this.dialect, runId, rows);
    await upsertLatestMetrics(tx, this.dialect, runId, latest);
  }

  /**
   * Points carrying a `model_id` also go to logged_model_metrics (MLflow's _log_model_metrics), in the
   * run's transaction. An unknown or deleted model is RESOURCE_DOES_NOT_EXIST and nothing is written.
   */
  private async insertLoggedModelMetrics(tx: Transaction<Database>, run: RunsTable, metrics: MetricInput[]): Promise<void> {
    const forModels = metrics.filter((m) => m.model_id);
    if (!forModels.length) return;
    const ids = [...new Set(forModels.map((m) => m.model_id as string))];
    const found = await sql<{
      model_id: string;
    }>`SELECT model_id FROM logged_models WHERE model_id IN (${sql.join(ids)}) AND lifecycle_stage = 'active'`.execute(tx);
    const known = new Set(found.rows.map((r) => r.model_id));
    const missing = ids.find((id) => !known.has(id));
    if (missing !== undefined) throw MlflowError.notFound(`Logged model with ID '${missing}' not found.`);
    const rows = forModels.map((m) => {
      const isNan = Number.isNaN(m.value);
      return {
        model_id: m.model_id as string,
        metric_name: m.key,
        metric_timestamp_ms: m.timestamp,
        metric_step: m.step,
        metric_value: isNan ? 0 : m.value,
        is_nan: isNan ? 1 : 0,
        experiment_id: run.experiment_id,
        run_id: run.run_uuid,
        dataset_name: m.dataset_name ?? '',
        dataset_digest: m.dataset_digest ?? '',
      };
    });
    for (let i = 0; i < rows.length; i += 250) {
      await tx
        .insertInto('logged_model_metrics')
        .values(rows.slice(i, i + 250))
        .onConflict((oc) =>
          oc
            .columns(['model_id', 'metric_name', 'metric_timestamp_ms', 'metric_step', 'run_id', 'dataset_name', 'dataset_digest', 'metric_value', 'is_nan'])
            .doNothing(),
        )
        .execute();
    }
  }

  private async upsertTags(tx: Transaction<Database>, runId: string, tags: KeyValue[]): Promise<void> {
    const unique = dedupeLast(tags);
    await tx
      .insertInto('tags')
      .values(unique.map((t) => ({ run_uuid: runId, key: t.key, value: t.value })))
      .onConflict((oc) => oc.columns(['key', 'run_uuid']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
    const name = unique.find((t) => t.key === RUN_NAME_TAG);
    if (name) await tx.updateTable('runs').set({ name: name.value }).where('run_uuid', '=', runId).execute();
  }

  async logMetric(runId: string, metric: MetricInput): Promise<void> {
    await this.logBatch(runId, [metric], [], []);
  }

  async logParam(runId: string, param: KeyValue): Promise<void> {
    await this.logBatch(runId, [], [param], []);
  }

  async setTag(runId: string, tag: KeyValue): Promise<void> {
    await this.logBatch(runId, [], [], [tag]);
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await this.activeRun(runId, tx);
      const r = await tx.deleteFrom('tags').where('run_uuid', '=', runId).where('key', '=', key).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw MlflowError.notFound(`No tag with name: ${key} in run with id ${runId}`);
    });
  }

  async logInputs(runId: string, datasets: DatasetInput[], models: { model_id: string }[]): Promise<void> {
    datasets.forEach((d, i) => {
      const p = `datasets[${i}].dataset`;
      validateLength(`'${p}.name'`, LIMITS.MAX_DATASET_NAME_SIZE, d.dataset.name);
      validateLength(`'${p}.digest'`, LIMITS.MAX_DATASET_DIGEST_SIZE, d.dataset.digest);
      validateLength(`'${p}.source'`, LIMITS.MAX_DATASET_SOURCE_SIZE, d.dataset.source);
      validateLength(`'${p}.schema'`, LIMITS.MAX_DATASET_SCHEMA_SIZE, d.dataset.schema);
      validateLength(`'${p}.profile'`, LIMITS.MAX_DATASET_PROFILE_SIZE, d.dataset.profile);
      d.tags.forEach((t, j) => {
        validateLength(`'datasets[${i}].tags[${j}].key'`, LIMITS.MAX_INPUT_TAG_KEY_SIZE, t.key);
        validateLength(`'datasets[${i}].tags[${j}].value'`, LIMITS.MAX_INPUT_TAG_VALUE_SIZE, t.value);
      });
    });
    if (datasets.length > LIMITS.MAX_DATASETS_PER_BATCH)
      throw MlflowError.invalid(`A batch logging request can contain at most ${LIMITS.MAX_DATASETS_PER_BATCH} datasets.`);
    await this.db.transaction().execute(async (tx) => {
      const run = await this.activeRun(runId, tx);
      for (const d of datasets) {
        const existing = await tx
          .selectFrom('datasets')
          .select('dataset_uuid')
          .where('experiment_id', '=', run.experiment_id)
          .where('name', '=', d.dataset.name)
          .where('digest', '=', d.dataset.digest)
          .executeTakeFirst();
        const datasetUuid = existing?.dataset_uuid ?? randomUUID().replace(/-/g, '');
        if (!existing) {
          await tx
            .insertInto('datasets')
            .values({
              dataset_uuid: datasetUuid,
              experiment_id: run.experiment_id,
              name: d.dataset.name,
              digest: d.dataset.digest,
              dataset_source_type: d.dataset.source_type,
              dataset_source: d.dataset.source,
              dataset_schema: d.dataset.schema ?? null,
              dataset_profile: d.dataset.profile ?? null,
            })
            .execute();
        }
        const inputUuid = randomUUID().replace(/-/g, '');
        const link = await tx
          .insertInto('inputs')
          .values({ input_uuid: inputUuid, source_type: 'DATASET', source_id: datasetUuid, destination_type: 'RUN', destination_id: runId })
          .onConflict((oc) => oc.columns(['source_type', 'source_id', 'destination_type', 'destination_id']).doNothing())
          .executeTakeFirst();
        if (Number(link.numInsertedOrUpdatedRows ?? 0) > 0 && d.tags.length) {
          await tx
            .insertInto('input_tags')
            .values(dedupeLast(d.tags).map((t) => ({ input_uuid: inputUuid, name: t.key, value: t.value })))
            .execute();
        }
      }
      for (const m of models) {
        await tx
          .insertInto('inputs')
          .values({
            input_uuid: randomUUID().replace(/-/g, ''),
            source_type: 'RUN_INPUT',
            source_id: m.model_id,
            destination_type: 'RUN',
            destination_id: runId,
          })
          .onConflict((oc) => oc.columns(['source_type', 'source_id', 'destination_type', 'destination_id']).doNothing())
          .execute();
      }
    });
  }

  async logOutputs(runId: string, models: { model_id: string; step: number }[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await this.activeRun(runId, tx);
      for (const m of models) {
        await tx
          .insertInto('inputs')
          .values({
            input_uuid: randomUUID().replace(/-/g, ''),
            source_type: 'RUN_OUTPUT',
            source_id: runId,
            destination_type: 'MODEL_OUTPUT',
            destination_id: m.model_id,
            step: m.step,
          })
          .onConflict((oc) => oc.columns(['source_type', 'source_id', 'destination_type', 'destination_id']).doUpdateSet({ step: m.step }))
          .execute();
      }
    });
  }

  async getMetricHistory(req: {
    runId: string;
    key: string;
    maxResults?: number;
    pageToken?: string;
  }): Promise<{ metrics: Metric[]; next_page_token?: string }> {
    await this.runRow(req.runId);
    const limit = req.maxResults !== undefined ? validateMaxResults(req.maxResults, Number.MAX_SAFE_INTEGER) : undefined;
    const offset = decodePageToken(req.pageToken);
    let q = this.db
      .selectFrom('metrics')
      .select(['key', 'value', 'timestamp', 'step', 'is_nan'])
      .where('run_uuid', '=', req.runId)
      .where('key', '=', req.key)
      .orderBy('step')
      .orderBy('timestamp')
      .orderBy('value');
    if (limit !== undefined) q = q.limit(limit + 1).offset(offset);
    else if (offset) q = q.offset(offset).limit(Number.MAX_SAFE_INTEGER);
    const rows = await q.execute();
    const page = limit !== undefined ? rows.slice(0, limit) : rows;
    return {
      metrics: page.map((r) => metricJson(r)),
      ...(limit !== undefined && rows.length > limit ? { next_page_token: encodePageToken(offset + limit) } : {}),
    };
  }

  async searchRuns(req: {
    experimentIds: string[];
    filter?: string;
    viewType: ViewType;
    maxResults?: number;
    orderBy: string[];
    pageToken?: string;
  }): Promise<{ runs: Run[]; next_page_token?: string }> {
    const limit = validateMaxResults(req.maxResults, LIMITS.SEARCH_MAX_RESULTS_THRESHOLD) ?? LIMITS.SEARCH_MAX_RESULTS_DEFAULT;
    const offset = decodePageToken(req.pageToken);
    checkCount('experiment_ids', req.experimentIds.length, REQUEST_LIMITS.SEARCH_MAX_EXPERIMENT_IDS);
    const experimentIds = req.experimentIds.map(parseExperimentId);
    const predicates = runFilterPredicates(parseFilter(req.filter));
    const order = runOrderTerms(parseOrderByList(req.orderBy));
    if (experimentIds.length === 0) return { runs: [] };
    let q = this.db
      .selectFrom('runs')
      .selectAll('runs')
      .where('runs.experiment_id', 'in', experimentIds)
      .where('runs.lifecycle_stage', 'in', lifecycleFilter(req.viewType));
    for (const p of predicates) q = q.where(p);
    for (const o of order) q = q.orderBy(o);
    q = q
      .orderBy('runs.start_time', 'desc')
      .orderBy('runs.run_uuid', 'asc')
      .limit(limit + 1)
      .offset(offset);
    const more = (n: number) => (n > limit ? { next_page_token: encodePageToken(offset + limit) } : {});
    if (this.dialect === 'postgres') {
      // One statement: the page's rows with their children (hydrate-pg.ts).
      const rows = await q.select(childColumnsPg()).execute();
      const page = rows.slice(0, limit);
      return { runs: assembleRuns(page, childrenFromColumns(page)), ...more(rows.length) };
    }
    const rows = await q.execute();
    return { runs: await this.hydrateRuns(rows.slice(0, limit)), ...more(rows.length) };
  }

  /** SQLite: attaches latest metrics, params, tags, inputs and outputs to run rows (one query per table, in process). */
  private async hydrateRuns(rows: RunsTable[]): Promise<Run[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.run_uuid);
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += 500) chunks.push(ids.slice(i, i + 500));
    // One pooled connection, queries in sequence: a search holds one connection, so 20 concurrent
    // searches cannot exhaust the pool (parallel per-table queries would take five each).
    const children = await this.db.connection().execute((db) => fetchRunChildren(db, chunks));
    return assembleRuns(rows, children);
  }

  /** The artifact URI of a run (for artifacts/list and run-relative artifact access). */
  async runArtifactUri(runId: string): Promise<string> {
    const row = await this.runRow(runId);
    return row.artifact_uri ?? joinUri(this.options.defaultArtifactRoot, String(row.experiment_id), runId, 'artifacts');
  }
}

/** MLflow's _check_run_is_active, on a run's lifecycle stage (undefined: the run does not exist). */
function checkActive(runId: string, stage: string | undefined): void {
  if (stage === undefined) throw MlflowError.notFound(`Run with id=${runId} not found`);
  if (stage !== 'active') throw MlflowError.invalid(`The run ${runId} must be in the 'active' state. Current state is ${stage}.`);
}

function dedupeLast(items: KeyValue[]): KeyValue[] {
  return [...new Map(items.map((t) => [t.key, t])).values()];
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

interface ExperimentRow {
  experiment_id: number;
  name: string;
  artifact_location: string | null;
  lifecycle_stage: string;
  creation_time: number | null;
  last_update_time: number | null;
}

/** PostgreSQL: an experiment's tags as [key, value] pairs in key order, a column of the statement that selects it. */
const experimentTagsPg = sql<
  [string, string | null][]
>`(SELECT COALESCE(json_agg(json_build_array(t.key, t.value) ORDER BY t.key), '[]') FROM experiment_tags t WHERE t.experiment_id = experiments.experiment_id)`.as(
  'child_tags',
);

function experimentJson(row: ExperimentRow, tags: { key: string; value: string | null }[]): Experiment {
  return {
    experiment_id: String(row.experiment_id),
    name: row.name,
    ...(row.artifact_location != null ? { artifact_location: row.artifact_location } : {}),
    lifecycle_stage: row.lifecycle_stage,
    ...(row.last_update_time != null ? { last_update_time: row.last_update_time } : {}),
    ...(row.creation_time != null ? { creation_time: row.creation_time } : {}),
    tags: tags.map((t) => ({ key: t.key, value: t.value ?? '' })),
  };
}
