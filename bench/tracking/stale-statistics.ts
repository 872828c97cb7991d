/**
 * `npx tsx bench/tracking/stale-statistics.ts`: what a sweep does to search_runs before and after the
 * planner's statistics see it (ADR 0032). Autovacuum is turned off on the search tables and they are
 * analyzed while they hold an earlier experiment only, as when a sweep's runs arrive within autovacuum's
 * minute. MLOPS_BENCH_RUNS runs (default 10000) are then seeded through TrackingStore as bench.ts seeds
 * them. bench.ts's search is timed on those statistics, then after the server's analyzeStale. In process
 * on PostgreSQL (MLOPS_TEST_POSTGRES_URL); mean of 3 searches each.
 */
import { sql } from 'kysely';
import { performance } from 'node:perf_hooks';
import { openStore } from '../../runtime/tracking/db/connection';
import { prepareSchema } from '../../runtime/tracking/db/migrate';
import { analyzeStale, SEARCH_TABLES } from '../../runtime/tracking/db/planner-statistics';
import { TrackingStore } from '../../runtime/tracking/runs/store';
import { SEARCH_FILTER, seedSearchRuns } from './search-runs';
import { createDatabase, dropDatabase } from './servers';

const RUNS = Number(process.env.MLOPS_BENCH_RUNS ?? 10_000);

async function main(): Promise<void> {
  const conn = await openStore(await createDatabase('mlops_bench_stale_stats'));
  try {
    await prepareSchema(conn.db, 'postgres', { upgrade: true });
    const store = new TrackingStore(conn.db, 'postgres', { defaultArtifactRoot: '/tmp/mlops-bench-stale-stats' });
    const earlier = await store.createExperiment('earlier', undefined, []);
    for (let i = 0; i < 40; i++) {
      const run = (await store.createRun({ experimentId: earlier, tags: [] })).info.run_id;
      await store.logBatch(
        run,
        Array.from({ length: 10 }, (_, k) => ({ key: `m${k}`, value: 1, timestamp: 1, step: 0 })),
        [],
        [],
      );
    }
    await sql`ANALYZE`.execute(conn.db);
    for (const t of SEARCH_TABLES) await sql.raw(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`).execute(conn.db);
    const sweep = await store.createExperiment('sweep', undefined, []);
    await seedSearchRuns(store, sweep, RUNS);
    const req = {
      experimentIds: [sweep],
      filter: SEARCH_FILTER,
      viewType: 'ACTIVE_ONLY' as const,
      maxResults: 100,
      orderBy: [],
    };
    const timed = async () => {
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) await store.searchRuns(req);
      return (performance.now() - t0) / 3;
    };
    const stale = await timed();
    // The cumulative statistics reach pg_stat_user_tables about a second after the writes.
    await new Promise((r) => setTimeout(r, 1_500));
    const analyzed = await analyzeStale(conn.db);
    const fresh = await timed();
    console.log(
      `search_runs over a sweep of ${RUNS} runs, statistics from before the sweep: ${stale.toFixed(1)} ms per search; after analyzeStale (${analyzed.join(', ')}): ${fresh.toFixed(1)} ms (${(stale / fresh).toFixed(0)}x)`,
    );
  } finally {
    await conn.close();
    await dropDatabase('mlops_bench_stale_stats');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
