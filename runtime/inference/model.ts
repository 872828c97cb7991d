import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { TensorSpecWire } from './session';
import { encodeValues, InputError, type OnnxType, type TensorData } from './tensors';

/** One column of an MLflow column-based signature (`signature.inputs` in MLmodel). */
export interface ColumnSpec {
  name: string;
  /** MLflow DataType: boolean, integer, long, float, double, string, binary, datetime. */
  type: string;
  required: boolean;
}

export interface TensorSpec {
  name: string;
  type: OnnxType;
  /** null = dynamic dimension. */
  shape: Array<number | null>;
}

/**
 * How a table (dataframe_split, records, CSV) becomes the model's tensors:
 * - matrix: the model has one [N, K] input; the K columns (signature order, or request order when the
 *   model has no signature) form its rows — MLflow's onnx flavor feeds `DataFrame.values`.
 * - per-input: one input per column, named like it ([N] or [N, 1]).
 */
export type Layout = { kind: 'matrix'; input: TensorSpec; columns: string[] | null } | { kind: 'per-input' };

/** An MLflow model directory or bare .onnx file on disk, before onnxruntime opens it. */
export interface ModelFiles {
  onnxPath: string;
  /** Column-based signature inputs when the MLmodel has one; undefined for tensor signatures or bare files. */
  columns?: ColumnSpec[];
}

/** A loaded model version as the server routes requests to it. */
export interface LoadedModel {
  name: string;
  version: string;
  /** Where it came from (models:/…, runs:/…, a path), for logs and metadata. */
  source: string;
  /** Unique key of this load in the worker pool. */
  key: string;
  onnxPath: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  columns?: ColumnSpec[];
  layout: Layout | null;
  /** Every input and output has a dynamic first dimension: requests can be merged along it. */
  batchable: boolean;
}

/** Reads `MLmodel` (onnx flavor file and signature) from a model directory, or takes a bare .onnx file. */
export function readModelFiles(location: string): ModelFiles {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(location);
  } catch {
    throw new Error(`model not found: ${location}`);
  }
  if (stat.isFile()) {
    if (!location.endsWith('.onnx')) throw new Error(`${location} is not an .onnx file or an MLflow model directory`);
    return { onnxPath: location };
  }
  const mlmodelPath = path.join(location, 'MLmodel');
  if (!fs.existsSync(mlmodelPath)) {
    const onnx = path.join(location, 'model.onnx');
    if (fs.existsSync(onnx)) return { onnxPath: onnx };
    throw new Error(`${location} has neither an MLmodel file nor a model.onnx`);
  }
  const mlmodel = parseYaml(fs.readFileSync(mlmodelPath, 'utf8')) as {
    flavors?: Record<string, { data?: string; model_path?: string }>;
    signature?: { inputs?: string };
  };
  const flavor = mlmodel.flavors?.onnx;
  if (!flavor)
    throw new Error(
      `${mlmodelPath} has no onnx flavor (flavors: ${Object.keys(mlmodel.flavors ?? {}).join(', ') || 'none'}); this server runs ONNX models only`,
    );
  const onnxPath = path.join(location, flavor.data ?? flavor.model_path ?? 'model.onnx');
  if (!fs.existsSync(onnxPath)) throw new Error(`${mlmodelPath} names ${flavor.data}, which is missing`);
  let columns: ColumnSpec[] | undefined;
  if (mlmodel.signature?.inputs) {
    const raw = JSON.parse(mlmodel.signature.inputs) as Array<{ name?: string; type: string; required?: boolean }>;
    if (raw.length && raw.every((c): c is { name: string; type: string; required?: boolean } => c.type !== 'tensor' && typeof c.name === 'string')) {
      columns = raw.map((c) => ({ name: c.name, type: c.type, required: c.required ?? true }));
    }
  }
  return { onnxPath, columns };
}

const ONNX_TYPES = new Set<string>([
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float16',
  'float32',
  'float64',
  'string',
]);

function tensorSpecs(wire: TensorSpecWire[], kind: string): TensorSpec[] {
  return wire.map((w) => {
    if (!ONNX_TYPES.has(w.type))
      throw new Error(`${kind} '${w.name}' is a ${w.type}; this server handles tensor inputs and outputs only (export classifiers without ZipMap)`);
    return { name: w.name, type: w.type as OnnxType, shape: w.shape };
  });
}

