import { MAX_RESULTS_PER_RUN, sampleSteps } from '../../runtime/tracking/web/history-bulk-interval';
import { api, startTestServer, type TestServer } from '../tracking/helpers';
import { ifStarted } from '../helpers/lifecycle';

describe('sampleSteps', () => {
  test('keeps every step when the range holds no more than max_results', () => {
    expect(
      sampleSteps(
        [
          [0, 1, 2],
          [1, 3],
        ],
        0,
        3,
        10,
      ),
    ).toEqual([0, 1, 2, 3]);
  });

  test('samples evenly, keeping the range end and each run’s first and last step', () => {
    const a = Array.from({ length: 1000 }, (_, i) => i);
    const b = [5, 7, 333];
    const kept = sampleSteps([a, b], 0, 999, 10);
    expect(kept).toEqual(expect.arrayContaining([0, 999, 5, 333]));
    // 10 evenly spaced + the last + b's first and last
    expect(kept.length).toBeLessThanOrEqual(13);
    expect(kept).toContain(500);
  });

  test('only steps inside [start, end] survive', () => {
    const a = Array.from({ length: 100 }, (_, i) => i);
    const kept = sampleSteps([a], 40, 60, 5);
    expect(Math.min(...kept)).toBe(40);
    expect(Math.max(...kept)).toBe(60);
    expect(kept.every((s) => s >= 40 && s <= 60)).toBe(true);
  });

  test('handles histories longer than the call-stack limit of spread arguments', () => {
    const long = Array.from({ length: 300_000 }, (_, i) => i);
    const kept = sampleSteps([long], 0, 299_999, 100);
    expect(kept[0]).toBe(0);
    expect(kept[kept.length - 1]).toBe(299_999);
    expect(kept.length).toBeLessThanOrEqual(102);
  });
});

// The route on the real tracking server (SQLite store, loopback HTTP), seeded through the REST API.
describe('GET metrics/get-history-bulk-interval', () => {
  let server: TestServer;
  let runA: string;
  let runB: string;
  const route = '/metrics/get-history-bulk-interval';

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    const exp = await api(server.url, 'POST', '/experiments/create', { name: 'bulk-interval' });
    const create = async () =>
      (await api(server.url, 'POST', '/runs/create', { experiment_id: exp.body.experiment_id, start_time: 1_700_000_000_000 })).body.run.info.run_id as string;
    runA = await create();
    runB = await create();
    // Run A: loss at steps 0..4999; run B: loss at even steps 0..2000.
    for (let from = 0; from < 5000; from += 1000) {
      const metrics = Array.from({ length: 1000 }, (_, i) => ({
        key: 'loss',
        value: 1 / (from + i + 1),
        timestamp: 1_700_000_000_000 + from + i,
        step: from + i,
      }));
      expect((await api(server.url, 'POST', '/runs/log-batch', { run_id: runA, metrics })).status).toBe(200);
    }
    const metricsB = Array.from({ length: 1001 }, (_, i) => ({ key: 'loss', value: i * 2, timestamp: 1_700_000_000_000 + i, step: i * 2 }));
    expect((await api(server.url, 'POST', '/runs/log-batch', { run_id: runB, metrics: metricsB.slice(0, 1000) })).status).toBe(200);
    expect((await api(server.url, 'POST', '/runs/log-batch', { run_id: runB, metrics: metricsB.slice(1000) })).status).toBe(200);
  });
  afterAll(() => ifStarted(server)?.stop());

  test('downsamples both runs at shared steps, with their real values, first and last steps kept', async () => {
    const res = await api(server.url, 'GET', route, { run_ids: [runA, runB], metric_key: 'loss', max_results: 100 });
    expect(res.status).toBe(200);
    const a = res.body.metrics.filter((m: any) => m.run_id === runA);
    const b = res.body.metrics.filter((m: any) => m.run_id === runB);
    expect(a.length).toBeGreaterThan(90);
    expect(a.length).toBeLessThanOrEqual(103);
    expect(a[0]).toEqual({ key: 'loss', value: 1, timestamp: 1_700_000_000_000, step: 0, run_id: runA });
    expect(a[a.length - 1].step).toBe(4999);
    for (const m of a as Array<{ value: number; step: number }>) expect(m.value).toBeCloseTo(1 / (m.step + 1), 12);
    expect(b[b.length - 1].step).toBe(2000);
    for (const m of b) expect(m.value).toBe(m.step);
    // Sorted by step within each run; the runs are sampled at the same steps where both have one.
    expect(a.map((m: any) => m.step)).toEqual([...a.map((m: any) => m.step)].sort((x, y) => x - y));
    const aSteps = new Set(a.map((m: any) => m.step));
    expect(b.filter((m: any) => m.step < 2000).every((m: any) => aSteps.has(m.step))).toBe(true);
  });

  test('defaults to 2500 points per run and answers on the ajax-api prefix the UI uses', async () => {
    const res = await api(server.url, 'GET', route, { run_ids: runA, metric_key: 'loss' }, '/ajax-api/2.0/mlflow');
    expect(res.status).toBe(200);
    expect(res.body.metrics.length).toBeGreaterThanOrEqual(MAX_RESULTS_PER_RUN);
    expect(res.body.metrics.length).toBeLessThanOrEqual(MAX_RESULTS_PER_RUN + 2);
  });

  test('start_step and end_step bound the window', async () => {
    const res = await api(server.url, 'GET', route, { run_ids: runA, metric_key: 'loss', start_step: 100, end_step: 199, max_results: 1000 });
    expect(res.status).toBe(200);
    expect(res.body.metrics.map((m: any) => m.step)).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i));
  });

  test('a metric the run never logged gives an empty list', async () => {
    const res = await api(server.url, 'GET', route, { run_ids: runA, metric_key: 'accuracy' });
    expect(res.status).toBe(200);
    expect(res.body.metrics ?? []).toEqual([]);
  });

  test.each([
    ['no run_ids', { metric_key: 'loss' }],
    ['no metric_key', { run_ids: 'x' }],
    ['more than 100 run_ids', { run_ids: Array.from({ length: 101 }, (_, i) => `r${i}`), metric_key: 'loss' }],
    ['start_step without end_step', { run_ids: 'x', metric_key: 'loss', start_step: 1 }],
    ['start_step after end_step', { run_ids: 'x', metric_key: 'loss', start_step: 10, end_step: 5 }],
    ['max_results 0', { run_ids: 'x', metric_key: 'loss', max_results: 0 }],
    ['max_results over 2500', { run_ids: 'x', metric_key: 'loss', max_results: 2501 }],
    ['a non-integer step', { run_ids: 'x', metric_key: 'loss', start_step: 'one', end_step: 5 }],
  ])('%s → 400 INVALID_PARAMETER_VALUE', async (_name, query) => {
    const res = await api(server.url, 'GET', route, query);
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  test('an unknown run → 404 RESOURCE_DOES_NOT_EXIST', async () => {
    const res = await api(server.url, 'GET', route, { run_ids: [runA, 'f'.repeat(32)], metric_key: 'loss' });
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});
