import { inspect } from 'node:util';
import { Migrator, sql, type Kysely, type Migration, type MigrationResult } from 'kysely';
import { migrations as trackingMigrations } from './migrations';
import type { DialectName } from './connection';

export interface MigrationOutcome {
  applied: string[];
  current: string | undefined;
}

// Schema set-up runs raw SQL and kysely's Migrator only, so it takes a Kysely over any schema (`DB`).

/**
 * Brings the schema to the latest version; safe to run repeatedly. Concurrent callers should go through
 * `prepareSchema`, which holds the schema lock across its decision and the migration.
 */
export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  migrations: Record<string, Migration> = trackingMigrations,
  opts: { disableTransactions?: boolean } = {},
): Promise<MigrationOutcome> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) }, disableTransactions: opts.disableTransactions });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : inspect(error)}`);
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  const all = await migrator.getMigrations();
  const done = all.filter((m) => m.executedAt);
  return { applied, current: done[done.length - 1]?.name };
}

/** Names of migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations<DB>(db: Kysely<DB>, migrations: Record<string, Migration> = trackingMigrations): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
  return (await migrator.getMigrations()).filter((m) => !m.executedAt).map((m) => m.name);
}

/**
 * Key of the session-level advisory lock every tracking process takes around schema set-up on PostgreSQL
 * (`pg_advisory_lock` is per database). Distinct from kysely's own migration lock key, which is taken inside.
 */
export const SCHEMA_LOCK_KEY = 0x6d6c6f7073; // "mlops"

/**
 * Runs `fn` holding the schema lock, on one reserved connection: PostgreSQL's advisory lock, or SQLite's write
 * lock (`BEGIN IMMEDIATE`, committed when `fn` succeeds, so the set-up is all or nothing). Replicas starting at
 * once on one database then take turns: the first initializes it, the others find it current.
 */
export async function withSchemaLock<T, DB>(db: Kysely<DB>, dialect: DialectName, fn: (conn: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    if (dialect === 'postgres') {
      // Waiting for another replica's migration, and the migration itself, may outlast the pool's statement timeout.
      await sql`set statement_timeout = 0`.execute(conn);
      try {
        await sql`select pg_advisory_lock(${sql.lit(SCHEMA_LOCK_KEY)})`.execute(conn);
        try {
          return await fn(conn);
        } finally {
          await sql`select pg_advisory_unlock(${sql.lit(SCHEMA_LOCK_KEY)})`.execute(conn);
        }
      } finally {
        await sql`reset statement_timeout`.execute(conn);
      }
    }
    await sql`begin immediate`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

/**
 * Whether the database (PostgreSQL: its current schema) holds no table but kysely's own bookkeeping: what
 * `mlflow server` initializes. kysely creates those two tables before its migration transaction, so an
 * interrupted first start leaves them behind; the next start should still initialize, not report "outdated".
 */
export async function isEmptyDatabase<DB>(db: Kysely<DB>, dialect: DialectName): Promise<boolean> {
  const query =
    dialect === 'postgres'
      ? sql<{
          n: number;
        }>`select count(*)::int as n from information_schema.tables where table_schema = current_schema() and table_name not in ('kysely_migration', 'kysely_migration_lock')`
      : sql<{
          n: number;
        }>`select count(*) as n from sqlite_master where type = 'table' and substr(name, 1, 7) <> 'sqlite_' and name not in ('kysely_migration', 'kysely_migration_lock')`;
  const { rows } = await query.execute(db);
  return (rows[0]?.n ?? 0) === 0;
}

export type SchemaState =
  /** Nothing was pending. */
  | { status: 'current'; applied: []; current: string | undefined }
  /** The database was empty and now holds the whole schema (as `mlflow server` does on a new database). */
  | { status: 'initialized'; applied: string[]; current: string | undefined }
  /** Pending migrations were applied because the caller asked for upgrades. */
  | { status: 'upgraded'; applied: string[]; current: string | undefined }
  /** A schema exists but is behind; nothing was changed. */
  | { status: 'outdated'; pending: string[] };

/**
 * What a starting server (or `db upgrade`) does with the schema, decided and done under `withSchemaLock`:
 * an empty database is initialized; a current one is left alone; an older, non-empty one is upgraded only
 * when `upgrade` is set (a release's migration Job, or SQLite's zero-config default), else reported outdated.
 */
export async function prepareSchema<DB>(
  db: Kysely<DB>,
  dialect: DialectName,
  opts: { upgrade: boolean; migrations?: Record<string, Migration> },
): Promise<SchemaState> {
  const migrations = opts.migrations ?? trackingMigrations;
  return withSchemaLock(db, dialect, async (conn) => {
    const pending = await pendingMigrations(conn, migrations);
    if (!pending.length) return { status: 'current', applied: [], current: Object.keys(migrations).sort().pop() };
    const empty = await isEmptyDatabase(conn, dialect);
    if (!empty && !opts.upgrade) return { status: 'outdated', pending };
    // SQLite: the lock's own transaction already makes the whole set-up atomic (SQLite cannot nest BEGIN).
    const { applied, current } = await migrateToLatest(conn, migrations, { disableTransactions: dialect === 'sqlite' });
    return { status: empty ? 'initialized' : 'upgraded', applied, current };
  });
}