/** Decides how tables map onto the model's inputs; null when only tensor requests fit the model. */
export function planLayout(inputs: TensorSpec[], columns: ColumnSpec[] | undefined): Layout | null {
  const names = columns?.map((c) => c.name);
  if (inputs.length === 1 && inputs[0].shape.length === 2) {
    const k = inputs[0].shape[1];
    if (names && inputs[0].name !== names[0]) {
      if (k !== null && k !== names.length) throw new Error(`the signature has ${names.length} columns but input '${inputs[0].name}' takes ${k}`);
      return { kind: 'matrix', input: inputs[0], columns: names };
    }
    if (!names && k !== 1) return { kind: 'matrix', input: inputs[0], columns: null };
  }
  const perInput = inputs.every((i) => i.shape.length === 1 || (i.shape.length === 2 && i.shape[1] === 1));
  if (perInput && (!names || inputs.every((i) => names.includes(i.name)))) return { kind: 'per-input' };
  return null;
}

export function describeModel(
  name: string,
  version: string,
  source: string,
  key: string,
  files: ModelFiles,
  io: { inputs: TensorSpecWire[]; outputs: TensorSpecWire[] },
): LoadedModel {
  const inputs = tensorSpecs(io.inputs, 'input');
  const outputs = tensorSpecs(io.outputs, 'output');
  const layout = planLayout(inputs, files.columns);
  const batchable = [...inputs, ...outputs].every((t) => t.shape.length >= 1 && t.shape[0] === null);
  return { name, version, source, key, onnxPath: files.onnxPath, inputs, outputs, columns: files.columns, layout, batchable };
}

/** A table in column-major form: the shape every tabular request format is parsed into. */
export interface Frame {
  /** Column names; null when the request gave none (dataframe_split without columns, headerless). */
  names: string[] | null;
  columns: unknown[][];
  rows: number;
}

function columnTypeError(col: ColumnSpec, name: string, v: unknown, row: number, expected: string): InputError {
  return new InputError(
    `column '${name}' must be ${expected} (signature type ${col.type}), got ${typeof v === 'string' ? JSON.stringify(v) : typeof v} at row ${row}`,
  );
}

/** Called for every value of a table: no closure per call. */
function checkColumnValue(col: ColumnSpec | undefined, name: string, v: unknown, row: number): void {
  if (v === null || v === undefined) throw new InputError(`column '${name}' has a missing value at row ${row}`);
  if (!col) return;
  switch (col.type) {
    case 'float':
    case 'double':
      if (typeof v !== 'number') throw columnTypeError(col, name, v, row, 'a number');
      break;
    case 'integer':
    case 'long':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw columnTypeError(col, name, v, row, 'an integer');
      break;
    case 'boolean':
      if (typeof v !== 'boolean') throw columnTypeError(col, name, v, row, 'a boolean');
      break;
    case 'string':
      if (typeof v !== 'string') throw columnTypeError(col, name, v, row, 'a string');
      break;
  }
}

/**
 * The columns of a table the model reads, by name: the signature's (matrix layout) or the inputs'
 * (per-input layout); null when it reads every column in request order (matrix without a signature),
 * [] when it takes no tables at all.
 */
export function tableColumns(model: LoadedModel): string[] | null {
  const layout = model.layout;
  if (!layout) return [];
  return layout.kind === 'matrix' ? layout.columns : model.inputs.map((i) => i.name);
}

/**
 * A table → the model's input tensors. Missing columns and values of the wrong type are InputErrors
 * naming the column; columns the model does not use are dropped (as MLflow's schema enforcement does).
 */
