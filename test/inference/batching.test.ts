import { expectClose, expected, get, metricValue, model, post, serve } from './helpers';

const rows = expected.rows;
const cols = expected.columns;

/** Fires every request at once (each on its own connection) and returns the replies in order. */
function concurrently<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
}

describe('adaptive batching and backpressure', () => {
  test('concurrent single-row requests merged into one session run give the same results as alone', async () => {
    // One worker and a batch that waits up to 2 s to reach 16 rows: the 16 requests become exactly one run.
    const server = await serve({ model: model('churn-logreg'), workers: 1, maxBatchSize: rows.length, maxBatchDelayMs: 2000 });
    try {
      const want = expected.outputs['churn-logreg'];
      const replies = await concurrently(rows.length, (i) =>
        i % 2 === 0
          ? post(`${server.url}/invocations`, { dataframe_split: { columns: cols, data: [rows[i]] } })
          : post(`${server.url}/v2/models/churn-logreg/infer`, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: rows[i] }] }),
      );
      replies.forEach((r, i) => {
        expect(r.status).toBe(200);
        if (i % 2 === 0) {
          expect(r.body.predictions[0].label).toBe(want.label[i]);
          expectClose([r.body.predictions[0].probabilities], [want.probabilities[i]]);
        } else {
          expect(r.body.outputs[0].data).toEqual([want.label[i]]);
          expectClose([r.body.outputs[1].data], [want.probabilities[i]]);
        }
      });
      const text = (await get(`${server.url}/metrics`)).body as string;
      expect(metricValue(text, 'mlops_inference_batch_size_count{model="churn-logreg"}')).toBe(1);
      expect(metricValue(text, 'mlops_inference_batch_size_sum{model="churn-logreg"}')).toBe(rows.length);
    } finally {
      await server.close();
    }
  });

  test('the byte cap keeps requests apart that the row cap would merge; a request above it still runs, alone', async () => {
    // 4 float32 columns: 16 bytes a row. 80 bytes holds the 3- and 1-row parts together, never a 6-row one.
    const want = expected.outputs['churn-forest'];
    const parts = [rows.slice(0, 3), rows.slice(3, 4), rows.slice(4, 10), rows.slice(10)];
    const server = await serve({ model: model('churn-forest'), workers: 1, maxBatchSize: 64, maxBatchBytes: 80, maxBatchDelayMs: 500 });
    try {
      const replies = await concurrently(parts.length, (i) => post(`${server.url}/invocations`, { dataframe_split: { columns: cols, data: parts[i] } }));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(replies.flatMap((r) => r.body.predictions.map((p: any) => p.label))).toEqual(want.label);
      const text = (await get(`${server.url}/metrics`)).body as string;
      expect(metricValue(text, 'mlops_inference_batch_size_sum{model="churn-forest"}')).toBe(rows.length);
      // Without the cap the 500 ms fill would make one run of all 16 rows; with it, each 6-row part runs alone.
      expect(metricValue(text, 'mlops_inference_batch_size_count{model="churn-forest"}')).toBeGreaterThanOrEqual(3);
    } finally {
      await server.close();
    }
  });

  test('multi-row requests merge too, split back by their own row counts; batching off runs each alone', async () => {
    const want = expected.outputs['churn-forest'];
    const parts = [rows.slice(0, 3), rows.slice(3, 4), rows.slice(4, 10), rows.slice(10)];
    for (const maxBatchSize of [64, 1]) {
      const server = await serve({ model: model('churn-forest'), workers: 1, maxBatchSize, maxBatchDelayMs: maxBatchSize > 1 ? 500 : 0 });
      try {
        const replies = await concurrently(parts.length, (i) => post(`${server.url}/invocations`, { dataframe_split: { columns: cols, data: parts[i] } }));
        expect(replies.flatMap((r) => r.body.predictions.map((p: any) => p.label))).toEqual(want.label);
        expectClose(
          replies.flatMap((r) => r.body.predictions.map((p: any) => p.probabilities)),
          want.probabilities,
        );
        const text = (await get(`${server.url}/metrics`)).body as string;
        const runs = metricValue(text, 'mlops_inference_batch_size_count{model="churn-forest"}');
        expect(metricValue(text, 'mlops_inference_batch_size_sum{model="churn-forest"}')).toBe(rows.length);
        expect(runs).toBe(maxBatchSize > 1 ? 1 : parts.length);
      } finally {
        await server.close();
      }
    }
  });

  test('a full queue answers 503 with Retry-After (both protocols) instead of queueing without bound', async () => {
    // slow.onnx takes tens of ms per run; one worker, no batching, two queue slots.
    const server = await serve({ model: model('slow.onnx'), workers: 1, maxBatchSize: 1, maxQueue: 2, retryAfterSeconds: 2 });
    try {
      const replies = await concurrently(12, (i) =>
        i % 2 === 0
          ? post(`${server.url}/invocations`, { inputs: [[i, 0, 0, 0]] })
          : post(`${server.url}/v2/models/slow/infer`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [i, 0, 0, 0] }] }),
      );
      const ok = replies.filter((r) => r.status === 200);
      const busy = replies.filter((r) => r.status === 503);
      expect(ok.length + busy.length).toBe(12);
      // One running plus two queued at any moment: most of a simultaneous burst of 12 is turned away.
      expect(ok.length).toBeGreaterThanOrEqual(3);
      expect(busy.length).toBeGreaterThan(0);
      for (const r of busy) {
        expect(r.headers.get('retry-after')).toBe('2');
        if (r.body.error_code) expect(r.body).toEqual({ error_code: 'TEMPORARILY_UNAVAILABLE', message: expect.stringContaining('at capacity') });
        else expect(r.body).toEqual({ error: expect.stringContaining('at capacity') });
      }
      // Accepted requests are answered correctly: y = x.
      replies.forEach((r, i) => {
        if (r.status !== 200) return;
        if (i % 2 === 0) expect(r.body.predictions.y).toEqual([[i, 0, 0, 0]]);
        else expect(r.body.outputs[0].data).toEqual([i, 0, 0, 0]);
      });
      const text = (await get(`${server.url}/metrics`)).body as string;
      expect(metricValue(text, 'mlops_inference_requests_total{model="slow",protocol="mlflow",code="503"}') ?? 0).toBeGreaterThanOrEqual(0);
      expect(
        (metricValue(text, 'mlops_inference_requests_total{model="slow",protocol="mlflow",code="503"}') ?? 0) +
          (metricValue(text, 'mlops_inference_requests_total{model="slow",protocol="v2",code="503"}') ?? 0),
      ).toBe(busy.length);
    } finally {
      await server.close();
    }
  });

  test('in-process close() drains: requests already accepted are answered, later ones refused', async () => {
    const server = await serve({ model: model('slow.onnx'), workers: 1, maxBatchSize: 1 });
    const inflight = Array.from({ length: 4 }, (_, i) => post(`${server.url}/invocations`, { inputs: [[i, 1, 2, 3]] }));
    // Close once all four requests are inside the server (read and handed to the batcher, most queued behind
    // the one running: each run takes tens of ms). Waiting on a queue depth of 2 raced the last request's
    // arrival on a loaded machine, and a request that arrives after close() is rightly refused.
    while (server.leanRequests() < 4) await new Promise((r) => setTimeout(r, 5));
    const closing = server.close();
    const replies = await Promise.all(inflight);
    await closing;
    replies.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.predictions.y).toEqual([[i, 1, 2, 3]]);
    });
    await expect(fetch(`${server.url}/ping`)).rejects.toThrow();
  });
});
