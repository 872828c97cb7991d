import { Histogram, Registry } from 'prom-client';
import type { RunningInferenceServer } from '../../runtime/inference';
import { BoundHistogram } from '../../runtime/inference/bound-histogram';
import type { LoadedModel } from '../../runtime/inference/model';
import { inferResponseJson, predictionsJson } from '../../runtime/inference/protocols/encode';
import { formatPredictions } from '../../runtime/inference/protocols/mlflow';
import { formatInferResponse } from '../../runtime/inference/protocols/v2';
import { toFloat16Bits, type TensorData } from '../../runtime/inference/tensors';
import { expected, model, serve } from './helpers';

/**
 * The lean path (runtime/inference/hot-path.ts) answers `application/json` prediction requests before
 * Fastify; a `; charset=utf-8` parameter sends the same request through the Fastify route. Both must
 * give the same status, headers and bytes, for good and bad bodies alike; and the string encoders and the
 * bound latency histogram must produce exactly what JSON.stringify and prom-client produce.
 */

const outputs = (o: Record<string, TensorData>) => o;

const cases: Array<[string, Record<string, TensorData>]> = [
  [
    'float32 rank 1 and 2, with NaN, ±Infinity and -0',
    outputs({
      label: { type: 'int64', dims: [3], data: BigInt64Array.from([0n, 1n, 9007199254740993n]) },
      probabilities: { type: 'float32', dims: [3, 2], data: Float32Array.from([0.1, 0.9, NaN, Infinity, -0, -Infinity]) },
    }),
  ],
  [
    'bool, float16, uint64, float64, rank 3 and 0',
    outputs({
      b: { type: 'bool', dims: [2, 1], data: Uint8Array.from([1, 0]) },
      h: { type: 'float16', dims: [2, 2, 2], data: Uint16Array.from([0.5, -2, 65504, 1e-7, 3, 0, 1, 2].map(toFloat16Bits)) },
      u: { type: 'uint64', dims: [2], data: BigUint64Array.from([1n, 2n ** 63n]) },
      d: { type: 'float64', dims: [], data: Float64Array.from([1e300]) },
    }),
  ],
  [
    'strings with quotes, escapes and non-ASCII',
    outputs({ s: { type: 'string', dims: [2], data: ['a"b\\c\n', 'é\u2028😀'] }, n: { type: 'int8', dims: [2, 0], data: new Int8Array(0) } }),
  ],
  [
    'awkward output names (integer-like, __proto__, quotes)',
    outputs({
      '1': { type: 'int32', dims: [2], data: Int32Array.from([1, 2]) },
      __proto__x: { type: 'uint8', dims: [2], data: Uint8Array.from([3, 4]) },
      'q"': { type: 'int16', dims: [2, 1], data: Int16Array.from([5, 6]) },
    }),
  ],
  [
    'a rank-1 output shorter than the rows',
    outputs({ a: { type: 'float32', dims: [3, 1], data: Float32Array.from([1, 2, 3]) }, b: { type: 'float32', dims: [1], data: Float32Array.from([7]) } }),
  ],
];

describe('answer encoders: the same bytes as JSON.stringify of the formatted answer', () => {
  const served = { name: 'm "x"', version: '3' } as LoadedModel;
  test.each(cases)('%s', (_name, o) => {
    for (const tabular of [true, false]) expect(predictionsJson(o, tabular)).toBe(JSON.stringify({ predictions: formatPredictions(o, tabular) }));
    for (const id of [undefined, 'req-1', 'q"\n']) expect(inferResponseJson(served, id, o)).toBe(JSON.stringify(formatInferResponse(served, id, o)));
  });
});

