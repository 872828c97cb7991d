import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import type { RunningInferenceServer } from '../../runtime/inference';
import { PREDICT_V2_PROTO } from '../../runtime/inference/grpc/service-proto';
import { repoRoot } from '../helpers/cli';
import { grpcHealthServing } from '../helpers/grpc-health';
import { commandAvailable, describeWithTool } from '../helpers/tools';
import { expected, get, metricValue, model, post, serve } from './helpers';

/** The official Triton gRPC client, in the venv .ci/run creates (test/inference/python/requirements-grpc.txt). */
const python = path.join(repoRoot, '.venv-tritonclient', 'bin', 'python');
const script = path.join(__dirname, 'python', 'triton_grpc.py');
const tritonclient = fs.existsSync(python)
  ? commandAvailable(python, ['-c', 'import tritonclient.grpc, numpy'], 'tritonclient[grpc]')
  : { ok: false, reason: `${python} is missing (.ci/run creates it)` };

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
interface Case {
  inputs: Tensor[];
  outputs?: string[];
  contents?: 'raw' | 'typed';
  id?: string;
  model?: string;
}

/** Runs the client script (asynchronously: the server under test is in this process). */
function triton(address: string, modelName: string, cases: Case[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`triton_grpc.py failed: ${stderr}`))));
    child.stdin.end(JSON.stringify({ address, model: modelName, cases }));
  });
}

/** The same request over REST v2, outputs by name. */
async function rest(server: RunningInferenceServer, modelName: string, c: Case): Promise<Record<string, Omit<Tensor, 'name'>>> {
  const r = await post(`${server.url}/v2/models/${modelName}/infer`, {
    inputs: c.inputs,
    ...(c.outputs ? { outputs: c.outputs.map((name) => ({ name })) } : {}),
  });
  expect(r.status).toBe(200);
  return Object.fromEntries(r.body.outputs.map((o: Tensor) => [o.name, { datatype: o.datatype, shape: o.shape, data: o.data }]));
}

const rows = expected.rows;
const cols = expected.columns;

describeWithTool('inference server: gRPC Open Inference Protocol with the official Triton client', tritonclient, () => {
  let server: RunningInferenceServer;
  beforeAll(async () => {
    server = await serve({ model: model('churn-logreg'), grpcPort: 0 });
  });
  afterAll(() => server.close());

  test('health, metadata, and predictions equal to REST v2: raw and typed contents, output filter, columns as tensors', async () => {
    const matrix: Tensor = { name: 'float_input', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() };
    const cases: Case[] = [
      { inputs: [matrix], contents: 'raw', id: 'req-raw' },
      { inputs: [matrix], contents: 'typed', id: 'req-typed' },
      { inputs: [matrix], outputs: ['label'] },
      { inputs: cols.map((c, i) => ({ name: c, datatype: 'FP32', shape: [rows.length], data: rows.map((r) => r[i]) })) },
    ];
    const out = await triton(server.grpcAddress!, 'churn-logreg', cases);
    expect(out).toMatchObject({ live: true, ready: true, model_ready: true });
    expect(out.server_metadata).toMatchObject({ name: 'mlops-inference', version: expect.any(String) });
    const meta = (await get(`${server.url}/v2/models/churn-logreg`)).body;
    expect(out.model_metadata).toMatchObject({ name: meta.name, versions: meta.versions, platform: meta.platform });
    expect(out.model_metadata.inputs).toEqual(meta.inputs.map((t: any) => ({ ...t, shape: t.shape.map(String) })));
    for (const [i, c] of cases.entries()) {
      const got = out.cases[i];
      expect(got.error).toBeUndefined();
      expect(got.outputs).toEqual(await rest(server, 'churn-logreg', c));
    }
    expect(out.cases[0]).toMatchObject({ id: 'req-raw', model_version: '1' });
    expect(out.cases[1].id).toBe('req-typed');
    expect(Object.keys(out.cases[2].outputs)).toEqual(['label']);
    expect(out.cases[0].outputs.label.data).toEqual(expected.outputs['churn-logreg'].label);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, 'mlops_inference_requests_total{model="churn-logreg",protocol="grpc",code="200"}')).toBe(4);
  });

  test('bad input gets the status code and the message REST gives: shape, datatype, unknown model and output', async () => {
    const cases: Case[] = [
      { inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
      { inputs: [{ name: 'float_input', datatype: 'FP64', shape: [1, 4], data: rows[0] }] },
      { inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 4], data: rows[0] }], model: 'other' },
      { inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 4], data: rows[0] }], outputs: ['nope'] },
    ];
    const out = await triton(server.grpcAddress!, 'churn-logreg', cases);
    const codes = out.cases.map((c: any) => c.error?.code);
    expect(codes).toEqual(['StatusCode.INVALID_ARGUMENT', 'StatusCode.INVALID_ARGUMENT', 'StatusCode.NOT_FOUND', 'StatusCode.INVALID_ARGUMENT']);
    for (const [i, c] of cases.entries()) {
      const r = await post(`${server.url}/v2/models/${c.model ?? 'churn-logreg'}/infer`, {
        inputs: c.inputs,
        ...(c.outputs ? { outputs: c.outputs.map((name) => ({ name })) } : {}),
      });
      expect(out.cases[i].error.message).toBe(r.body.error);
    }
  });

  test('every datatype round-trips through raw contents as over REST (dtypes model)', async () => {
    const dtypes = await serve({ model: model('dtypes.onnx'), grpcPort: 0 });
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
      const c: Case = { inputs: Object.entries(values).map(([dt, data]) => ({ name: `x_${dt.toLowerCase()}`, shape: [2, 2], datatype: dt, data })) };
      const out = await triton(dtypes.grpcAddress!, 'dtypes', [c]);
      expect(out.cases[0].error).toBeUndefined();
      expect(out.cases[0].outputs).toEqual(await rest(dtypes, 'dtypes', c));
    } finally {
      await dtypes.close();
    }
  });
});

