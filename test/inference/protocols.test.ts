import type { RunningInferenceServer, PredictionInputs } from '../../runtime/inference';
import { expectClose, expected, get, metricValue, model, post, serve } from './helpers';

const rows = expected.rows;
const cols = expected.columns;
const records = rows.map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]])));

describe('inference server: MLflow scoring protocol and Open Inference Protocol v2 (logistic regression, MLflow model dir)', () => {
  let server: RunningInferenceServer;
  const seen: Array<{ model: { name: string; version: string }; inputs: PredictionInputs }> = [];
  const want = expected.outputs['churn-logreg'];

  beforeAll(async () => {
    server = await serve({ model: model('churn-logreg'), onPrediction: (m, inputs) => seen.push({ model: m, inputs }) });
  });
  afterAll(() => server.close());

  test('dataframe_split: predictions equal onnxruntime (Python) for the same rows, one record per row', async () => {
    const r = await post(`${server.url}/invocations`, { dataframe_split: { columns: cols, data: rows } });
    expect(r.status).toBe(200);
    expect(r.body.predictions).toHaveLength(rows.length);
    expect(r.body.predictions.map((p: any) => p.label)).toEqual(want.label);
    expectClose(
      r.body.predictions.map((p: any) => p.probabilities),
      want.probabilities,
    );
  });

  test('dataframe_split with columns in another order and an extra column: the extra one is dropped', async () => {
    const order = ['total_charges', 'note', 'age', 'monthly_charges', 'tenure'];
    const data = records.map((rec) => order.map((c) => (c === 'note' ? 'ignored' : rec[c])));
    const r = await post(`${server.url}/invocations`, { dataframe_split: { columns: order, data } });
    expect(r.status).toBe(200);
    expect(r.body.predictions.map((p: any) => p.label)).toEqual(want.label);
  });

  test('dataframe_records, CSV (pandas to_csv with index) and instances as records', async () => {
    const a = await post(`${server.url}/invocations`, { dataframe_records: records });
    expect(a.status).toBe(200);
    expectClose(
      a.body.predictions.map((p: any) => p.probabilities),
      want.probabilities,
    );

    const csv = [',' + cols.join(','), ...rows.map((r, i) => `${i},${r.join(',')}`)].join('\n') + '\n';
    const b = await post(`${server.url}/invocations`, csv, 'text/csv');
    expect(b.status).toBe(200);
    expect(b.body.predictions.map((p: any) => p.label)).toEqual(want.label);
    expectClose(
      b.body.predictions.map((p: any) => p.probabilities),
      want.probabilities,
    );

    const c = await post(`${server.url}/invocations`, { instances: records.slice(0, 3) }, 'application/json; charset=utf-8');
    expect(c.status).toBe(200);
    expect(c.body.predictions.label).toEqual(want.label.slice(0, 3));
  });

  test('inputs as a tensor and as named columns: a dict of outputs, as MLflow returns for tensor input', async () => {
    const a = await post(`${server.url}/invocations`, { inputs: rows });
    expect(a.status).toBe(200);
    expect(a.body.predictions.label).toEqual(want.label);
    expectClose(a.body.predictions.probabilities, want.probabilities);

    const named = Object.fromEntries(cols.map((c, i) => [c, rows.map((r) => r[i])]));
    const b = await post(`${server.url}/invocations`, { inputs: named });
    expect(b.status).toBe(200);
    expect(b.body.predictions.label).toEqual(want.label);

    const c = await post(`${server.url}/invocations`, { inputs: { float_input: rows.slice(0, 2) } });
    expect(c.status).toBe(200);
    expect(c.body.predictions.label).toEqual(want.label.slice(0, 2));
  });

  test('bad /invocations requests: 400 naming the column or input, MLflow error shape', async () => {
    const missing = await post(`${server.url}/invocations`, { dataframe_split: { columns: ['age', 'monthly_charges', 'total_charges'], data: [[1, 2, 3]] } });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error_code: 'BAD_REQUEST', message: expect.stringContaining("missing column 'tenure'") });

    const wrongType = await post(`${server.url}/invocations`, { dataframe_records: [{ ...records[0], tenure: 'twelve' }] });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.message).toMatch(/column 'tenure' must be a number .*"twelve"/);

    const nulls = await post(`${server.url}/invocations`, { dataframe_records: [{ ...records[0], age: null }] });
    expect(nulls.status).toBe(400);
    expect(nulls.body.message).toContain("column 'age' has a missing value at row 0");

    const shape = await post(`${server.url}/invocations`, { inputs: [[1, 2, 3]] });
    expect(shape.status).toBe(400);
    expect(shape.body.message).toMatch(/input 'float_input': shape \[1, 3\] does not match the model's \[-1, 4\]/);

    const ragged = await post(`${server.url}/invocations`, {
      inputs: [
        [1, 2, 3, 4],
        [1, 2],
      ],
    });
    expect(ragged.status).toBe(400);
    expect(ragged.body.message).toContain("input 'float_input'");

    const twoFormats = await post(`${server.url}/invocations`, { inputs: rows, instances: rows });
    expect(twoFormats.status).toBe(400);
    expect(twoFormats.body.message).toMatch(/exactly one of/);

    const malformed = await post(`${server.url}/invocations`, '{"inputs": [');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error_code).toBe('BAD_REQUEST');
    expect(malformed.body.message).toMatch(/malformed JSON/);

    const badCsv = await post(`${server.url}/invocations`, 'age,tenure\n1\n', 'text/csv');
    expect(badCsv.status).toBe(400);
    expect(badCsv.body.message).toMatch(/CSV: row 1 has 1 fields/);

    // csv-parse's own errors (an unterminated quote, a quote inside an unquoted field) are 400s, not 500s.
    for (const body of ['age,tenure\n"1,2\n', 'age,tenure\n1a"b,2\n']) {
      const res = await post(`${server.url}/invocations`, body, 'text/csv');
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('BAD_REQUEST');
      expect(res.body.message).toMatch(/^CSV: /);
    }
  });

  test('415 for content types other than JSON and CSV (and unknown content-type parameters)', async () => {
    const plain = await post(`${server.url}/invocations`, 'hello', 'text/plain');
    expect(plain.status).toBe(415);
    expect(plain.body.error_code).toBe('BAD_REQUEST');
    const format = await post(`${server.url}/invocations`, { inputs: rows }, 'application/json; format=pandas-split');
    expect(format.status).toBe(415);
    expect(format.body.message).toContain("'format'");
    const v2csv = await post(`${server.url}/v2/models/churn-logreg/infer`, 'a,b\n1,2\n', 'text/csv');
    expect(v2csv.status).toBe(415);
    expect(v2csv.body).toEqual({ error: expect.any(String) });
  });

  test('v2 health, server and model metadata, readiness; unknown model and version are 404 with {"error"}', async () => {
    expect((await get(`${server.url}/v2/health/live`)).body).toEqual({ live: true });
    expect((await get(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect((await get(`${server.url}/v2`)).body).toMatchObject({ name: 'mlops-inference', extensions: [] });
    const meta = await get(`${server.url}/v2/models/churn-logreg`);
    expect(meta.body).toEqual({
      name: 'churn-logreg',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      ],
    });
    expect((await get(`${server.url}/v2/models/churn-logreg/versions/1/ready`)).body).toEqual({ name: 'churn-logreg', ready: true });
    const other = await get(`${server.url}/v2/models/other`);
    expect(other.status).toBe(404);
    expect(other.body.error).toContain("model 'other' is not served here");
    const v9 = await post(`${server.url}/v2/models/churn-logreg/versions/9/infer`, {});
    expect(v9.status).toBe(404);
    expect(v9.body.error).toContain('version 9 is not loaded');
    const nowhere = await get(`${server.url}/nowhere`);
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.error_code).toBe('ENDPOINT_NOT_FOUND');
  });

  test('v2 infer: flat row-major data, id echoed, output filter; columns as named [N] tensors also work', async () => {
    const r = await post(`${server.url}/v2/models/churn-logreg/versions/1/infer`, {
      id: 'req-1',
      inputs: [{ name: 'float_input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ model_name: 'churn-logreg', model_version: '1', id: 'req-1' });
    const label = r.body.outputs.find((o: any) => o.name === 'label');
    const probs = r.body.outputs.find((o: any) => o.name === 'probabilities');
    expect(label).toEqual({ name: 'label', datatype: 'INT64', shape: [rows.length], data: want.label });
    expect(probs.shape).toEqual([rows.length, 2]);
    expectClose([probs.data], [want.probabilities.flat()]);

    const filtered = await post(`${server.url}/v2/models/churn-logreg/infer`, {
      inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [rows[0]] }],
      outputs: [{ name: 'label' }],
    });
    expect(filtered.body.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [1], data: [want.label[0]] }]);

    const byColumn = await post(`${server.url}/v2/models/churn-logreg/infer`, {
      inputs: cols.map((c, i) => ({ name: c, shape: [rows.length], datatype: 'FP32', data: rows.map((r) => r[i]) })),
    });
    expect(byColumn.status).toBe(200);
    expect(byColumn.body.outputs[0].data).toEqual(want.label);
  });

  test('v2 validation: wrong datatype, shape, element count, unknown output, missing input → 400 naming it', async () => {
    const url = `${server.url}/v2/models/churn-logreg/infer`;
    const dt = await post(url, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP64', data: rows[0] }] });
    expect(dt.status).toBe(400);
    expect(dt.body).toEqual({ error: "input 'float_input': datatype FP64 does not match the model's float32 input" });
    const shape = await post(url, { inputs: [{ name: 'float_input', shape: [2, 2], datatype: 'FP32', data: rows[0] }] });
    expect(shape.status).toBe(400);
    expect(shape.body.error).toMatch(/input 'float_input': shape \[2, 2\]/);
    const count = await post(url, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3] }] });
    expect(count.status).toBe(400);
    expect(count.body.error).toBe("input 'float_input': data has 3 elements, shape [1, 4] needs 4");
    const unknownType = await post(url, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FLOAT', data: rows[0] }] });
    expect(unknownType.body.error).toMatch(/input 'float_input': datatype must be one of BOOL/);
    const out = await post(url, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: rows[0] }], outputs: [{ name: 'nope' }] });
    expect(out.body.error).toMatch(/unknown output 'nope'/);
    const missing = await post(url, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: rows[0] }] });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/missing input 'float_input'/);
    const str = await post(url, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 'x', 4] }] });
    expect(str.body.error).toMatch(/input 'float_input': expected a number, got string "x" at position 2/);
  });

  test('health endpoints, /version and /metrics with request, latency, batch, queue and model series', async () => {
    expect((await get(`${server.url}/ping`)).status).toBe(200);
    expect((await get(`${server.url}/health`)).status).toBe(200);
    expect((await get(`${server.url}/version`)).body).toMatch(/^\d+\.\d+\.\d+/);
    const text = (await get(`${server.url}/metrics`)).body as string;
    expect(metricValue(text, 'mlops_inference_requests_total{model="churn-logreg",protocol="mlflow",code="200"}')).toBeGreaterThanOrEqual(5);
    expect(metricValue(text, 'mlops_inference_requests_total{model="churn-logreg",protocol="v2",code="400"}')).toBeGreaterThanOrEqual(6);
    expect(metricValue(text, 'mlops_inference_request_duration_seconds_count{model="churn-logreg",protocol="v2"}')).toBeGreaterThan(0);
    expect(metricValue(text, 'mlops_inference_batch_size_count{model="churn-logreg"}')).toBeGreaterThan(0);
    expect(metricValue(text, 'mlops_inference_queue_depth')).toBe(0);
    expect(text).toMatch(/mlops_inference_model_loaded\{model="churn-logreg",version="1",source="[^"]+churn-logreg"\} 1/);
  });

  test('onPrediction receives per-feature columns named like the signature, off the request path', async () => {
    seen.length = 0;
    await post(`${server.url}/invocations`, { dataframe_split: { columns: cols, data: rows.slice(0, 2) } });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(1);
    expect(seen[0].model).toEqual({ name: 'churn-logreg', version: '1' });
    expect(Object.keys(seen[0].inputs)).toEqual(cols);
    expect(Array.from(seen[0].inputs.tenure)).toEqual([rows[0][1], rows[1][1]]);
  });
});