describe('bound latency histogram: exported exactly as a prom-client Histogram', () => {
  test('same observations, same /metrics text and JSON', async () => {
    const buckets = [0.001, 0.01, 0.1];
    const a = new Registry();
    const b = new Registry();
    const reference = new Histogram({ name: 'lat_seconds', help: 'latency', labelNames: ['model', 'protocol'], buckets, registers: [a] });
    const bound = new BoundHistogram('lat_seconds', 'latency', buckets, b);
    const values = [0.0005, 0.001, 0.003, 0.5, 0.02, 0.0009];
    values.forEach((v, i) => {
      const labels = { model: i % 2 ? 'a"b' : 'c', protocol: i % 3 ? 'v2' : 'mlflow' };
      reference.observe(labels, v);
      bound.series(labels).observe(v);
    });
    expect(await b.metrics()).toBe(await a.metrics());
    expect(await b.getMetricsAsJSON()).toEqual(await a.getMetricsAsJSON());
  });
});

describe('lean path and Fastify route answer alike', () => {
  let server: RunningInferenceServer;
  beforeAll(async () => {
    server = await serve({ model: model('churn-logreg'), modelName: 'churn' });
  });
  afterAll(() => server.close());

  const cols = expected.columns;
  const rows = expected.rows.slice(0, 3);
  const bodies: Array<[string, string, string]> = [
    ['/invocations', 'dataframe_split', JSON.stringify({ dataframe_split: { columns: cols, data: rows } })],
    ['/invocations', 'inputs tensor', JSON.stringify({ inputs: rows })],
    ['/invocations', 'two formats', JSON.stringify({ inputs: rows, instances: rows })],
    ['/invocations', 'a string value', JSON.stringify({ dataframe_split: { columns: cols, data: [['x', 1, 2, 3]] } })],
    ['/invocations', 'malformed JSON', '{"inputs": [1, 2'],
    ['/invocations', 'nested 40 deep', `{"inputs": ${'['.repeat(40)}${']'.repeat(40)}}`],
    [
      '/v2/models/churn/infer',
      'tensor with an id',
      JSON.stringify({ id: 'r1', inputs: [{ name: 'float_input', shape: [3, 4], datatype: 'FP32', data: rows.flat() }] }),
    ],
    [
      '/v2/models/churn/infer',
      'per-column tensors and an outputs filter',
      JSON.stringify({ inputs: cols.map((c, i) => ({ name: c, shape: [3], datatype: 'FP32', data: rows.map((r) => r[i]) })), outputs: [{ name: 'label' }] }),
    ],
    ['/v2/models/churn/infer', 'wrong element count', JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3] }] })],
    [
      '/v2/models/churn/infer',
      'an unknown output',
      JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'nope' }] }),
    ],
    ['/v2/models/churn/infer', 'not an object', '[1, 2]'],
  ];

  test.each(bodies)('%s %s', async (path, _what, body) => {
    const send = async (contentType: string) => {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        length: res.headers.get('content-length'),
        keepAlive: res.headers.get('keep-alive'),
        text: await res.text(),
      };
    };
    const taken = server.leanRequests();
    const lean = await send('application/json');
    expect(server.leanRequests()).toBe(taken + 1);
    const fastify = await send('application/json; charset=utf-8');
    expect(server.leanRequests()).toBe(taken + 1);
    expect(lean).toEqual(fastify);
  });

  test('the lean path counts its answers in requests_total and the latency histogram', async () => {
    const count = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = (series: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(series + ' '))
            ?.split(' ')[1] ?? 0,
        );
      return {
        ok: line('mlops_inference_requests_total{model="churn",protocol="v2",code="200"}'),
        bad: line('mlops_inference_requests_total{model="churn",protocol="mlflow",code="400"}'),
        latency: line('mlops_inference_request_duration_seconds_count{model="churn",protocol="v2"}'),
      };
    };
    const before = await count();
    const infer = JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: rows[0] }] });
    for (let i = 0; i < 3; i++)
      expect(
        (await fetch(`${server.url}/v2/models/churn/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: infer })).status,
      ).toBe(200);
    expect((await fetch(`${server.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(400);
    const after = await count();
    expect(after.ok - before.ok).toBe(3);
    expect(after.latency - before.latency).toBe(3);
    expect(after.bad - before.bad).toBe(1);
  });
});
