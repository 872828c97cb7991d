/**
 * Benchmark (not a test): what a chart of a long run costs with and without server-side downsampling.
 * Run: `npx tsx test/ui/bench-history-bulk-interval.ts [points]` (default 100000). Seeds one run on a
 * fresh SQLite server over loopback HTTP, then times, in the same run, the full `metrics/get-history`
 * (the baseline a UI without downsampling would fetch) against `get-history-bulk-interval` at 1000 points.
 */
import { api, startTestServer } from '../tracking/helpers';

async function timeIt(label: string, repeats: number, fn: () => Promise<number>): Promise<{ ms: number; bytes: number }> {
  await fn(); // warm-up
  let bytes = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < repeats; i++) bytes = await fn();
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / repeats;
  process.stdout.write(`${label.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms  ${(bytes / 1024).toFixed(0).padStart(7)} KiB\n`);
  return { ms, bytes };
}

async function main(): Promise<void> {
  const points = Number(process.argv[2] ?? 100_000);
  const server = await startTestServer('sqlite');
  try {
    const exp = (await api(server.url, 'POST', '/experiments/create', { name: 'bench' })).body.experiment_id;
    const runId = (await api(server.url, 'POST', '/runs/create', { experiment_id: exp })).body.run.info.run_id;
    for (let from = 0; from < points; from += 1000) {
      const metrics = Array.from({ length: Math.min(1000, points - from) }, (_, i) => ({
        key: 'loss',
        value: Math.random(),
        timestamp: 1_700_000_000_000 + from + i,
        step: from + i,
      }));
      await api(server.url, 'POST', '/runs/log-batch', { run_id: runId, metrics });
    }
    const fetchBytes = async (url: string) => (await (await fetch(url)).arrayBuffer()).byteLength;
    const base = `${server.url}/ajax-api/2.0/mlflow/metrics`;
    process.stdout.write(`one run, ${points} points of one metric, SQLite, mean of 5 requests after a warm-up\n`);
    const full = await timeIt('get-history (everything, the baseline)', 5, () => fetchBytes(`${base}/get-history?run_id=${runId}&metric_key=loss`));
    const sampled = await timeIt('get-history-bulk-interval max_results=1000', 5, () =>
      fetchBytes(`${base}/get-history-bulk-interval?run_ids=${runId}&metric_key=loss&max_results=1000`),
    );
    process.stdout.write(`downsampled / full: time ${(sampled.ms / full.ms).toFixed(2)}x, bytes ${(sampled.bytes / full.bytes).toFixed(3)}x\n`);
  } finally {
    await server.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