/** A raw client over the same service definition, for requests no well-behaved client would send. */
function rawClient(address: string): grpc.Client & Record<string, any> {
  const definition = fromJSON(protobuf.parse(PREDICT_V2_PROTO, { keepCase: true }).root.toJSON(), { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as any;
  return new pkg.inference.GRPCInferenceService(address, grpc.credentials.createInsecure());
}

function call(client: any, request: unknown): Promise<{ code: number; details: string } | { response: any }> {
  return new Promise((resolve) =>
    client.ModelInfer(request, (err: grpc.ServiceError | null, response: any) => resolve(err ? { code: err.code, details: err.details } : { response })),
  );
}

describe('inference server: hostile gRPC requests get a fast error and the server keeps serving', () => {
  let server: RunningInferenceServer;
  let client: any;
  beforeAll(async () => {
    server = await serve({ model: model('churn-logreg'), grpcPort: 0, bodyLimit: 64 * 1024 });
    client = rawClient(server.grpcAddress!);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });
  const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);
  const tensor = (shape: number[], datatype = 'FP32') => ({ name: 'float_input', datatype, shape });

  test.each([
    ['a huge shape with few bytes', { inputs: [tensor([2 ** 40, 2 ** 40])], raw_input_contents: [f32([1, 2, 3, 4])] }, /raw contents are 16 bytes/],
    [
      'raw bytes that do not fill the shape',
      { inputs: [tensor([1, 4])], raw_input_contents: [f32([1, 2, 3])] },
      /raw contents are 12 bytes, shape and FP32 need 16/,
    ],
    ['more raw entries than inputs', { inputs: [tensor([1, 4])], raw_input_contents: [f32([1, 2, 3, 4]), f32([1])] }, /2 entries for 1 inputs/],
    [
      'raw and typed contents together',
      { inputs: [{ ...tensor([1, 4]), contents: { fp32_contents: [1, 2, 3, 4] } }], raw_input_contents: [f32([1, 2, 3, 4])] },
      /must not be set/,
    ],
    ['a BYTES length past the end', { inputs: [tensor([1], 'BYTES')], raw_input_contents: [Buffer.from([255, 255, 255, 127, 65])] }, /past the end/],
    ['FP16 as typed contents', { inputs: [{ ...tensor([1, 4], 'FP16'), contents: {} }] }, /raw_input_contents only/],
    ['a rank above 32', { inputs: [tensor(new Array(40).fill(1))], raw_input_contents: [f32([1])] }, /at most 32/],
    ['too many tensors', { inputs: Array.from({ length: 1025 }, (_, i) => ({ name: `x${i}`, datatype: 'FP32', shape: [1] })) }, /at most 1024/],
    ['no inputs', { inputs: [] }, /non-empty/],
    ['an unknown datatype', { inputs: [tensor([1, 4], 'FP128')] }, /datatype must be one of/],
  ])('%s: INVALID_ARGUMENT', async (_what, request, message) => {
    const r = await call(client, { model_name: 'churn-logreg', ...request });
    expect(r).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(message) });
  });

  test('a message above the size cap is RESOURCE_EXHAUSTED; another version NOT_FOUND; then a good request still answers', async () => {
    const big = await call(client, { model_name: 'churn-logreg', inputs: [tensor([1, 4])], raw_input_contents: [Buffer.alloc(128 * 1024)] });
    expect(big).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    const version = await call(client, { model_name: 'churn-logreg', model_version: '9', inputs: [tensor([1, 4])], raw_input_contents: [f32(rows[0])] });
    expect(version).toEqual({ code: grpc.status.NOT_FOUND, details: "model 'churn-logreg' version 9 is not loaded (serving version 1)" });
    const ok = await call(client, { model_name: 'churn-logreg', inputs: [tensor([1, 4])], raw_input_contents: [f32(rows[0])] });
    expect(ok).toMatchObject({
      response: {
        model_name: 'churn-logreg',
        outputs: [
          { name: 'label', datatype: 'INT64', shape: [1] },
          { name: 'probabilities', datatype: 'FP32', shape: [1, 2] },
        ],
      },
    });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, 'mlops_inference_requests_total{model="churn-logreg",protocol="grpc",code="400"}')).toBeGreaterThanOrEqual(10);
    expect(metricValue(metrics, 'mlops_inference_requests_total{model="churn-logreg",protocol="grpc",code="404"}')).toBe(1);
  });

  test('while draining, calls are refused as UNAVAILABLE or the connection is gone; close resolves', async () => {
    const drained = server.close();
    const r = await call(client, { model_name: 'churn-logreg', inputs: [tensor([1, 4])], raw_input_contents: [f32(rows[0])] });
    expect('code' in r ? r.code : -1).toBe(grpc.status.UNAVAILABLE);
    await drained;
  });
});

describe('inference server: grpc.health.v1 for Kubernetes probes', () => {
  test('the server is SERVING; the inference service too while it takes requests; an unknown service is NOT_FOUND', async () => {
    const server = await serve({ model: model('churn-logreg'), grpcPort: 0 });
    try {
      expect(await grpcHealthServing(server.grpcAddress!)).toBe(true);
      expect(await grpcHealthServing(server.grpcAddress!, 'inference.GRPCInferenceService')).toBe(true);
      expect(await grpcHealthServing(server.grpcAddress!, 'other.Service')).toBe(false);
    } finally {
      await server.close();
    }
  });
});
