/**
 * Tensors as they travel between the HTTP thread and the session workers: plain typed arrays plus dims
 * (outputs are moved with postMessage; inputs are copied, the prediction hook still reads them). Codecs from JSON values and back, with errors that name the input.
 */

/** Element types onnxruntime-node accepts for tensors (string = ONNX STRING = OIP BYTES). */
export type OnnxType = 'bool' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'float16' | 'float32' | 'float64' | 'string';

export type TensorValues =
  Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint16Array | Uint32Array | BigUint64Array | Float32Array | Float64Array | string[];

export interface TensorData {
  type: OnnxType;
  dims: number[];
  data: TensorValues;
}

/** Open Inference Protocol v2 datatypes ↔ ONNX element types. */
export const V2_TO_ONNX: Record<string, OnnxType> = {
  BOOL: 'bool',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};
export const ONNX_TO_V2: Record<OnnxType, string> = Object.fromEntries(Object.entries(V2_TO_ONNX).map(([k, v]) => [v, k])) as Record<OnnxType, string>;

/** A client error about one input: becomes HTTP 400 with the message. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

const INT_RANGES: Partial<Record<OnnxType, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

export function elementCount(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** IEEE 754 half precision bits of a number (round to nearest even), as onnxruntime stores float16. */
export function toFloat16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return half;
}

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const shown = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
  return `${typeof v} ${shown}`.trim();
}

/**
 * Flat JSON values → a typed array of `type`. Numbers for numeric types (numeric strings are rejected:
 * a string where a number belongs is a client bug worth reporting), booleans or 0/1 for BOOL.
 */
export function encodeValues(type: OnnxType, values: unknown[], what: string): TensorValues {
  const n = values.length;
  const bad = (i: number, expected: string): never => {
    throw new InputError(`${what}: expected ${expected}, got ${describe(values[i])} at position ${i}`);
  };
  switch (type) {
    case 'string': {
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'string') bad(i, 'a string');
        out[i] = v as string;
      }
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === true || v === 1) out[i] = 1;
        else if (v !== false && v !== 0) bad(i, 'a boolean');
      }
      return out;
    }
    case 'int64':
    case 'uint64': {
      const out = type === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v)) bad(i, 'an integer');
        if (type === 'uint64' && (v as number) < 0) bad(i, 'a non-negative integer');
        out[i] = BigInt(v as number);
      }
      return out;
    }
    case 'float16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number') bad(i, 'a number');
        out[i] = toFloat16Bits(v as number);
      }
      return out;
    }
    case 'float32':
    case 'float64': {
      const out = type === 'float32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number') bad(i, 'a number');
        out[i] = v as number;
      }
      return out;
    }
    default: {
      const range = INT_RANGES[type];
      if (!range) throw new InputError(`cannot encode values as ${type}`);
      const [lo, hi] = range;
      const Ctor = { int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array }[type];
      const out = new Ctor(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v)) bad(i, 'an integer');
        if ((v as number) < lo || (v as number) > hi) bad(i, `an integer in [${lo}, ${hi}]`);
        out[i] = v as number;
      }
      return out;
    }
  }
}

/** Typed array → JSON-able flat values (64-bit integers as numbers, float16 decoded, bool as booleans). */
export function decodeValues(t: TensorData): Array<number | boolean | string> {
  const d = t.data;
  if (Array.isArray(d)) return d;
  if (t.type === 'bool') return Array.from(d as Uint8Array, (v) => v !== 0);
  if (t.type === 'float16') return Array.from(d as Uint16Array, fromFloat16Bits);
  // Checked by element type, not instanceof: arrays from a worker may come from another realm (jest's vm).
  if (t.type === 'int64' || t.type === 'uint64') return Array.from(d as BigInt64Array, (v) => Number(v));
  return Array.from(d as ArrayLike<number>);
}

/** Flat values → nested arrays following dims (what MLflow returns for tensors). */
export function nest(values: unknown[], dims: number[]): unknown {
  if (dims.length <= 1) return values;
  const [, ...rest] = dims;
  const stride = elementCount(rest);
  const out: unknown[] = [];
  for (let i = 0; i < dims[0]; i++) out.push(nest(values.slice(i * stride, (i + 1) * stride), rest));
  return out;
}

/**
 * The deepest nesting a tensor value may have: numpy's NPY_MAXDIMS (32), the most MLflow's own scoring
 * server can turn into an array. It also bounds the recursion below, so a hostile `[[[[…]]]]` is a 400,
 * never a stack overflow.
 */
export const MAX_TENSOR_RANK = 32;

/** Nested JSON arrays → flat values and their shape; ragged arrays are an error naming the input. */
export function flatten(value: unknown, what: string): { values: unknown[]; dims: number[] } {
  const dims: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    if (dims.length === MAX_TENSOR_RANK)
      throw new InputError(`${what}: arrays are nested more than ${MAX_TENSOR_RANK} levels deep (the most a tensor may have)`);
    dims.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const values: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === dims.length) {
      if (Array.isArray(v)) throw new InputError(`${what}: nested arrays are ragged (deeper than ${dims.length} levels at some element)`);
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== dims[depth])
      throw new InputError(`${what}: nested arrays are ragged (expected ${dims[depth]} elements at depth ${depth})`);
    for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  return { values, dims };
}

function allocLike(t: TensorData, n: number): TensorValues {
  if (Array.isArray(t.data)) return new Array<string>(n);
  const Ctor = t.data.constructor as new (n: number) => Exclude<TensorValues, string[]>;
  return new Ctor(n);
}

/** Concatenates tensors along the first (batch) dimension; they share type and the other dims. */
export function concatRows(parts: TensorData[]): TensorData {
  if (parts.length === 1) return parts[0];
  const rows = parts.reduce((a, p) => a + p.dims[0], 0);
  const dims = [rows, ...parts[0].dims.slice(1)];
  const out = allocLike(parts[0], elementCount(dims));
  let offset = 0;
  for (const p of parts) {
    if (Array.isArray(out)) for (let i = 0; i < p.data.length; i++) out[offset + i] = (p.data as string[])[i];
    else (out as Float32Array).set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return { type: parts[0].type, dims, data: out };
}

/**
 * Rows [start, end) of a tensor along its first dimension: a view for typed arrays (the batcher's split
 * of a merged run's outputs, which are only read from then on; gRPC encodes views by their byteOffset).
 */
export function sliceRows(t: TensorData, start: number, end: number): TensorData {
  const stride = elementCount(t.dims.slice(1));
  const data = Array.isArray(t.data) ? t.data.slice(start * stride, end * stride) : (t.data as Float32Array).subarray(start * stride, end * stride);
  return { type: t.type, dims: [end - start, ...t.dims.slice(1)], data };
}
