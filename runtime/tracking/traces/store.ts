import type { Kysely } from 'kysely';
import { MlflowError } from '../http/errors';
import { checkCount, excerpt, TRACE_LIMITS } from '../http/limits';
import { parseExperimentId, validateKey, validateRunId } from '../http/validation';
import type { Database, TraceInfoTable, TrackingDb } from '../db/schema';
import { joinUri } from '../runs/store';
import { decodePageToken, encodePageToken } from '../search/page-token';
import { traceFilter, traceOrder } from '../search/traces';
import { AssessmentStore, assessmentJson, assessmentRow, type AssessmentInput } from './assessments';
import { ARTIFACT_LOCATION_TAG, isTraceId, msToDuration, msToTimestamp, validateTraceId, type TraceInfoV3, type TraceState } from './entities';

type Db = Kysely<Database>;

/** A StartTraceV3 trace info, parsed (times in ms). */
export interface TraceInfoInput {
  traceId: string;
  experimentId: string;
  clientRequestId?: string;
  requestPreview?: string;
  responsePreview?: string;
  requestTimeMs: number;
  executionTimeMs?: number;
  state: TraceState;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  assessments: AssessmentInput[];
}

export interface TraceSearch {
  experimentIds: string[];
  filter?: string;
  maxResults?: number;
  orderBy: string[];
  pageToken?: string;
}

export interface DeleteTracesRequest {
  experimentId: string;
  maxTimestampMillis?: number;
  maxTraces?: number;
  requestIds: string[];
}

const truncate = (value: string | undefined, max: number) => (value === undefined ? null : value.slice(0, max));

/** Tag or metadata entries: keys checked (MLflow's key rules, 250 characters), values truncated as MLflow truncates tag values. */
function entries(map: Record<string, string>, what: string, keyRule: 'tag' | 'metadata'): [string, string][] {
  const list = Object.entries(map);
  checkCount(what, list.length, TRACE_LIMITS.MAX_TRACE_ENTRIES);
  return list.map(([key, value]) => {
    if (keyRule === 'tag') validateKey(key, `${what}.key`, 'Tag key');
    else if (!key || key.length > TRACE_LIMITS.MAX_TRACE_TAG_KEY_LENGTH)
      throw MlflowError.invalid(`Invalid ${what} key '${excerpt(key)}': 1-${TRACE_LIMITS.MAX_TRACE_TAG_KEY_LENGTH} characters.`);
    return [key, value.slice(0, TRACE_LIMITS.MAX_TRACE_TAG_VAL_LENGTH)];
  });
}

function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** MLflow 3 trace infos (service.proto StartTraceV3 … DeleteTraces, LinkTracesToRun) over trace_info and its child tables. */
export class TraceStore {
  readonly assessments: AssessmentStore;

  constructor(readonly db: TrackingDb) {
    this.assessments = new AssessmentStore(db);
  }

  private async row(db: Db, traceId: string): Promise<TraceInfoTable> {
    const row = isTraceId(traceId) ? await db.selectFrom('trace_info').selectAll().where('request_id', '=', traceId).executeTakeFirst() : undefined;
    if (!row) throw MlflowError.notFound(`Trace with ID '${excerpt(traceId)}' not found.`);
    return row;
  }

  /** The experiment a trace belongs to (authorization); 404 when there is no such trace. */
  async experimentIdOf(traceId: string): Promise<string> {
    return String((await this.row(this.db, traceId)).experiment_id);
  }

  /** The experiments of these traces (authorization); 404 when one does not exist, unless allowMissing. */
  async experimentIdsOf(traceIds: string[], opts: { allowMissing?: boolean } = {}): Promise<string[]> {
    const ids = [...new Set(traceIds)];
    const valid = ids.filter(isTraceId);
    const rows: { request_id: string; experiment_id: number }[] = [];
    for (const part of chunks(valid))
      rows.push(...(await this.db.selectFrom('trace_info').select(['request_id', 'experiment_id']).where('request_id', 'in', part).execute()));
    if (!opts.allowMissing && rows.length < ids.length) {
      const found = new Set(rows.map((r) => r.request_id));
      // A list naming one trace twice is short of rows without any trace missing.
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw MlflowError.notFound(`Trace with ID '${excerpt(missing)}' not found.`);
    }
    return [...new Set(rows.map((r) => String(r.experiment_id)))];
  }

  /** 404 unless the trace exists (inside a transaction of another store). */
  readonly exists = async (db: Db, traceId: string): Promise<void> => {
    await this.row(db, traceId);
  };