describe('inference server: tree ensemble with one input per column, bare .onnx, all v2 datatypes', () => {
  test('random forest (MLflow dir, [N,1] input per column): predictions equal onnxruntime (Python)', async () => {
    const server = await serve({ model: model('churn-forest'), modelName: 'churn' });
    try {
      const want = expected.outputs['churn-forest'];
      const a = await post(`${server.url}/invocations`, { dataframe_records: records });
      expect(a.status).toBe(200);
      expect(a.body.predictions.map((p: any) => p.label)).toEqual(want.label);
      expectClose(
        a.body.predictions.map((p: any) => p.probabilities),
        want.probabilities,
      );
      const b = await post(`${server.url}/invocations`, { inputs: rows });
      expect(b.body.predictions.label).toEqual(want.label);
      const c = await post(`${server.url}/v2/models/churn/infer`, {
        inputs: cols.map((c, i) => ({ name: c, shape: [rows.length, 1], datatype: 'FP32', data: rows.map((r) => r[i]) })),
      });
      expect(c.status).toBe(200);
      expect(c.body.outputs[0].data).toEqual(want.label);
      const missing = await post(`${server.url}/invocations`, { dataframe_records: [{ age: 1, tenure: 2, monthly_charges: 3 }] });
      expect(missing.status).toBe(400);
      expect(missing.body.message).toContain("missing column 'total_charges'");
    } finally {
      await server.close();
    }
  });

  test('bare .onnx without signature: names from ONNX metadata, columns taken in request order', async () => {
    const server = await serve({ model: model('churn-logreg.onnx') });
    try {
      const want = expected.outputs['churn-logreg'];
      const r = await post(`${server.url}/invocations`, { dataframe_split: { columns: ['a', 'b', 'c', 'd'], data: rows } });
      expect(r.status).toBe(200);
      expect(r.body.predictions.map((p: any) => p.label)).toEqual(want.label);
      const wrong = await post(`${server.url}/invocations`, { dataframe_split: { columns: ['a', 'b'], data: [[1, 2]] } });
      expect(wrong.status).toBe(400);
      expect(wrong.body.message).toBe("input 'float_input' takes 4 columns, the request has 2");
    } finally {
      await server.close();
    }
  });

  test('v2 round trip of BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64 and BYTES through onnxruntime', async () => {
    const server = await serve({ model: model('dtypes.onnx') });
    try {
      const values: Record<string, unknown[]> = {
        BOOL: [true, false, false, true],
        INT8: [-128, 127, 0, -1],
        INT16: [-32768, 32767, 1, 2],
        INT32: [-2147483648, 2147483647, 3, 4],
        INT64: [-9007199254740991, 9007199254740991, 5, 6],
        UINT8: [0, 255, 7, 8],
        UINT16: [0, 65535, 9, 10],
        UINT32: [0, 4294967295, 11, 12],
        UINT64: [0, 9007199254740991, 13, 14],
        FP16: [0.5, -2, 65504, 0.099975586],
        FP32: [0.1, -1.5, 3.25, 1e10],
        FP64: [0.1, -1.5, Math.PI, 1e300],
        BYTES: ['a', 'churn', '', 'ünïcode'],
      };
      const r = await post(`${server.url}/v2/models/dtypes/infer`, {
        inputs: Object.entries(values).map(([dt, data]) => ({ name: `x_${dt.toLowerCase()}`, shape: [2, 2], datatype: dt, data })),
      });
      expect(r.status).toBe(200);
      for (const [dt, data] of Object.entries(values)) {
        const out = r.body.outputs.find((o: any) => o.name === `y_${dt.toLowerCase()}`);
        expect(out).toMatchObject({ datatype: dt, shape: [2, 2] });
        if (dt === 'FP32') expectClose([out.data], [data as number[]]);
        else if (dt === 'FP16') expectClose([out.data], [[0.5, -2, 65504, 0.0999755859375]]);
        else expect(out.data).toEqual(data);
      }
      const range = await post(`${server.url}/v2/models/dtypes/infer`, {
        inputs: Object.entries(values).map(([dt, data]) => ({
          name: `x_${dt.toLowerCase()}`,
          shape: [2, 2],
          datatype: dt,
          data: dt === 'UINT8' ? [0, 256, 1, 2] : data,
        })),
      });
      expect(range.status).toBe(400);
      expect(range.body.error).toBe("input 'x_uint8': expected an integer in [0, 255], got number 256 at position 1");
      const tableToTensorModel = await post(`${server.url}/invocations`, { dataframe_records: [{ a: 1 }] });
      expect(tableToTensorModel.status).toBe(400);
      expect(tableToTensorModel.body.message).toMatch(/takes tensors/);
    } finally {
      await server.close();
    }
  });

  test('413 above the body limit, in each protocol’s error shape', async () => {
    const server = await serve({ model: model('churn-logreg'), bodyLimit: 1024 });
    try {
      const big = { inputs: Array.from({ length: 200 }, () => expected.rows[0]) };
      const a = await post(`${server.url}/invocations`, big);
      expect(a.status).toBe(413);
      expect(a.body.error_code).toBe('REQUEST_LIMIT_EXCEEDED');
      const b = await post(`${server.url}/v2/models/churn-logreg/infer`, {
        inputs: [{ name: 'float_input', shape: [200, 4], datatype: 'FP32', data: big.inputs }],
      });
      expect(b.status).toBe(413);
      expect(b.body).toEqual({ error: expect.stringContaining('larger than the server accepts') });
    } finally {
      await server.close();
    }
  });

  test('startup errors name the problem: missing path, non-ONNX flavor, models:/ without a tracking server', async () => {
    await expect(serve({ model: model('nope.onnx') })).rejects.toThrow(/model not found: .*nope\.onnx/);
    await expect(serve({ model: 'models:/churn@champion', trackingUri: undefined })).rejects.toThrow(/MLFLOW_TRACKING_URI/);
    await expect(serve({ model: 's3://bucket/model.onnx' })).rejects.toThrow(/unsupported model URI scheme/);
    await expect(serve({ model: 'models:/churn/' })).rejects.toThrow(/invalid model URI/);
  });
});