export function frameToFeeds(model: LoadedModel, frame: Frame): Record<string, TensorData> {
  const layout = model.layout;
  if (!layout)
    throw new InputError(`model '${model.name}' takes tensors (${model.inputs.map((i) => i.name).join(', ')}), not a table; send "inputs" or "instances"`);
  if (frame.rows === 0) throw new InputError('the request has no rows');
  const index = new Map<string, number>();
  frame.names?.forEach((n, i) => index.set(n, i));
  const sigByName = new Map(model.columns?.map((c) => [c.name, c]));
  const wanted = tableColumns(model);
  let sources: Array<{ name: string; values: unknown[] }>;
  if (wanted === null) {
    const k = (layout as { input: TensorSpec }).input.shape[1];
    if (k !== null && frame.columns.length !== k)
      throw new InputError(`input '${(layout as { input: TensorSpec }).input.name}' takes ${k} columns, the request has ${frame.columns.length}`);
    sources = frame.columns.map((values, i) => ({ name: frame.names?.[i] ?? String(i), values }));
  } else {
    const positional = frame.names === null;
    if (positional && frame.columns.length !== wanted.length)
      throw new InputError(`the request has ${frame.columns.length} unnamed columns; the model takes ${wanted.length} (${wanted.join(', ')})`);
    sources = wanted.map((name, i) => {
      const at = positional ? i : index.get(name);
      if (at === undefined) throw new InputError(`missing column '${name}' (the model takes ${wanted.join(', ')})`);
      return { name, values: frame.columns[at] };
    });
  }
  for (const s of sources) {
    const col = sigByName.get(s.name);
    for (let r = 0; r < frame.rows; r++) checkColumnValue(col, s.name, s.values[r], r);
  }
  if (layout.kind === 'matrix') {
    const k = sources.length;
    const flat = new Array<unknown>(frame.rows * k);
    for (let c = 0; c < k; c++) {
      const values = sources[c].values;
      for (let r = 0; r < frame.rows; r++) flat[r * k + c] = values[r];
    }
    const what = k === 1 ? `column '${sources[0].name}'` : `input '${layout.input.name}' (columns ${sources.map((s) => s.name).join(', ')})`;
    return { [layout.input.name]: { type: layout.input.type, dims: [frame.rows, k], data: encodeValues(layout.input.type, flat, what) } };
  }
  const feeds: Record<string, TensorData> = {};
  for (const input of model.inputs) {
    const s = sources.find((x) => x.name === input.name);
    if (!s) throw new Error(`internal: model input '${input.name}' has no source column`);
    feeds[input.name] = {
      type: input.type,
      dims: input.shape.length === 1 ? [frame.rows] : [frame.rows, 1],
      data: encodeValues(input.type, s.values, `column '${input.name}'`),
    };
  }
  return feeds;
}

/**
 * Named tensors (flat values + dims) → feeds, checked against the ONNX input metadata: every input
 * present, rank and fixed dimensions matching, one batch size across inputs. Unknown names are dropped.
 */
export function tensorsToFeeds(
  model: LoadedModel,
  named: Map<string, { values: unknown[]; dims: number[]; type?: OnnxType; datatype?: string }>,
): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  let batch: number | undefined;
  for (const input of model.inputs) {
    const t = named.get(input.name);
    if (!t)
      throw new InputError(
        `missing input '${input.name}' (the model takes ${model.inputs.map((i) => `${i.name} ${input.type}[${shapeText(i.shape)}]`).join(', ')})`,
      );
    if (t.type && t.type !== input.type)
      throw new InputError(`input '${input.name}': datatype ${t.datatype ?? t.type} does not match the model's ${input.type} input`);
    let dims = t.dims;
    // A 1-D list of rows for a rank-2 input with one column ([N] for [N,1]) is common in clients.
    if (dims.length === input.shape.length - 1 && input.shape[input.shape.length - 1] === 1) dims = [...dims, 1];
    if (dims.length !== input.shape.length)
      throw new InputError(`input '${input.name}': shape [${dims.join(', ')}] has rank ${dims.length}, the model expects [${shapeText(input.shape)}]`);
    input.shape.forEach((d, i) => {
      if (d !== null && d !== dims[i])
        throw new InputError(`input '${input.name}': shape [${dims.join(', ')}] does not match the model's [${shapeText(input.shape)}] at dimension ${i}`);
    });
    if (model.batchable) {
      if (batch !== undefined && dims[0] !== batch) throw new InputError(`input '${input.name}' has ${dims[0]} rows, other inputs have ${batch}`);
      batch = dims[0];
    }
    if (dims.length && dims[0] === 0) throw new InputError(`input '${input.name}' has no rows`);
    feeds[input.name] = { type: input.type, dims, data: encodeValues(input.type, t.values, `input '${input.name}'`) };
  }
  return feeds;
}

export function shapeText(shape: Array<number | null>): string {
  return shape.map((d) => (d === null ? '-1' : String(d))).join(', ');
}
