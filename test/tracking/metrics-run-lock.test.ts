import { sql } from 'kysely';
import { openStore, type StoreConnection } from '../../runtime/tracking';
import * as m0008 from '../../runtime/tracking/db/migrations/0008_metrics_run_lock';
import type { TrackingStore } from '../../runtime/tracking/runs/store';
import { ifStarted } from '../helpers/lifecycle';
import { describeWithTool } from '../helpers/tools';
import { postgresTestStore, storeAvailability, type TestStore } from './helpers';

jest.setTimeout(60_000);

/**
 * On PostgreSQL the metrics table has no foreign key to runs (migration 0008, ADR 0031): each writer of
 * points locks its run FOR KEY SHARE once instead of the key's trigger doing it per point. These tests
 * hold a run's row in another transaction that deletes it (no code path of ours hard-deletes a run; a
 * database admin or a future gc could), and show that a batch queued behind it waits, then writes nothing
 * and answers 404, as with the key; without the lock it would insert points of a run that no longer exists.
 */
describeWithTool('metric points and the run they belong to (PostgreSQL, no foreign key)', storeAvailability('postgres'), () => {
  let pg: TestStore;
  let conn: StoreConnection;
  let other: StoreConnection;
  let store: TrackingStore;
  let experimentId: string;

  beforeAll(async () => {
    pg = await postgresTestStore('metrics-lock');
    ({ conn, store } = pg);
    other = await openStore(pg.url);
    experimentId = await store.createExperiment('lock', undefined, []);
  });
  afterAll(async () => {
    await ifStarted(other)?.close();
    await ifStarted(pg)?.close();
  });

  const hasForeignKey = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'metrics_run_uuid_fkey'`.execute(conn.db)).rows[0].n === 1;
  const points = (n: number) => Array.from({ length: n }, (_, k) => ({ key: `m${k % 10}`, value: k, timestamp: 1_700_000_000_000, step: k }));
  const storedPoints = async (runId: string) =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM metrics WHERE run_uuid = ${runId}`.execute(conn.db)).rows[0].n;

  test('migration 0008 drops the key on PostgreSQL, and its down migration puts it back', async () => {
    expect(await hasForeignKey()).toBe(false);
    await m0008.down(conn.db);
    expect(await hasForeignKey()).toBe(true);
    await m0008.up(conn.db);
    expect(await hasForeignKey()).toBe(false);
  });

  test.each([
    ['metrics only (one statement)', [] as { key: string; value: string }[]],
    ['metrics with a param (transaction)', [{ key: 'lr', value: '0.1' }]],
  ])('%s: a batch behind a transaction deleting its run waits, then writes nothing and answers 404', async (_what, params) => {
    const runId = (await store.createRun({ experimentId, tags: [] })).info.run_id;
    let settled: string | undefined;
    let batch: Promise<void> | undefined;
    await other.db.transaction().execute(async (tx) => {
      for (const table of ['tags', 'params', 'latest_metrics', 'metrics'] as const) await tx.deleteFrom(table).where('run_uuid', '=', runId).execute();
      await tx.deleteFrom('runs').where('run_uuid', '=', runId).execute();
      batch = store.logBatch(runId, points(500), params, []);
      batch.then(
        () => (settled = 'written'),
        (err: unknown) => (settled = String(err)),
      );
      await new Promise((r) => setTimeout(r, 500));
      // Still waiting for the deleting transaction: the run's row is locked.
      expect(settled).toBeUndefined();
    });
    await expect(batch).rejects.toMatchObject({ errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect(await storedPoints(runId)).toBe(0);
  });

  test('a batch for a run that is there is written whole, and one for an unknown run not at all', async () => {
    const runId = (await store.createRun({ experimentId, tags: [] })).info.run_id;
    await store.logBatch(runId, points(500), [], []);
    expect(await storedPoints(runId)).toBe(500);
    const unknown = 'f'.repeat(32);
    await expect(store.logBatch(unknown, points(10), [], [])).rejects.toMatchObject({ errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect(await storedPoints(unknown)).toBe(0);
  });
});
