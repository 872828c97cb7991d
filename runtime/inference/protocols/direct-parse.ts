/**
 * The request shapes clients send most, parsed from the body's bytes straight into the model's input
 * tensor: v2 `{"inputs": [{name, shape, datatype, data}]}` with flat numeric data (one tensor per input,
 * or one column per tensor for a column-signature model) and MLflow's
 * `{"dataframe_split": {"columns": […], "data": [[…], …]}}`, for float32/float64 inputs. No JSON.parse,
 * no row objects, no value arrays: the numbers go into one reused buffer and from there into the tensor.
 *
 * This is only ever a shortcut. Anything outside that narrow shape — other keys, escapes, nesting,
 * integer inputs, a value the general path would refuse — returns undefined, and the caller parses the
 * same body the general way, which gives every answer and every error. So a body taken here yields the
 * feeds the general path yields (test/inference/direct-parse.test.ts checks that on generated bodies).
 */
import { ownValue } from '../../../core/records';
import type { ColumnSpec, LoadedModel } from '../model';
import { elementCount, V2_TO_ONNX, type TensorData } from '../tensors';
import { ByteScanner, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, OPEN_ARRAY, OPEN_OBJECT } from './byte-scanner';
import type { ParsedInvocation } from './mlflow';
import type { ParsedInfer } from './v2';

/** Bodies above this many bytes take the general path (and keep the shared buffer small). */
const MAX_DIRECT_BYTES = 256 * 1024;

/** The numbers of the body being parsed: one event loop parses one body to its end before the next. */
let numbers = new Float64Array(4096);

/** A buffer that can hold every number of a body of `bytes` bytes (a number and its comma take ≥ 2). */
function numbersFor(bytes: number): Float64Array {
  const need = (bytes >> 1) + 1;
  if (numbers.length < need) numbers = new Float64Array(Math.max(need, numbers.length * 2));
  return numbers;
}

/** `"key":` of the next member when it is one of `keys`, or undefined. */
function memberKey(s: ByteScanner, keys: readonly string[]): string | undefined {
  const key = s.oneOf(keys);
  return key !== undefined && s.eat(COLON) ? key : undefined;
}

const DATATYPES = Object.keys(V2_TO_ONNX);
const BODY_KEYS = ['inputs', 'id'];
const INPUT_KEYS = ['name', 'shape', 'datatype', 'data'];
const SPLIT_KEYS = ['columns', 'data'];
const INVOCATION_KEYS = ['dataframe_split'];

/** The names a request may use for this model: its inputs and its signature's columns. */
const namesOf = new WeakMap<LoadedModel, string[]>();

function modelNames(model: LoadedModel): string[] {
  let names = namesOf.get(model);
  if (names === undefined) {
    names = [...new Set([...model.inputs.map((i) => i.name), ...(model.layout?.kind === 'matrix' ? (model.layout.columns ?? []) : [])])];
    namesOf.set(model, names);
  }
  return names;
}

/** `[non-negative integer, …]`, or undefined. */
function shapeArray(s: ByteScanner): number[] | undefined {
  if (!s.eat(OPEN_ARRAY)) return undefined;
  const dims: number[] = [];
  if (s.eat(CLOSE_ARRAY)) return dims;
  do {
    const d = s.number();
    if (!Number.isInteger(d) || d < 0) return undefined;
    dims.push(d);
  } while (s.eat(COMMA));
  return s.eat(CLOSE_ARRAY) ? dims : undefined;
}

function columnSpec(model: LoadedModel, name: string): ColumnSpec | undefined {
  return model.columns?.find((c) => c.name === name);
}

/**
 * How a table column is checked (frameToFeeds' checkColumnValue on numbers): false = any number,
 * true = integers only, undefined = numbers are refused (boolean, string, … columns).
 */
function integerColumn(model: LoadedModel, name: string): boolean | undefined {
  const col = columnSpec(model, name);
  if (!col || col.type === 'float' || col.type === 'double') return false;
  if (col.type === 'integer' || col.type === 'long') return true;
  return undefined;
}

/** Inputs read here: float32, and float64 when every number was read exactly. */
function takes(type: string, s: ByteScanner): boolean {
  return type === 'float32' || (type === 'float64' && !s.approximate);
}

/**
 * frameToFeeds for a matrix model, reading column `name`'s row r at numbers[start(name) + r × rowStride];
 * undefined where frameToFeeds would refuse or the input is not float32/float64.
 */
