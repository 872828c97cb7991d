/**
 * Answer bodies written straight from the output tensors: the same bytes as
 * `JSON.stringify(formatPredictions(...))` and `JSON.stringify(formatInferResponse(...))`, without the
 * intermediate arrays and objects (decoded values, nested rows, one record per row). test/inference
 * checks the equality on every datatype and rank.
 */
import type { LoadedModel } from '../model';
import { fromFloat16Bits, ONNX_TO_V2, type TensorData } from '../tensors';
import { ownValue } from '../../../core/records';
import { formatPredictions } from './mlflow';

/** One element as JSON, with decodeValues' conversions (bool as boolean, 64-bit as number, float16 decoded). */
function element(t: TensorData, i: number): string {
  const d = t.data;
  if (Array.isArray(d)) return JSON.stringify(d[i]);
  let n: number;
  switch (t.type) {
    case 'bool':
      return d[i] !== 0 ? 'true' : 'false';
    case 'float16':
      n = fromFloat16Bits(d[i] as number);
      break;
    case 'int64':
    case 'uint64':
      n = Number(d[i]);
      break;
    default:
      n = d[i] as number;
  }
  // JSON.stringify writes non-finite numbers as null; finite ones as Number#toString.
  return n === n && n !== Infinity && n !== -Infinity ? String(n) : 'null';
}

/** `[v, v, …]` for elements [from, to) (clamped to the data, as Array#slice is). */
function flat(t: TensorData, from: number, to: number): string {
  const end = Math.min(to, t.data.length);
  let s = '[';
  for (let i = from; i < end; i++) s += i === from ? element(t, i) : ',' + element(t, i);
  return s + ']';
}

function stride(dims: number[], from: number): number {
  let n = 1;
  for (let i = from; i < dims.length; i++) n *= dims[i];
  return n;
}

/** What `nest(decodeValues(t).slice(offset, offset + stride(dims)), dims)` serializes to. */
function nested(t: TensorData, dims: number[], depth: number, offset: number): string {
  if (dims.length - depth <= 1) return flat(t, offset, depth === 0 ? t.data.length : offset + dims[depth]);
  const inner = stride(dims, depth + 1);
  let s = '[';
  for (let i = 0; i < dims[depth]; i++) s += (i ? ',' : '') + nested(t, dims, depth + 1, offset + i * inner);
  return s + ']';
}

/**
 * Output names that keep their place as object keys and are set as own properties: integer-like names
 * move first in a JS object and `__proto__` is not a property, so records with those go the generic way.
 */
const PLAIN_KEY = /^(?!__proto__$)(?![0-9]+$)[^"\\\u0000-\u001f]+$/;

/** `JSON.stringify({predictions: formatPredictions(outputs, tabular)})`. */
export function predictionsJson(outputs: Record<string, TensorData>, tabular: boolean): string {
  const names = Object.keys(outputs);
  if (!names.every((n) => PLAIN_KEY.test(n))) return JSON.stringify({ predictions: formatPredictions(outputs, tabular) });
  if (!tabular) {
    let s = '{"predictions":{';
    names.forEach((n, i) => (s += `${i ? ',' : ''}"${n}":${nested(outputs[n], outputs[n].dims, 0, 0)}`));
    return s + '}}';
  }
  const rows = outputs[names[0]].dims[0] ?? 1;
  const keys = names.map((n) => `"${n}":`);
  let s = '{"predictions":[';
  for (let r = 0; r < rows; r++) {
    let rec = '';
    for (let i = 0; i < names.length; i++) {
      const t = outputs[names[i]];
      let v: string;
      if (t.dims.length <= 1) {
        // values[r] past the end is undefined, which JSON.stringify leaves out of the record.
        if (r >= t.data.length) continue;
        v = element(t, r);
      } else {
        const k = stride(t.dims, 1);
        v = t.dims.length === 2 ? flat(t, r * k, (r + 1) * k) : nested(t, t.dims.slice(1), 0, r * k);
      }
      rec += (rec ? ',' : '') + keys[i] + v;
    }
    s += `${r ? ',' : ''}{${rec}}`;
  }
  return s + ']}';
}

const prefixes = new WeakMap<LoadedModel, string>();

/** `JSON.stringify(formatInferResponse(model, id, outputs))`. */
export function inferResponseJson(model: LoadedModel, id: string | undefined, outputs: Record<string, TensorData>): string {
  let prefix = prefixes.get(model);
  if (prefix === undefined) {
    prefix = `{"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)}`;
    prefixes.set(model, prefix);
  }
  let s = prefix + (id !== undefined ? `,"id":${JSON.stringify(id)}` : '') + ',"outputs":[';
  let first = true;
  for (const name in outputs) {
    if (!Object.prototype.hasOwnProperty.call(outputs, name)) continue;
    const t = outputs[name];
    const datatype: string | undefined = ownValue(ONNX_TO_V2, t.type);
    s += `${first ? '' : ','}{"name":${JSON.stringify(name)},${datatype === undefined ? '' : `"datatype":"${datatype}",`}"shape":[${t.dims.join(',')}],"data":${flat(t, 0, t.data.length)}}`;
    first = false;
  }
  return s + ']}';
}
