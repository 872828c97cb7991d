/**
 * The runs the search benchmarks query, and the filter they query them with: each run has the metric
 * `accuracy`, the param `lr` and the tag `team`, so that half the runs match each predicate and 4.5 % match
 * both. bench.ts seeds the same runs over HTTP.
 */
import type { TrackingStore } from '../../runtime/tracking/runs/store';

export const SEARCH_FILTER = "metrics.accuracy > 0.9 and params.lr = '0.01'";

/** `runs` such runs in `experimentId`, through TrackingStore in process, from 8 concurrent writers. */
export async function seedSearchRuns(store: TrackingStore, experimentId: string, runs: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < runs; i = next++) {
        const run = await store.createRun({ experimentId, startTime: 1_700_000_000_000 + i, tags: [] });
        await store.logBatch(
          run.info.run_id,
          [{ key: 'accuracy', value: (i % 100) / 100, timestamp: 1, step: 0 }],
          [{ key: 'lr', value: i % 2 ? '0.01' : '0.1' }],
          [{ key: 'team', value: `t${i % 7}` }],
        );
      }
    }),
  );
}