function matrixFeeds(model: LoadedModel, s: ByteScanner, start: Map<string, number>, rows: number, rowStride: number): Record<string, TensorData> | undefined {
  const layout = model.layout;
  if (layout?.kind !== 'matrix' || !layout.columns || rows === 0) return undefined;
  const { input, columns } = layout;
  if (!takes(input.type, s)) return undefined;
  const k = columns.length;
  const data = input.type === 'float32' ? new Float32Array(rows * k) : new Float64Array(rows * k);
  for (let c = 0; c < k; c++) {
    const from = start.get(columns[c]);
    const integral = integerColumn(model, columns[c]);
    if (from === undefined || integral === undefined || (integral && s.approximate)) return undefined;
    for (let r = 0; r < rows; r++) {
      const v = numbers[from + r * rowStride];
      if (integral && !Number.isInteger(v)) return undefined;
      data[r * k + c] = v;
    }
  }
  return { [input.name]: { type: input.type, dims: [rows, k], data } };
}

interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  /** Its data: numbers[start, start + count). */
  start: number;
  count: number;
}

/** One `{name, shape, datatype, data}` with each member once and nothing else, or undefined. */
function v2Input(s: ByteScanner, names: readonly string[], at: number): V2Input | undefined {
  if (!s.eat(OPEN_OBJECT)) return undefined;
  let name: string | undefined;
  let shape: number[] | undefined;
  let datatype: string | undefined;
  let count = -1;
  do {
    const key = memberKey(s, INPUT_KEYS);
    if (key === 'name' && name === undefined) name = s.oneOf(names);
    else if (key === 'shape' && shape === undefined) shape = shapeArray(s);
    else if (key === 'datatype' && datatype === undefined) datatype = s.oneOf(DATATYPES);
    else if (key === 'data' && count < 0) count = s.numbers(numbers, at, true);
    else return undefined;
  } while (s.eat(COMMA));
  if (!s.eat(CLOSE_OBJECT) || !name || !shape || datatype === undefined || count < 0) return undefined;
  if (ownValue(V2_TO_ONNX, datatype) === undefined || count !== elementCount(shape)) return undefined;
  return { name, shape, datatype, start: at, count };
}

/** `[input, …]` with distinct names, or undefined. */
function v2Inputs(s: ByteScanner, names: readonly string[]): Map<string, V2Input> | undefined {
  if (!s.eat(OPEN_ARRAY)) return undefined;
  const inputs = new Map<string, V2Input>();
  let at = 0;
  do {
    const input = v2Input(s, names, at);
    if (!input || inputs.has(input.name)) return undefined;
    inputs.set(input.name, input);
    at += input.count;
  } while (s.eat(COMMA));
  return s.eat(CLOSE_ARRAY) ? inputs : undefined;
}

/** tensorsToFeeds when every request tensor is a float32/float64 model input and every input is there. */
function tensorFeeds(model: LoadedModel, s: ByteScanner, inputs: Map<string, V2Input>): Record<string, TensorData> | undefined {
  if (inputs.size !== model.inputs.length) return undefined;
  const feeds: Record<string, TensorData> = {};
  let batch: number | undefined;
  for (const input of model.inputs) {
    const t = inputs.get(input.name);
    if (!t || ownValue(V2_TO_ONNX, t.datatype) !== input.type || !takes(input.type, s)) return undefined;
    const rank = input.shape.length;
    const dims = t.shape.length === rank - 1 && input.shape[rank - 1] === 1 ? [...t.shape, 1] : t.shape;
    if (dims.length !== rank || input.shape.some((d, i) => d !== null && d !== dims[i])) return undefined;
    if (model.batchable) {
      if (batch !== undefined && dims[0] !== batch) return undefined;
      batch = dims[0];
    }
    if (rank > 0 && dims[0] === 0) return undefined;
    const values = numbers.subarray(t.start, t.start + t.count);
    feeds[input.name] = { type: input.type, dims, data: input.type === 'float32' ? new Float32Array(values) : values.slice() };
  }
  return feeds;
}

const FLOAT_DATATYPES = new Set(['FP16', 'FP32', 'FP64']);

