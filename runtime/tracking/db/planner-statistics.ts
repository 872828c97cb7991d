import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/**
 * PostgreSQL: refreshes the planner's statistics on the tables the run search reads, within seconds of a
 * burst of writes, instead of waiting for autovacuum (a minute at the earliest, longer when its workers are
 * busy). Until a table is analyzed again, a new experiment or metric key looks empty to the planner. For
 * `metrics.accuracy > 0.9 and params.lr = '0.01'` over a sweep's 10,000 fresh runs, it then planned joins
 * that compared every run with every matching metric row: 10-20 s per search instead of 3-7 ms once
 * analyzed (bench/tracking/stale-statistics.ts, ADR 0032).
 */

/** What search_runs filters, orders and hydrates by (search/runs.ts, runs/hydrate-pg.ts). */
export const SEARCH_TABLES = ['runs', 'latest_metrics', 'params', 'tags'];
/** Held while analyzing, so one replica at a time does it; the others skip that round. */
export const ANALYZE_LOCK_KEY = 0x6d6c6f7074; // "mlopt"

export interface FreshStatisticsOptions {
  /** Between checks of pg_stat_user_tables. Default 5 s; env MLOPS_TRACKING_DB_ANALYZE_INTERVAL_MS, 0 turns it off. */
  intervalMs?: number;
  /** A table is analyzed when its rows changed since its last analyze exceed both this count (default 500)… */
  minChanges?: number;
  /** …and this fraction of its live rows (default 0.1, autovacuum's own scale factor). */
  fraction?: number;
  log: { warn(obj: object, msg: string): void; info(msg: string): void };
}

export interface FreshStatistics {
  /** Stops the checks and waits for one in progress. */
  stop(): Promise<void>;
}

function intervalFromEnv(): number {
  const raw = process.env.MLOPS_TRACKING_DB_ANALYZE_INTERVAL_MS;
  const n = raw === undefined ? 5_000 : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`MLOPS_TRACKING_DB_ANALYZE_INTERVAL_MS must be a whole number of milliseconds, not "${raw}"`);
  return n;
}

/** Checks every `intervalMs` and analyzes what changed enough; off when the tables belong to another role. */
export function keepStatisticsFresh(db: Kysely<Database>, opts: FreshStatisticsOptions): FreshStatistics {
  const interval = opts.intervalMs ?? intervalFromEnv();
  if (interval === 0) return { stop: () => Promise.resolve() };
  let running: Promise<void> | undefined;
  let owned: boolean | undefined;
  const check = async () => {
    owned ??= await ownsTables(db);
    if (!owned) {
      opts.log.info('planner statistics: the tracking tables belong to another role, so autovacuum alone analyzes them');
      clearInterval(timer);
      return;
    }
    await analyzeStale(db, opts);
  };
  const timer = setInterval(() => {
    if (running) return;
    running = check()
      .catch((err: unknown) => {
        clearInterval(timer);
        opts.log.warn({ err }, 'planner statistics: analyze failed; autovacuum alone analyzes the tracking tables from now on');
      })
      .finally(() => (running = undefined));
  }, interval);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

/** ANALYZE needs the table's owner (others get a warning and nothing is analyzed). */
async function ownsTables(db: Kysely<Database>): Promise<boolean> {
  const { rows } = await sql<{ owned: boolean | null }>`SELECT bool_and(pg_has_role(tableowner, 'MEMBER')) AS owned FROM pg_tables
    WHERE schemaname = current_schema() AND tablename IN (${sql.join(SEARCH_TABLES)})`.execute(db);
  return rows[0]?.owned ?? false;
}

/**
 * Analyzes the search tables whose changes since their last analyze passed the thresholds, unless another
 * replica holds the lock. Returns the tables analyzed.
 */
export async function analyzeStale(db: Kysely<Database>, opts: Pick<FreshStatisticsOptions, 'minChanges' | 'fraction'> = {}): Promise<string[]> {
  const { rows } = await sql<{ relname: string }>`SELECT relname FROM pg_stat_user_tables
    WHERE schemaname = current_schema() AND relname IN (${sql.join(SEARCH_TABLES)})
      AND n_mod_since_analyze > GREATEST(${opts.minChanges ?? 500}::float8, ${opts.fraction ?? 0.1}::float8 * n_live_tup)
    ORDER BY relname`.execute(db);
  if (!rows.length) return [];
  return db.connection().execute(async (conn) => {
    const { rows: lock } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${sql.lit(ANALYZE_LOCK_KEY)}) AS ok`.execute(conn);
    if (!lock[0]?.ok) return [];
    try {
      for (const { relname } of rows) await sql`ANALYZE ${sql.table(relname)}`.execute(conn);
    } finally {
      await sql`SELECT pg_advisory_unlock(${sql.lit(ANALYZE_LOCK_KEY)})`.execute(conn);
    }
    return rows.map((r) => r.relname);
  });
}
