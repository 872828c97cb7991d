import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../connection';

/**
 * PostgreSQL: the metrics → runs foreign key goes (ADR 0031). Its trigger looked the run up and locked
 * it FOR KEY SHARE once per point, about a third of the database's CPU for a 500-point log_batch; every
 * writer of points now checks the run is active and takes that same lock once, in the same statement or
 * transaction. Runs are never hard-deleted, so nothing else relied on it. SQLite keeps the key: its check
 * is an in-process B-tree probe.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`ALTER TABLE metrics DROP CONSTRAINT IF EXISTS metrics_run_uuid_fkey`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`ALTER TABLE metrics ADD CONSTRAINT metrics_run_uuid_fkey FOREIGN KEY (run_uuid) REFERENCES runs (run_uuid)`.execute(db);
}