  /**
   * StartTraceV3 (sent when the trace has ended): stores the trace info and returns it with the
   * server's artifact location tag, under which the client then uploads the spans. A retry of the
   * same trace merges into it; a trace id already used in another experiment is refused.
   */
  async start(info: TraceInfoInput): Promise<TraceInfoV3> {
    validateTraceId(info.traceId);
    const experimentId = parseExperimentId(info.experimentId);
    const tags = entries(info.tags, 'tags', 'tag').filter(([k]) => k !== ARTIFACT_LOCATION_TAG);
    const metadata = entries(info.metadata, 'trace_metadata', 'metadata');
    checkCount('assessments', info.assessments.length, TRACE_LIMITS.MAX_TRACE_ENTRIES);
    const assessments = info.assessments.map((a) => assessmentRow(info.traceId, a));
    await this.db.transaction().execute(async (tx) => {
      const exp = await tx
        .selectFrom('experiments')
        .select(['artifact_location', 'lifecycle_stage'])
        .where('experiment_id', '=', experimentId)
        .executeTakeFirst();
      if (!exp) throw MlflowError.notFound(`No Experiment with id=${experimentId} exists`);
      if (exp.lifecycle_stage !== 'active')
        throw MlflowError.invalid(`The experiment ${experimentId} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`);
      const values = {
        experiment_id: experimentId,
        timestamp_ms: info.requestTimeMs,
        execution_time_ms: info.executionTimeMs ?? null,
        status: info.state,
        client_request_id: truncate(info.clientRequestId, 50),
        request_preview: truncate(info.requestPreview, TRACE_LIMITS.MAX_PREVIEW_LENGTH),
        response_preview: truncate(info.responsePreview, TRACE_LIMITS.MAX_PREVIEW_LENGTH),
      };
      const existing = await tx.selectFrom('trace_info').select('experiment_id').where('request_id', '=', info.traceId).executeTakeFirst();
      if (existing && existing.experiment_id !== experimentId)
        throw MlflowError.alreadyExists(`Trace with ID '${info.traceId}' already exists in another experiment.`);
      if (existing) await tx.updateTable('trace_info').set(values).where('request_id', '=', info.traceId).execute();
      else
        await tx
          .insertInto('trace_info')
          .values({ request_id: info.traceId, ...values })
          .execute();
      // <experiment artifact root>/traces/<trace id>/artifacts, as MLflow lays it out; never the client's.
      tags.push([ARTIFACT_LOCATION_TAG, joinUri(exp.artifact_location ?? '', 'traces', info.traceId, 'artifacts')]);
      await this.upsert(tx, 'trace_tags', info.traceId, tags);
      await this.upsert(tx, 'trace_request_metadata', info.traceId, metadata);
      await this.assessments.insert(tx, assessments);
    });
    return this.getInfo(info.traceId);
  }

  /**
   * EndTrace (the 2.x and early 3.x clients' second call): the end time, status and more tags and
   * metadata, merged into the trace that StartTrace (v2) opened.
   */
  async end(
    traceId: string,
    req: { endTimeMs: number; state: TraceState; metadata: Record<string, string>; tags: Record<string, string> },
  ): Promise<TraceInfoV3> {
    const tags = entries(req.tags, 'tags', 'tag').filter(([k]) => k !== ARTIFACT_LOCATION_TAG);
    const metadata = entries(req.metadata, 'request_metadata', 'metadata');
    await this.db.transaction().execute(async (tx) => {
      const row = await this.row(tx, traceId);
      const executionTimeMs = Math.max(0, req.endTimeMs - row.timestamp_ms);
      await tx.updateTable('trace_info').set({ execution_time_ms: executionTimeMs, status: req.state }).where('request_id', '=', traceId).execute();
      await this.upsert(tx, 'trace_tags', traceId, tags);
      await this.upsert(tx, 'trace_request_metadata', traceId, metadata);
    });
    return this.getInfo(traceId);
  }

