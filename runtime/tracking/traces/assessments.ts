import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { MlflowError } from '../http/errors';
import { excerpt, TRACE_LIMITS } from '../http/limits';
import type { AssessmentsTable, Database } from '../db/schema';
import { msToTimestamp, timestampToMs, type AssessmentJson } from './entities';

/**
 * Assessments on traces (assessments.proto; MLflow's create/get/update/delete assessment handlers):
 * human or judge feedback and ground-truth expectations, each one row. The Feedback or Expectation
 * message is kept as its proto JSON, so whatever value type the client sends reads back unchanged.
 */

type Db = Kysely<Database>;

/** An assessment as a request carries it (validated shape; ids and times are the server's). */
export interface AssessmentInput {
  assessment_name: string;
  span_id?: string;
  source?: { source_type?: string; source_id?: string };
  create_time?: string;
  feedback?: Record<string, unknown>;
  expectation?: Record<string, unknown>;
  rationale?: string;
  error?: Record<string, unknown>;
  metadata?: Record<string, string>;
  overrides?: string;
  valid?: boolean;
}

/** The fields UpdateAssessment may change (update_mask paths); source and span_id are immutable. */
export interface AssessmentUpdate {
  assessment_name?: string;
  feedback?: Record<string, unknown>;
  expectation?: Record<string, unknown>;
  rationale?: string;
  metadata?: Record<string, string>;
}

const ASSESSMENT_ID = /^a-[0-9a-f]{32}$/;

function json(value: unknown, field: string): string {
  const text = JSON.stringify(value);
  if (text.length > TRACE_LIMITS.MAX_ASSESSMENT_JSON_LENGTH)
    throw MlflowError.invalid(`Assessment field '${field}' may be at most ${TRACE_LIMITS.MAX_ASSESSMENT_JSON_LENGTH} characters of JSON.`);
  return text;
}

function validateName(name: string): void {
  if (!name.trim()) throw MlflowError.invalid("Missing value for required parameter 'assessment.assessment_name'.");
  if (name.length > 250) throw MlflowError.invalid(`Assessment name '${excerpt(name)}' exceeds the maximum length of 250 characters.`);
}

/** The Feedback or Expectation message, exactly one of them. */
function valueOf(a: { feedback?: Record<string, unknown>; expectation?: Record<string, unknown> }): { type: 'feedback' | 'expectation'; value: string } {
  if (a.feedback && a.expectation) throw MlflowError.invalid('An assessment is either feedback or an expectation, not both.');
  if (a.feedback) return { type: 'feedback', value: json(a.feedback, 'feedback') };
  if (a.expectation) return { type: 'expectation', value: json(a.expectation, 'expectation') };
  throw MlflowError.invalid('An assessment needs a feedback or an expectation value.');
}

/** A new row for `traceId` from a request's assessment. */
export function assessmentRow(traceId: string, a: AssessmentInput, now = Date.now()): AssessmentsTable {
  validateName(a.assessment_name);
  const { type, value } = valueOf(a);
  const created = a.create_time ? timestampToMs(a.create_time, 'assessment.create_time') : now;
  return {
    assessment_id: `a-${randomUUID().replace(/-/g, '')}`,
    trace_id: traceId,
    name: a.assessment_name,
    assessment_type: type,
    value,
    error: a.error ? json(a.error, 'error') : null,
    created_timestamp: created,
    last_updated_timestamp: now,
    source_type: a.source?.source_type || 'SOURCE_TYPE_UNSPECIFIED',
    source_id: a.source?.source_id?.slice(0, 250) || null,
    span_id: a.span_id?.slice(0, 50) || null,
    rationale: a.rationale ?? null,
    overrides: a.overrides?.slice(0, 50) || null,
    valid: a.valid === false ? 0 : 1,
    assessment_metadata: a.metadata && Object.keys(a.metadata).length ? json(a.metadata, 'metadata') : null,
  };
}

