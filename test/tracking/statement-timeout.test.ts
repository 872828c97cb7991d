import { sql } from 'kysely';
import { openStore, type StoreConnection } from '../../runtime/tracking';
import { toMlflowError } from '../../runtime/tracking/http/errors';
import { prepareSchema, SCHEMA_LOCK_KEY } from '../../runtime/tracking/db/migrate';
import { createTestDatabase } from '../helpers/postgres';
import { describeWithTool } from '../helpers/tools';
import { storeAvailability } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * PostgreSQL's statement_timeout as a backstop behind the request caps (a 2,001-clause filter once held
 * a backend for hours): a statement running longer is canceled and reported as MLflow's 503, while the
 * schema set-up, which may wait for another replica's migration, is not bound by it.
 */
describeWithTool('PostgreSQL statement timeout', storeAvailability('postgres'), () => {
  let db: { url: string; drop(): Promise<void> };
  let store: StoreConnection;
  const saved = process.env.MLOPS_TRACKING_DB_STATEMENT_TIMEOUT_MS;
  beforeAll(async () => {
    db = await createTestDatabase('mlops_statement_timeout');
    process.env.MLOPS_TRACKING_DB_STATEMENT_TIMEOUT_MS = '300';
    store = await openStore(db.url);
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.MLOPS_TRACKING_DB_STATEMENT_TIMEOUT_MS;
    else process.env.MLOPS_TRACKING_DB_STATEMENT_TIMEOUT_MS = saved;
    await ifStarted(store)?.close();
    await ifStarted(db)?.drop();
  });

  test('a statement longer than the timeout is canceled and answered as TEMPORARILY_UNAVAILABLE (503)', async () => {
    const err = await sql`select pg_sleep(3)`.execute(store.db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).toBe('57014');
    const mlflow = toMlflowError(err);
    expect({ code: mlflow.errorCode, status: mlflow.status }).toEqual({ code: 'TEMPORARILY_UNAVAILABLE', status: 503 });
    // The pool's connections stay usable afterwards.
    expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows[0].one).toBe(1);
  });

  test('schema set-up waits for another holder of the schema lock past the timeout, then restores it', async () => {
    const other = await openStore(db.url);
    try {
      const release = await other.db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${sql.lit(SCHEMA_LOCK_KEY)})`.execute(conn);
        const preparing = prepareSchema(store.db, 'postgres', { upgrade: true });
        await new Promise((r) => setTimeout(r, 1_000));
        await sql`select pg_advisory_unlock(${sql.lit(SCHEMA_LOCK_KEY)})`.execute(conn);
        return preparing;
      });
      expect(['initialized', 'current']).toContain(release.status);
      const settings = await Promise.all(Array.from({ length: 4 }, () => sql<{ statement_timeout: string }>`show statement_timeout`.execute(store.db)));
      expect(settings.map((s) => s.rows[0].statement_timeout)).toEqual(Array(4).fill('300ms'));
    } finally {
      await other.close();
    }
  });
});