  private async upsert(db: Db, table: 'trace_tags' | 'trace_request_metadata', traceId: string, list: [string, string][]): Promise<void> {
    for (const part of chunks(list)) {
      if (!part.length) continue;
      await db
        .insertInto(table)
        .values(part.map(([key, value]) => ({ request_id: traceId, key, value })))
        .onConflict((oc) => oc.columns(['request_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
        .execute();
    }
  }

  async getInfo(traceId: string): Promise<TraceInfoV3> {
    const row = await this.row(this.db, traceId);
    return (await this.infos([row]))[0];
  }

  /** BatchGetTraceInfos: the traces that exist among `traceIds`, in the order asked. */
  async batchGetInfos(traceIds: string[]): Promise<TraceInfoV3[]> {
    checkCount('trace_ids', traceIds.length, TRACE_LIMITS.MAX_TRACE_ENTRIES);
    const ids = [...new Set(traceIds.filter(isTraceId))];
    const rows: TraceInfoTable[] = [];
    for (const part of chunks(ids)) rows.push(...(await this.db.selectFrom('trace_info').selectAll().where('request_id', 'in', part).execute()));
    const byId = new Map((await this.infos(rows)).map((t) => [t.trace_id, t]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Rows → TraceInfoV3 with their tags, metadata and assessments (one query per child table per 500 traces). */
  private async infos(rows: TraceInfoTable[]): Promise<TraceInfoV3[]> {
    const out = new Map<string, TraceInfoV3>(rows.map((r) => [r.request_id, this.info(r)]));
    for (const ids of chunks([...out.keys()])) {
      // Child rows are selected by these ids, so each finds its trace.
      for (const t of await this.db.selectFrom('trace_tags').selectAll().where('request_id', 'in', ids).execute()) {
        const info = out.get(t.request_id);
        if (info) info.tags[t.key] = t.value ?? '';
      }
      for (const m of await this.db.selectFrom('trace_request_metadata').selectAll().where('request_id', 'in', ids).execute()) {
        const info = out.get(m.request_id);
        if (info) info.trace_metadata[m.key] = m.value ?? '';
      }
      const assessments = await this.db
        .selectFrom('assessments')
        .selectAll()
        .where('trace_id', 'in', ids)
        .orderBy('created_timestamp')
        .orderBy('assessment_id')
        .execute();
      for (const a of assessments) out.get(a.trace_id)?.assessments.push(assessmentJson(a));
    }
    return [...out.values()];
  }

  private info(r: TraceInfoTable): TraceInfoV3 {
    const info: TraceInfoV3 = {
      trace_id: r.request_id,
      trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: String(r.experiment_id) } },
      request_time: msToTimestamp(r.timestamp_ms),
      state: r.status as TraceState,
      trace_metadata: {},
      assessments: [],
      tags: {},
    };
    if (r.client_request_id !== null) info.client_request_id = r.client_request_id;
    if (r.request_preview !== null) info.request_preview = r.request_preview;
    if (r.response_preview !== null) info.response_preview = r.response_preview;
    if (r.execution_time_ms !== null) info.execution_duration = msToDuration(r.execution_time_ms);
    return info;
  }

  /** SearchTracesV3 over experiments: MLflow's filter syntax and order, offset page tokens. */
  async search(req: TraceSearch): Promise<{ traces: TraceInfoV3[]; next_page_token?: string }> {
    if (!req.experimentIds.length) throw MlflowError.invalid('At least one experiment location is required to search traces.');
    checkCount('locations', req.experimentIds.length, TRACE_LIMITS.MAX_TRACE_ENTRIES);
    const experimentIds = req.experimentIds.map(parseExperimentId);
    const wanted = req.maxResults ?? TRACE_LIMITS.SEARCH_TRACES_DEFAULT_MAX_RESULTS;
    if (!Number.isSafeInteger(wanted) || wanted < 1 || wanted > TRACE_LIMITS.SEARCH_TRACES_MAX_RESULTS) {
      throw MlflowError.invalid(
        `Invalid value ${wanted} for parameter 'max_results' supplied. It must be at least 1 and at most ${TRACE_LIMITS.SEARCH_TRACES_MAX_RESULTS}.`,
      );
    }
    const limit = Math.min(wanted, TRACE_LIMITS.SEARCH_TRACES_PAGE_MAX);
    const predicates = traceFilter(req.filter);
    const order = traceOrder(req.orderBy);
    const offset = decodePageToken(req.pageToken);
    let q = this.db.selectFrom('trace_info').selectAll().where('experiment_id', 'in', experimentIds);
    for (const p of predicates) q = q.where(p);
    for (const o of order) q = q.orderBy(o);
    const rows = await q
      .limit(limit + 1)
      .offset(offset)
      .execute();
    const traces = await this.infos(rows.slice(0, limit));
    return rows.length > limit ? { traces, next_page_token: encodePageToken(offset + limit) } : { traces };
  }

  async setTag(traceId: string, key: string, value: string): Promise<void> {
    const [entry] = entries({ [key]: value }, 'tags', 'tag');
    if (key === ARTIFACT_LOCATION_TAG) throw MlflowError.invalid(`The tag '${ARTIFACT_LOCATION_TAG}' is set by the server.`);
    await this.db.transaction().execute(async (tx) => {
      await this.row(tx, traceId);
      await this.upsert(tx, 'trace_tags', traceId, [entry]);
    });
  }

  async deleteTag(traceId: string, key: string): Promise<void> {
    // Without it the client could no longer find (or upload) the trace's spans.
    if (key === ARTIFACT_LOCATION_TAG) throw MlflowError.invalid(`The tag '${ARTIFACT_LOCATION_TAG}' is set by the server.`);
    await this.db.transaction().execute(async (tx) => {
      await this.row(tx, traceId);
      const r = await tx.deleteFrom('trace_tags').where('request_id', '=', traceId).where('key', '=', key).executeTakeFirst();
      if (!Number(r.numDeletedRows)) throw MlflowError.notFound(`No trace tag with key '${excerpt(key)}' for trace with ID '${traceId}'`);
    });
  }

  /**
   * DeleteTraces in one experiment: the listed ids, or the oldest traces up to a timestamp (at
   * most max_traces), as MLflow selects them; returns how many were deleted. Children cascade.
   */
  async deleteTraces(req: DeleteTracesRequest): Promise<number> {
    const experimentId = parseExperimentId(req.experimentId);
    if (req.maxTimestampMillis === undefined && !req.requestIds.length)
      throw MlflowError.invalid('Either `max_timestamp_millis` or `trace_ids` must be specified.');
    if (req.maxTimestampMillis !== undefined && req.requestIds.length)
      throw MlflowError.invalid('Only one of `max_timestamp_millis` and `trace_ids` can be specified.');
    if (req.requestIds.length && req.maxTraces !== undefined) throw MlflowError.invalid("`max_traces` can't be specified if `trace_ids` is specified.");
    if (req.maxTraces !== undefined && req.maxTraces <= 0) throw MlflowError.invalid(`\`max_traces\` must be a positive integer, received ${req.maxTraces}.`);
    if (req.requestIds.length) {
      checkCount('request_ids', req.requestIds.length, TRACE_LIMITS.MAX_TRACE_ENTRIES);
      const ids = [...new Set(req.requestIds.filter(isTraceId))];
      if (!ids.length) return 0;
      const r = await this.db.deleteFrom('trace_info').where('experiment_id', '=', experimentId).where('request_id', 'in', ids).executeTakeFirst();
      return Number(r.numDeletedRows);
    }
    const maxTimestamp = req.maxTimestampMillis;
    if (maxTimestamp === undefined) throw MlflowError.invalid('Either `max_timestamp_millis` or `trace_ids` must be specified.');
    let deleted = 0;
    const max = req.maxTraces ?? Number.POSITIVE_INFINITY;
    while (deleted < max) {
      const take = Math.min(TRACE_LIMITS.DELETE_CHUNK, max - deleted);
      const n = await this.db.transaction().execute(async (tx) => {
        const ids = await tx
          .selectFrom('trace_info')
          .select('request_id')
          .where('experiment_id', '=', experimentId)
          .where('timestamp_ms', '<=', maxTimestamp)
          .orderBy('timestamp_ms')
          .orderBy('request_id')
          .limit(take)
          .execute();
        if (!ids.length) return 0;
        const r = await tx
          .deleteFrom('trace_info')
          .where(
            'request_id',
            'in',
            ids.map((i) => i.request_id),
          )
          .executeTakeFirst();
        return Number(r.numDeletedRows);
      });
      deleted += n;
      if (n < take) break;
    }
    return deleted;
  }

  /** LinkTracesToRun: at most 100 traces; the run must exist; existing links are kept. */
  async linkToRun(traceIds: string[], runId: string): Promise<void> {
    if (!traceIds.length) return;
    if (traceIds.length > TRACE_LIMITS.MAX_TRACE_LINKS_PER_REQUEST) {
      throw MlflowError.invalid(
        `Cannot link more than ${TRACE_LIMITS.MAX_TRACE_LINKS_PER_REQUEST} traces to a run in a single request. Provided ${traceIds.length} traces.`,
      );
    }
    validateRunId(runId);
    traceIds.forEach((id) => validateTraceId(id, 'trace_ids'));
    await this.db.transaction().execute(async (tx) => {
      const run = await tx.selectFrom('runs').select('lifecycle_stage').where('run_uuid', '=', runId).executeTakeFirst();
      if (!run) throw MlflowError.notFound(`Run with id=${runId} not found`);
      const found = await tx
        .selectFrom('trace_info')
        .select('request_id')
        .where('request_id', 'in', [...new Set(traceIds)])
        .execute();
      if (!found.length) return;
      await tx
        .insertInto('trace_run_links')
        .values(found.map((t) => ({ request_id: t.request_id, run_id: runId })))
        .onConflict((oc) => oc.columns(['request_id', 'run_id']).doNothing())
        .execute();
    });
  }
}
