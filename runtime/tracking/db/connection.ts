import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import type { Database } from './schema';

export type DialectName = 'sqlite' | 'postgres';

export interface StoreConnection<DB = Database> {
  db: Kysely<DB>;
  dialect: DialectName;
  /** The URI with any password masked, for logs. */
  displayUri: string;
  /** The SQLite database file (absolute); undefined for PostgreSQL and in-memory SQLite. */
  file?: string;
  /** PostgreSQL only: the connection pool's state now (node-postgres counters), for /metrics. */
  poolStats?: () => PoolStats;
  close(): Promise<void>;
}

export interface PoolStats {
  /** Connections open (idle or in use). */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
  max: number;
}

/** Zero-config default: an SQLite file in the working directory's `.mlops/`, as `mlflow server` defaults to `mlruns/`. */
export const DEFAULT_BACKEND_STORE_URI = 'sqlite:///.mlops/mlflow.db';

/**
 * Resolves MLflow's `sqlite:///relative.db` / `sqlite:////abs/path.db` form (SQLAlchemy URL: three
 * slashes then the path, so an absolute path has four) to a filesystem path.
 */
export function sqlitePathFromUri(uri: string): string {
  const rest = uri.slice('sqlite://'.length);
  if (rest === '' || rest === '/' || rest === '/:memory:') return ':memory:';
  if (!rest.startsWith('/')) throw new Error(`invalid SQLite URI ${uri}: expected sqlite:///<path>`);
  return rest.slice(1);
}

export function maskUri(uri: string): string {
  return uri.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export function dialectOf(db: Kysely<unknown>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** `MLOPS_TRACKING_DB_STATEMENT_TIMEOUT_MS`, default 60 s: longer than any capped request needs, short of a held backend. */
export function statementTimeoutMs(): number {
  const raw = process.env.MLOPS_TRACKING_DB_STATEMENT_TIMEOUT_MS;
  const n = raw === undefined || raw === '' ? 60_000 : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`MLOPS_TRACKING_DB_STATEMENT_TIMEOUT_MS must be a whole number of milliseconds, not "${raw}"`);
  return n;
}

/** Opens `sqlite:///path`, a bare file path, or `postgresql://` / `postgres://` (also `postgresql+psycopg2://`). */
export async function openStore<DB = Database>(uri: string = DEFAULT_BACKEND_STORE_URI): Promise<StoreConnection<DB>> {
  let dialect: Dialect;
  let name: DialectName;
  let sqliteFile: string | undefined;
  let poolStats: (() => PoolStats) | undefined;
  if (/^postgres(ql)?(\+\w+)?:\/\//.test(uri)) {
    const { Pool, types } = await import('pg');
    const connectionString = uri.replace(/^postgres(ql)?\+\w+:/, 'postgresql:');
    // int8 → number for this pool only (timestamps/steps fit in 2^53); global setTypeParser would leak into other pools.
    const int8 = (v: string) => Number(v);
    const pool = new Pool({
      connectionString,
      max: Number(process.env.MLOPS_TRACKING_DB_POOL_SIZE ?? 10),
      // Also bounds the wait for a free pooled connection under load; an unreachable server fails at once (ECONNREFUSED).
      connectionTimeoutMillis: 15_000,
      idleTimeoutMillis: 30_000,
      // A backstop behind the request caps: no statement holds a backend longer (0 = none). Schema set-up lifts it.
      statement_timeout: statementTimeoutMs(),
      types: {
        getTypeParser: (oid: Parameters<typeof types.getTypeParser>[0], format?: 'text' | 'binary'): unknown =>
          oid === types.builtins.INT8 ? int8 : types.getTypeParser(oid, format),
      },
    });
    // An idle client whose server went away emits 'error' on the pool; without a listener Node would crash.
    pool.on('error', () => undefined);
    poolStats = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max });
    dialect = new PostgresDialect({ pool });
    name = 'postgres';
  } else {
    const { default: SQLite } = await import('better-sqlite3');
    const file = uri.startsWith('sqlite:') ? sqlitePathFromUri(uri) : uri;
    if (file !== ':memory:') {
      sqliteFile = path.resolve(file);
      fs.mkdirSync(path.dirname(sqliteFile), { recursive: true });
    }
    const database = new SQLite(file);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    // MLflow's LIKE is case-sensitive on every store; ILIKE is compiled to lower() LIKE lower().
    database.pragma('case_sensitive_like = ON');
    dialect = new SqliteDialect({ database });
    name = 'sqlite';
  }
  const db = new Kysely<DB>({ dialect });
  return {
    db,
    dialect: name,
    displayUri: maskUri(uri),
    ...(sqliteFile ? { file: sqliteFile } : {}),
    ...(poolStats ? { poolStats } : {}),
    close: () => db.destroy(),
  };
}
