import { sql, type Kysely } from 'kysely';
import type { Database, RunsTable } from '../db/schema';
import type { KeyValue } from './entities';
import { joinUri } from './uris';

/**
 * CreateRun's writes. The response is built from what was written (a new run has no metrics, params or
 * inputs, and its tags are the request's), so nothing is read back after the insert.
 */

/** A new run's row, but for its artifact URI, which depends on the experiment. */
export type NewRun = Omit<RunsTable, 'artifact_uri'>;

/** What the experiment check found: its lifecycle stage (undefined: no such experiment) and, if inserted, the run's artifact URI. */
export interface CreateOutcome {
  experimentStage: string | undefined;
  artifactUri?: string;
}

/**
 * PostgreSQL: the experiment check, the run and its tags in ONE statement (one round trip instead of
 * BEGIN, two SELECTs, two INSERTs, COMMIT and the four statements of a GetRun). The inserts happen only
 * if the experiment is active, and a single statement is atomic. The artifact URI is joinUri(location,
 * run id, 'artifacts'): rtrim(…, '/') is trimTrailingSlashes, and a run id has no slashes.
 */
export async function createRunInOneStatement(db: Kysely<Database>, run: NewRun, defaultRoot: string, tags: KeyValue[]): Promise<CreateOutcome> {
  const { rows } = await sql<{ lifecycle_stage: string; artifact_uri: string | null }>`WITH e AS (
      SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ${run.experiment_id}::int4),
    r AS (
      INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, deleted_time,
        source_version, lifecycle_stage, artifact_uri, experiment_id)
      SELECT ${run.run_uuid}::varchar, ${run.name}::varchar, ${run.source_type}::varchar, ${run.source_name}::varchar, ${run.entry_point_name}::varchar,
        ${run.user_id}::varchar, ${run.status}::varchar, ${run.start_time}::int8, NULL, NULL, ${run.source_version}::varchar, ${run.lifecycle_stage}::varchar,
        rtrim(COALESCE(e.artifact_location, ${defaultRoot}::varchar), '/') || '/' || ${run.run_uuid}::varchar || '/artifacts', ${run.experiment_id}::int4
      FROM e WHERE e.lifecycle_stage = 'active'
      RETURNING run_uuid, artifact_uri),
    t AS (
      INSERT INTO tags (key, value, run_uuid)
      SELECT x.k, x.v, r.run_uuid FROM r, unnest(${tags.map((t) => t.key)}::varchar[], ${tags.map((t) => t.value)}::varchar[]) AS x(k, v))
    SELECT e.lifecycle_stage, r.artifact_uri FROM e LEFT JOIN r ON true`.execute(db);
  if (!rows.length) return { experimentStage: undefined };
  return { experimentStage: rows[0].lifecycle_stage, artifactUri: rows[0].artifact_uri ?? undefined };
}

/** SQLite (in process, no round trips to save): the same writes in a transaction. */
export async function createRunInTransaction(db: Kysely<Database>, run: NewRun, defaultRoot: string, tags: KeyValue[]): Promise<CreateOutcome> {
  return db.transaction().execute(async (tx) => {
    const exp = await tx
      .selectFrom('experiments')
      .select(['lifecycle_stage', 'artifact_location'])
      .where('experiment_id', '=', run.experiment_id)
      .executeTakeFirst();
    if (!exp || exp.lifecycle_stage !== 'active') return { experimentStage: exp?.lifecycle_stage };
    const artifactUri = joinUri(exp.artifact_location ?? defaultRoot, run.run_uuid, 'artifacts');
    await tx
      .insertInto('runs')
      .values({ ...run, artifact_uri: artifactUri })
      .execute();
    await tx
      .insertInto('tags')
      .values(tags.map((t) => ({ run_uuid: run.run_uuid, key: t.key, value: t.value })))
      .execute();
    return { experimentStage: exp.lifecycle_stage, artifactUri };
  });
}