/** The column-per-tensor form (MLServer's pandas codec) when every tensor is an [N] or [N, 1] signature column. */
function columnFeeds(model: LoadedModel, s: ByteScanner, inputs: Map<string, V2Input>): Record<string, TensorData> | undefined {
  const layout = model.layout;
  if (layout?.kind !== 'matrix' || !layout.columns) return undefined;
  const start = new Map<string, number>();
  let rows = -1;
  for (const t of inputs.values()) {
    if (!layout.columns.includes(t.name) || model.inputs.some((i) => i.name === t.name)) return undefined;
    if (!(t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1))) return undefined;
    const col = columnSpec(model, t.name);
    if (col && (col.type === 'float' || col.type === 'double') && !FLOAT_DATATYPES.has(t.datatype)) return undefined;
    if (rows >= 0 && t.count !== rows) return undefined;
    rows = t.count;
    start.set(t.name, t.start);
  }
  return matrixFeeds(model, s, start, rows, 1);
}

/** parseInferRequest of the body's bytes, or undefined for the general path. */
export function directInfer(model: LoadedModel, body: Buffer): ParsedInfer | undefined {
  if (body.length > MAX_DIRECT_BYTES) return undefined;
  numbersFor(body.length);
  const s = new ByteScanner(body);
  if (!s.eat(OPEN_OBJECT)) return undefined;
  let id: string | undefined;
  let inputs: Map<string, V2Input> | undefined;
  do {
    const key = memberKey(s, BODY_KEYS);
    if (key === 'id' && id === undefined) {
      id = s.string();
      if (id === undefined) return undefined;
    } else if (key === 'inputs' && inputs === undefined) {
      inputs = v2Inputs(s, modelNames(model));
      if (!inputs) return undefined;
    } else return undefined;
  } while (s.eat(COMMA));
  if (!s.eat(CLOSE_OBJECT) || !s.atEnd() || !inputs) return undefined;
  const named = model.inputs.some((i) => inputs.has(i.name));
  const feeds = named ? tensorFeeds(model, s, inputs) : columnFeeds(model, s, inputs);
  return feeds && { id, feeds };
}

interface Split {
  columns: string[];
  rows: number;
  width: number;
}

/** `{"columns": [names], "data": [[numbers], …]}` (either order, nothing else), rows of equal width. */
function dataframeSplit(s: ByteScanner, names: readonly string[]): Split | undefined {
  if (!s.eat(OPEN_OBJECT)) return undefined;
  let columns: string[] | undefined;
  let rows = -1;
  let width = -1;
  do {
    const key = memberKey(s, SPLIT_KEYS);
    if (key === 'columns' && columns === undefined) {
      if (!s.eat(OPEN_ARRAY)) return undefined;
      columns = [];
      do {
        const name = s.oneOf(names);
        if (name === undefined) return undefined;
        columns.push(name);
      } while (s.eat(COMMA));
      if (!s.eat(CLOSE_ARRAY)) return undefined;
    } else if (key === 'data' && rows < 0) {
      if (!s.eat(OPEN_ARRAY)) return undefined;
      rows = 0;
      do {
        const n = s.numbers(numbers, rows * Math.max(width, 0), true);
        if (n < 0 || (width >= 0 && n !== width)) return undefined;
        width = n;
        rows++;
      } while (s.eat(COMMA));
      if (!s.eat(CLOSE_ARRAY)) return undefined;
    } else return undefined;
  } while (s.eat(COMMA));
  if (!s.eat(CLOSE_OBJECT) || !columns || rows < 0 || width !== columns.length) return undefined;
  return { columns, rows, width };
}

/** parseJsonInvocation of the body's bytes, or undefined for the general path. */
export function directInvocation(model: LoadedModel, body: Buffer): ParsedInvocation | undefined {
  if (body.length > MAX_DIRECT_BYTES) return undefined;
  numbersFor(body.length);
  const s = new ByteScanner(body);
  if (!s.eat(OPEN_OBJECT) || memberKey(s, INVOCATION_KEYS) === undefined) return undefined;
  const split = dataframeSplit(s, modelNames(model));
  if (!split || !s.eat(CLOSE_OBJECT) || !s.atEnd()) return undefined;
  const start = new Map<string, number>();
  for (let c = 0; c < split.columns.length; c++) {
    if (start.has(split.columns[c])) return undefined;
    start.set(split.columns[c], c);
  }
  const feeds = matrixFeeds(model, s, start, split.rows, split.width);
  return feeds && { feeds, tabular: true };
}
