/**
 * Open Inference Protocol v2 (KServe / Triton / MLServer REST): request
 * `{id?, parameters?, inputs: [{name, shape, datatype, parameters?, data}], outputs?: [{name}]}`,
 * response `{model_name, model_version, id, outputs: [{name, shape, datatype, data}]}` with data flat
 * in row-major order. Errors are `{"error": "<message>"}`.
 */
import { frameToFeeds, tensorsToFeeds, type LoadedModel } from '../model';
import { decodeValues, elementCount, flatten, InputError, ONNX_TO_V2, V2_TO_ONNX, type OnnxType, type TensorData } from '../tensors';

export interface ParsedInfer {
  id?: string;
  feeds: Record<string, TensorData>;
  outputs?: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function modelMetadata(model: LoadedModel): unknown {
  const spec = (t: { name: string; type: OnnxType; shape: Array<number | null> }) => ({
    name: t.name,
    datatype: ONNX_TO_V2[t.type],
    shape: t.shape.map((d) => d ?? -1),
  });
  return { name: model.name, versions: [model.version], platform: 'onnxruntime_onnx', inputs: model.inputs.map(spec), outputs: model.outputs.map(spec) };
}

export function parseInferRequest(model: LoadedModel, body: unknown): ParsedInfer {
  if (!isObject(body)) throw new InputError('the request body must be a JSON object with "inputs"');
  if (body.id !== undefined && typeof body.id !== 'string') throw new InputError('"id" must be a string');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw new InputError('"inputs" must be a non-empty array of tensors');
  const tensors = new Map<string, { values: unknown[]; dims: number[]; type: OnnxType; datatype: string }>();
  body.inputs.forEach((raw, i) => {
    if (!isObject(raw)) throw new InputError(`inputs[${i}] must be an object with name, shape, datatype and data`);
    const name = raw.name;
    if (typeof name !== 'string' || !name) throw new InputError(`inputs[${i}].name must be a non-empty string`);
    const what = `input '${name}'`;
    if (tensors.has(name)) throw new InputError(`${what} appears twice`);
    const { shape, datatype, data } = raw;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0))
      throw new InputError(`${what}: shape must be an array of non-negative integers`);
    if (typeof datatype !== 'string' || !(datatype in V2_TO_ONNX))
      throw new InputError(`${what}: datatype must be one of ${Object.keys(V2_TO_ONNX).join(', ')}, got ${JSON.stringify(datatype)}`);
    if (!Array.isArray(data)) throw new InputError(`${what}: data must be an array (row-major, flat or nested)`);
    const { values } = flatten(data, what);
    const dims = shape as number[];
    if (values.length !== elementCount(dims))
      throw new InputError(`${what}: data has ${values.length} elements, shape [${dims.join(', ')}] needs ${elementCount(dims)}`);
    tensors.set(name, { values, dims, type: V2_TO_ONNX[datatype], datatype });
  });
  let outputs: string[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new InputError('"outputs" must be an array of {name}');
    outputs = body.outputs.map((o, i) => {
      if (!isObject(o) || typeof o.name !== 'string') throw new InputError(`outputs[${i}].name must be a string`);
      if (!model.outputs.some((m) => m.name === o.name))
        throw new InputError(`unknown output '${o.name}' (the model has ${model.outputs.map((m) => m.name).join(', ')})`);
      return o.name;
    });
  }
  const id = body.id;
  const inputNames = new Set(model.inputs.map((i) => i.name));
  // Column-signature models also take one [N] or [N,1] tensor per column, named like the column (MLServer's pandas codec).
  const columnNames = model.layout?.kind === 'matrix' ? model.layout.columns : null;
  if (columnNames && ![...tensors.keys()].some((k) => inputNames.has(k)) && [...tensors.keys()].some((k) => columnNames.includes(k))) {
    const entries = [...tensors];
    const names = entries.map(([n]) => n);
    const columns = entries.map(([n, t]) => {
      if (t.dims.length > 2 || (t.dims.length === 2 && t.dims[1] !== 1))
        throw new InputError(`input '${n}': a column must have shape [N] or [N, 1], got [${t.dims.join(', ')}]`);
      const col = columnNames.includes(n) ? model.columns?.find((c) => c.name === n) : undefined;
      if (col && ['float', 'double'].includes(col.type) && !['FP16', 'FP32', 'FP64'].includes(t.datatype))
        throw new InputError(`input '${n}': datatype ${t.datatype} does not match the signature type ${col.type}`);
      return t.values;
    });
    const rows = columns[0].length;
    columns.forEach((c, i) => {
      if (c.length !== rows) throw new InputError(`input '${names[i]}' has ${c.length} rows, '${names[0]}' has ${rows}`);
    });
    return { id, feeds: frameToFeeds(model, { names, columns, rows }), outputs };
  }
  return { id, feeds: tensorsToFeeds(model, tensors), outputs };
}

export function formatInferResponse(model: LoadedModel, id: string | undefined, outputs: Record<string, TensorData>): unknown {
  return {
    model_name: model.name,
    model_version: model.version,
    ...(id !== undefined ? { id } : {}),
    outputs: Object.entries(outputs).map(([name, t]) => ({ name, datatype: ONNX_TO_V2[t.type], shape: t.dims, data: decodeValues(t) })),
  };
}
