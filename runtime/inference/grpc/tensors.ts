/**
 * Open Inference Protocol gRPC tensors ↔ the server's: a ModelInferRequest becomes the REST v2 body it
 * means (so both protocols share one validation, parseInferRequest), with its tensor contents read
 * from `raw_input_contents` (flat little-endian bytes; BYTES elements as a 4-byte length and the bytes)
 * or from the typed `contents` field of each input. Responses carry `raw_output_contents`, as Triton's.
 * Sizes are checked against the shape before anything is allocated.
 */
import { MAX_TENSOR_RANK, InputError, elementCount, fromFloat16Bits, ONNX_TO_V2, type TensorData } from '../tensors';

/** Tensors and requested outputs one request may name: far above any model's, far below what would cost. */
export const MAX_GRPC_TENSORS = 1024;

export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: InferTensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: InferInputTensor[];
  outputs: Array<{ name: string }>;
  raw_input_contents: Buffer[];
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Array<{ name: string; datatype: string; shape: number[] }>;
  raw_output_contents: Buffer[];
}

/** Bytes per element of the fixed-size datatypes in raw contents. */
const ELEMENT_BYTES: Record<string, number> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  FP16: 2,
  INT32: 4,
  UINT32: 4,
  FP32: 4,
  INT64: 8,
  UINT64: 8,
  FP64: 8,
};

/** Which typed contents field holds each datatype (FP16 has none: raw only). */
const CONTENTS_FIELD: Record<string, keyof InferTensorContents> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

type Reader = (view: DataView, offset: number) => number | boolean;
const READERS: Record<string, Reader> = {
  BOOL: (v, o) => v.getUint8(o) !== 0,
  INT8: (v, o) => v.getInt8(o),
  UINT8: (v, o) => v.getUint8(o),
  INT16: (v, o) => v.getInt16(o, true),
  UINT16: (v, o) => v.getUint16(o, true),
  FP16: (v, o) => fromFloat16Bits(v.getUint16(o, true)),
  INT32: (v, o) => v.getInt32(o, true),
  UINT32: (v, o) => v.getUint32(o, true),
  FP32: (v, o) => v.getFloat32(o, true),
  INT64: (v, o) => Number(v.getBigInt64(o, true)),
  UINT64: (v, o) => Number(v.getBigUint64(o, true)),
  FP64: (v, o) => v.getFloat64(o, true),
};

/** BYTES raw contents: each element a little-endian uint32 length, then that many bytes (UTF-8 here). */
function readBytesElements(raw: Buffer, count: number, what: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < raw.length) {
    if (out.length === count) throw new InputError(`${what}: raw contents hold more than the ${count} elements its shape has`);
    if (at + 4 > raw.length) throw new InputError(`${what}: raw BYTES contents end inside an element length`);
    const length = raw.readUInt32LE(at);
    at += 4;
    if (at + length > raw.length) throw new InputError(`${what}: raw BYTES element ${out.length} is ${length} bytes, past the end of the contents`);
    out.push(raw.toString('utf8', at, at + length));
    at += length;
  }
  if (out.length !== count) throw new InputError(`${what}: raw contents hold ${out.length} elements, shape needs ${count}`);
  return out;
}

function readRaw(raw: Buffer, datatype: string, count: number, what: string): unknown[] {
  if (datatype === 'BYTES') return readBytesElements(raw, count, what);
  const size = ELEMENT_BYTES[datatype];
  if (raw.length !== count * size) throw new InputError(`${what}: raw contents are ${raw.length} bytes, shape and ${datatype} need ${count * size}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read = READERS[datatype];
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) out[i] = read(view, i * size);
  return out;
}

function readTyped(contents: InferTensorContents | null | undefined, datatype: string, what: string): unknown[] {
  const field = CONTENTS_FIELD[datatype] as keyof InferTensorContents | undefined;
  if (!field) throw new InputError(`${what}: ${datatype} tensors travel in raw_input_contents only`);
  const values = contents?.[field] ?? [];
  return field === 'bytes_contents' ? (values as Buffer[]).map((b) => b.toString('utf8')) : values;
}

/** Checks what parseInferRequest cannot see on the wire form: datatype and shape before sizes are computed. */
function checkTensor(t: InferInputTensor, i: number): string {
  if (typeof t.name !== 'string' || !t.name) throw new InputError(`inputs[${i}].name must be a non-empty string`);
  const what = `input '${t.name}'`;
  if (!(t.datatype in ELEMENT_BYTES) && t.datatype !== 'BYTES')
    throw new InputError(`${what}: datatype must be one of ${[...Object.keys(ELEMENT_BYTES), 'BYTES'].join(', ')}, got ${JSON.stringify(t.datatype)}`);
  if (t.shape.length > MAX_TENSOR_RANK) throw new InputError(`${what}: shape has ${t.shape.length} dimensions, at most ${MAX_TENSOR_RANK} are allowed`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new InputError(`${what}: shape must be non-negative integers`);
  return what;
}

/** A ModelInferRequest as the REST v2 request body it stands for. */
export function inferRequestBody(req: ModelInferRequest): { id?: string; inputs: unknown[]; outputs?: unknown[] } {
  if (req.inputs.length === 0) throw new InputError('"inputs" must be a non-empty list of tensors');
  if (req.inputs.length > MAX_GRPC_TENSORS || req.outputs.length > MAX_GRPC_TENSORS)
    throw new InputError(`a request names at most ${MAX_GRPC_TENSORS} inputs and outputs`);
  const raw = req.raw_input_contents;
  if (raw.length > 0 && raw.length !== req.inputs.length) throw new InputError(`raw_input_contents has ${raw.length} entries for ${req.inputs.length} inputs`);
  const inputs = req.inputs.map((t, i) => {
    const what = checkTensor(t, i);
    if (raw.length > 0 && t.contents) throw new InputError(`${what}: contents must not be set when raw_input_contents is used`);
    const data = raw.length > 0 ? readRaw(raw[i], t.datatype, elementCount(t.shape), what) : readTyped(t.contents, t.datatype, what);
    return { name: t.name, datatype: t.datatype, shape: t.shape, data };
  });
  return { ...(req.id ? { id: req.id } : {}), inputs, ...(req.outputs.length ? { outputs: req.outputs.map((o) => ({ name: o.name })) } : {}) };
}

/** One output tensor's raw contents: the typed array's bytes (little-endian hosts), BYTES length-prefixed. */
function rawContents(t: TensorData): Buffer {
  const d = t.data;
  if (!Array.isArray(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  const parts = d.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    at = out.writeUInt32LE(p.length, at);
    at += p.copy(out, at);
  }
  return out;
}

export function inferResponse(model: { name: string; version: string }, id: string | undefined, outputs: Record<string, TensorData>): ModelInferResponse {
  const names = Object.keys(outputs);
  return {
    model_name: model.name,
    model_version: model.version,
    id: id ?? '',
    outputs: names.map((name) => ({ name, datatype: ONNX_TO_V2[outputs[name].type], shape: outputs[name].dims })),
    raw_output_contents: names.map((name) => rawContents(outputs[name])),
  };
}