export function assessmentJson(row: AssessmentsTable): AssessmentJson {
  const out: AssessmentJson = {
    assessment_id: row.assessment_id,
    assessment_name: row.name,
    trace_id: row.trace_id,
    source: { source_type: row.source_type, ...(row.source_id ? { source_id: row.source_id } : {}) },
    create_time: msToTimestamp(row.created_timestamp),
    last_update_time: msToTimestamp(row.last_updated_timestamp),
    [row.assessment_type]: JSON.parse(row.value) as Record<string, unknown>,
    valid: row.valid === 1,
  };
  if (row.span_id) out.span_id = row.span_id;
  if (row.rationale !== null) out.rationale = row.rationale;
  if (row.error) out.error = JSON.parse(row.error) as Record<string, unknown>;
  if (row.assessment_metadata) out.metadata = JSON.parse(row.assessment_metadata) as Record<string, string>;
  if (row.overrides) out.overrides = row.overrides;
  return out;
}

export class AssessmentStore {
  constructor(private readonly db: Db) {}

  private async row(db: Db, traceId: string, assessmentId: string): Promise<AssessmentsTable> {
    const row = ASSESSMENT_ID.test(assessmentId)
      ? await db.selectFrom('assessments').selectAll().where('trace_id', '=', traceId).where('assessment_id', '=', assessmentId).executeTakeFirst()
      : undefined;
    if (!row) throw MlflowError.notFound(`Assessment with ID '${excerpt(assessmentId)}' not found for trace '${excerpt(traceId)}'.`);
    return row;
  }

  /** Inserts rows (the trace exists); an `overrides` assessment marks the one it overrides invalid, as MLflow does. */
  async insert(db: Db, rows: AssessmentsTable[]): Promise<void> {
    for (const row of rows) {
      await db.insertInto('assessments').values(row).execute();
      if (row.overrides)
        await db.updateTable('assessments').set({ valid: 0 }).where('trace_id', '=', row.trace_id).where('assessment_id', '=', row.overrides).execute();
    }
  }

  async create(traceId: string, a: AssessmentInput, traceExists: (db: Db) => Promise<void>): Promise<AssessmentJson> {
    const row = assessmentRow(traceId, a);
    await this.db.transaction().execute(async (tx) => {
      await traceExists(tx);
      if (row.overrides) await this.row(tx, traceId, row.overrides);
      await this.insert(tx, [row]);
    });
    return assessmentJson(row);
  }

  async get(traceId: string, assessmentId: string): Promise<AssessmentJson> {
    return assessmentJson(await this.row(this.db, traceId, assessmentId));
  }

  async update(traceId: string, assessmentId: string, update: AssessmentUpdate): Promise<AssessmentJson> {
    return this.db.transaction().execute(async (tx) => {
      const row = await this.row(tx, traceId, assessmentId);
      const next: Partial<AssessmentsTable> = { last_updated_timestamp: Date.now() };
      if (update.assessment_name !== undefined) {
        validateName(update.assessment_name);
        next.name = update.assessment_name;
      }
      if (update.feedback || update.expectation) {
        const { type, value } = valueOf(update);
        if (type !== row.assessment_type)
          throw MlflowError.invalid(`Cannot update ${type} value on ${row.assessment_type === 'feedback' ? 'a Feedback' : 'an Expectation'} assessment.`);
        next.value = value;
      }
      if (update.rationale !== undefined) next.rationale = update.rationale;
      if (update.metadata) {
        const merged = { ...(row.assessment_metadata ? (JSON.parse(row.assessment_metadata) as Record<string, string>) : {}), ...update.metadata };
        next.assessment_metadata = json(merged, 'metadata');
      }
      await tx.updateTable('assessments').set(next).where('assessment_id', '=', assessmentId).execute();
      return assessmentJson({ ...row, ...next });
    });
  }

  /** Idempotent on the assessment (as MLflow's): a missing one is no error, a missing trace is. */
  async delete(traceId: string, assessmentId: string, traceExists: (db: Db) => Promise<void>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await traceExists(tx);
      const row = await tx.selectFrom('assessments').selectAll().where('trace_id', '=', traceId).where('assessment_id', '=', assessmentId).executeTakeFirst();
      if (!row) return;
      // Deleting an override makes the assessment it replaced valid again (MLflow's delete_assessment).
      if (row.overrides)
        await tx.updateTable('assessments').set({ valid: 1 }).where('trace_id', '=', traceId).where('assessment_id', '=', row.overrides).execute();
      await tx.deleteFrom('assessments').where('assessment_id', '=', assessmentId).execute();
    });
  }
}
