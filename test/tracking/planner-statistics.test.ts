import { sql } from 'kysely';
import { openStore, type StoreConnection } from '../../runtime/tracking';
import { ANALYZE_LOCK_KEY, analyzeStale, keepStatisticsFresh, SEARCH_TABLES } from '../../runtime/tracking/db/planner-statistics';
import type { TrackingStore } from '../../runtime/tracking/runs/store';
import { ifStarted } from '../helpers/lifecycle';
import { createTestDatabase } from '../helpers/postgres';
import { describeWithTool } from '../helpers/tools';
import { postgresTestStore, storeAvailability, type TestStore } from './helpers';

jest.setTimeout(120_000);

/**
 * The server's own ANALYZE of the search tables after a burst of writes (planner-statistics.ts, ADR 0032),
 * on a real PostgreSQL with autovacuum turned off for these tables, so every analyze seen is ours.
 */
describeWithTool('planner statistics of the search tables (PostgreSQL)', storeAvailability('postgres'), () => {
  let pg: TestStore;
  let conn: StoreConnection;
  let store: TrackingStore;

  beforeAll(async () => {
    pg = await postgresTestStore('planner-stats');
    ({ conn, store } = pg);
    for (const t of SEARCH_TABLES) await sql.raw(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`).execute(conn.db);
  });
  afterAll(async () => {
    await ifStarted(pg)?.close();
  });

  /** A sweep: `n` runs of a new experiment, each with a metric and a param (and the run-name tag every run gets). */
  async function sweep(n: number): Promise<string> {
    const experimentId = await store.createExperiment(`sweep-${Date.now()}-${Math.random()}`, undefined, []);
    for (let i = 0; i < n; i++) {
      const run = await store.createRun({ experimentId, startTime: 1_700_000_000_000 + i, tags: [] });
      await store.logBatch(
        run.info.run_id,
        [{ key: 'accuracy', value: (i % 100) / 100, timestamp: 1, step: 0 }],
        [{ key: 'lr', value: i % 2 ? '0.01' : '0.1' }],
        [],
      );
    }
    return experimentId;
  }
  const analyzed = async () =>
    (
      await sql<{
        relname: string;
      }>`SELECT relname FROM pg_stat_user_tables WHERE relname IN ('runs', 'latest_metrics', 'params', 'tags') AND last_analyze IS NOT NULL ORDER BY relname`.execute(
        conn.db,
      )
    ).rows.map((r) => r.relname);
  /** Waits until the cumulative statistics (flushed by backends about once a second) count `n` changes on runs. */
  async function changesCounted(n: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { rows } = await sql<{ n: string }>`SELECT n_mod_since_analyze AS n FROM pg_stat_user_tables WHERE relname = 'runs'`.execute(conn.db);
      if (Number(rows[0]?.n) >= n || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** The planner's row estimate for the sweep's runs. */
  const estimatedRuns = async (experimentId: string) => {
    const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT * FROM runs WHERE experiment_id = ${Number(experimentId)}`.execute(conn.db);
    return Number(/rows=(\d+)/.exec(rows[0]['QUERY PLAN'])?.[1]);
  };

  test('tables changed past the thresholds are analyzed once; then nothing is left to do', async () => {
    const experimentId = await sweep(1_000);
    await changesCounted(1_000);
    expect(await analyzed()).toEqual([]);
    // Not analyzed yet, the new experiment looks (nearly) empty to the planner.
    expect(await estimatedRuns(experimentId)).toBeLessThan(100);
    expect(await analyzeStale(conn.db)).toEqual(['latest_metrics', 'params', 'runs', 'tags']);
    expect(await analyzed()).toEqual(['latest_metrics', 'params', 'runs', 'tags']);
    expect(await estimatedRuns(experimentId)).toBeGreaterThan(800);
    expect(await analyzeStale(conn.db)).toEqual([]);
  });

  test('a replica holding the analyze lock makes the others skip the round', async () => {
    await sweep(600);
    await changesCounted(600);
    const other = await openStore(pg.url);
    try {
      await other.db.connection().execute(async (held) => {
        await sql`SELECT pg_advisory_lock(${sql.lit(ANALYZE_LOCK_KEY)})`.execute(held);
        expect(await analyzeStale(conn.db)).toEqual([]);
        await sql`SELECT pg_advisory_unlock(${sql.lit(ANALYZE_LOCK_KEY)})`.execute(held);
      });
    } finally {
      await other.close();
    }
    expect(await analyzeStale(conn.db)).toContain('runs');
  });

  test('the server-side loop analyzes a new sweep within a few intervals, and stops cleanly', async () => {
    const warnings: unknown[] = [];
    const fresh = keepStatisticsFresh(conn.db, { intervalMs: 100, log: { warn: (o) => warnings.push(o), info: (m) => warnings.push(m) } });
    try {
      const experimentId = await sweep(1_000);
      const deadline = Date.now() + 20_000;
      // The statistics may lag the last changes by up to the thresholds (500 rows, or 10% of the table).
      while ((await estimatedRuns(experimentId)) < 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await estimatedRuns(experimentId)).toBeGreaterThan(400);
    } finally {
      await fresh.stop();
    }
    expect(warnings).toEqual([]);
  });

  test('after a failed check the loop stops: one warning, no retries every interval', async () => {
    // A store whose database is dropped under it: every check's query fails.
    const gone = await createTestDatabase('mlops_planner_stats_gone');
    const closed = await openStore(gone.url);
    await gone.drop();
    const warnings: string[] = [];
    const fresh = keepStatisticsFresh(closed.db, { intervalMs: 50, log: { warn: (_o, m) => warnings.push(m), info: (m) => warnings.push(m) } });
    await new Promise((r) => setTimeout(r, 600));
    await fresh.stop();
    await closed.close();
    expect(warnings).toEqual(['planner statistics: analyze failed; autovacuum alone analyzes the tracking tables from now on']);
  });
});
