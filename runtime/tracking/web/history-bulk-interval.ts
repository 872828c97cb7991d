import { z } from 'zod';
import { syncPlugin, type TrackingPlugin } from '../plugin';
import { MlflowError } from '../http/errors';
import { LIMITS } from '../http/limits';
import { int64, parseRequest } from '../http/request';

/**
 * GET metrics/get-history-bulk-interval, as MLflow's handler defines it: one metric's history for up to
 * 100 runs, downsampled to at most `max_results` steps so a chart of a 100k-point run stays cheap to
 * send and draw. Sampling is over the union of the runs' steps (so every run is cut at the same steps
 * and curves stay comparable), evenly spaced through [start_step, end_step], and always keeps each
 * run's first and last step in range.
 */

export const MAX_RUNS = LIMITS.MAX_RUNS_GET_METRIC_HISTORY_BULK;
export const MAX_RESULTS_PER_RUN = LIMITS.MAX_RESULTS_PER_RUN;

export interface HistoryPoint {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}

/** What the route needs from the tracking store (TrackingStore has it): one run's full history of one metric. */
export interface MetricHistoryReader {
  getMetricHistory(req: { runId: string; key: string }): Promise<{ metrics: HistoryPoint[] }>;
}

const requestSchema = z
  .object({
    run_ids: z.array(z.string().min(1)).min(1, 'at least one run_id is required').max(MAX_RUNS, `at most ${MAX_RUNS} run_ids`),
    metric_key: z.string().min(1),
    start_step: int64.optional(),
    end_step: int64.optional(),
    max_results: int64.pipe(z.number().min(1).max(MAX_RESULTS_PER_RUN)).optional(),
  })
  .superRefine((r, ctx) => {
    if ((r.start_step === undefined) !== (r.end_step === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['start_step'], message: 'If either start_step or end_step is specified, both must be specified.' });
    } else if (r.start_step !== undefined && r.end_step !== undefined && r.start_step > r.end_step) {
      ctx.addIssue({
        code: 'custom',
        path: ['end_step'],
        message: `end_step must be greater than or equal to start_step (start_step=${r.start_step}, end_step=${r.end_step}).`,
      });
    }
  });

export type BulkIntervalRequest = z.output<typeof requestSchema>;

// Loops, not Math.min(...xs): spreading a long history overflows the call stack.
function extremes(lists: number[][], start = -Infinity, end = Infinity): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const list of lists) {
    for (const s of list) {
      if (s < start || s > end) continue;
      if (s < min) min = s;
      if (s > max) max = s;
    }
  }
  return { min, max };
}

/**
 * The steps to keep: all of them when the range holds no more than `maxResults`, else `maxResults`
 * evenly spaced ones plus the range's last, plus every run's own first and last step inside the range.
 */
export function sampleSteps(stepsPerRun: number[][], start: number, end: number, maxResults: number): number[] {
  const all = [...new Set(stepsPerRun.flat())].filter((s) => s >= start && s <= end).sort((a, b) => a - b);
  const keep = new Set<number>();
  if (all.length <= maxResults) {
    all.forEach((s) => keep.add(s));
  } else {
    const interval = all.length / maxResults;
    for (let i = 0; i < maxResults; i++) keep.add(all[Math.floor(i * interval)]);
    keep.add(all[all.length - 1]);
  }
  for (const steps of stepsPerRun) {
    const { min, max } = extremes([steps], start, end);
    if (min <= max) {
      keep.add(min);
      keep.add(max);
    }
  }
  return [...keep].sort((a, b) => a - b);
}

export async function historyBulkInterval(store: MetricHistoryReader, req: BulkIntervalRequest): Promise<(HistoryPoint & { run_id: string })[]> {
  const maxResults = req.max_results ?? MAX_RESULTS_PER_RUN;
  const runIds = [...new Set(req.run_ids)];
  // An unknown run id fails the whole request (RESOURCE_DOES_NOT_EXIST from the store), as MLflow's does.
  const histories = await Promise.all(runIds.map(async (runId) => (await store.getMetricHistory({ runId, key: req.metric_key })).metrics));
  const stepsPerRun = histories.map((h) => h.map((m) => m.step));
  // Without a range, the whole history (MLflow starts at 0; negative steps are legal, so start at the smallest).
  const { min, max } = extremes(stepsPerRun);
  const start = req.start_step ?? Math.min(0, min);
  const end = req.end_step ?? Math.max(0, max);
  const keep = new Set(sampleSteps(stepsPerRun, start, end, maxResults));
  return runIds.flatMap((runId, i) =>
    histories[i]
      .filter((m) => keep.has(m.step))
      .sort((a, b) => a.step - b.step || a.timestamp - b.timestamp)
      .map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step, run_id: runId })),
  );
}

/** A tracking-app resource plugin: mounted under each API prefix (`/api/2.0/mlflow`, `/ajax-api/2.0/mlflow`). */
export const historyBulkIntervalRoutes: TrackingPlugin = syncPlugin((app, { store }) => {
  app.get('/metrics/get-history-bulk-interval', async (request) => {
    const req = parseRequest(request, requestSchema, ['run_ids']);
    if (!req.metric_key.trim()) throw MlflowError.invalid("Missing value for required parameter 'metric_key'.");
    return { metrics: await historyBulkInterval(store, req) };
  });
});
