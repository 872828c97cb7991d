/**
 * MLflow scoring protocol (`mlflow models serve`): POST /invocations with a JSON body holding exactly one
 * of dataframe_split, dataframe_records, instances, inputs (optional params), or text/csv;
 * `{"predictions": …}` back. Tables become records (one object per row), tensor inputs a dict of outputs,
 * as MLflow's onnx flavor returns them.
 */
import { CsvError, parse as parseCsvText } from 'csv-parse/sync';
import { frameToFeeds, tableColumns, tensorsToFeeds, type Frame, type LoadedModel } from '../model';
import { decodeValues, flatten, InputError, nest, type TensorData } from '../tensors';

export const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

export interface ParsedInvocation {
  feeds: Record<string, TensorData>;
  /** Tables answer as records; tensors as { output: nested array }. */
  tabular: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Row objects → a frame of the columns the model reads. Only those columns are built: building every
 * name any record has would cost names × rows, which a body of one distinct key per record makes
 * quadratic in its size. When the model reads every column, a record lacking one is an error here.
 */
function recordsToFrame(model: LoadedModel, records: unknown[], what: string): Frame {
  const names: string[] = [];
  const seen = new Set<string>();
  const widths = new Array<number>(records.length);
  records.forEach((r, i) => {
    if (!isObject(r)) throw new InputError(`${what}[${i}] must be an object of column values`);
    const keys = Object.keys(r);
    widths[i] = keys.length;
    for (const k of keys) {
      if (seen.has(k)) continue;
      seen.add(k);
      names.push(k);
    }
  });
  const wanted = tableColumns(model);
  const read = wanted && new Set(wanted);
  const kept = read ? names.filter((n) => read.has(n)) : names;
  if (wanted === null) {
    const short = widths.findIndex((w) => w !== names.length);
    if (short >= 0) {
      const missing = names.find((n) => !(n in (records[short] as Record<string, unknown>)));
      throw new InputError(`column '${missing}' has a missing value at row ${short}`);
    }
  }
  const columns = kept.map((n) => records.map((r) => (r as Record<string, unknown>)[n]));
  return { names: kept, columns, rows: records.length };
}

function splitToFrame(split: unknown): Frame {
  if (!isObject(split)) throw new InputError('dataframe_split must be an object with "columns" and "data"');
  const { columns, data } = split;
  if (!Array.isArray(data)) throw new InputError('dataframe_split.data must be an array of rows');
  if (columns !== undefined && (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string')))
    throw new InputError('dataframe_split.columns must be an array of column names');
  const width = columns ? columns.length : Array.isArray(data[0]) ? data[0].length : 1;
  // Widths first: the columns are allocated width × rows, which must not exceed what the body holds.
  data.forEach((row, r) => {
    const n = Array.isArray(row) ? row.length : 1;
    if (n !== width) throw new InputError(`dataframe_split.data[${r}] has ${n} values for ${width} columns`);
  });
  const cols: unknown[][] = Array.from({ length: width }, () => new Array<unknown>(data.length));
  data.forEach((row, r) => {
    const values = Array.isArray(row) ? row : [row];
    for (let c = 0; c < width; c++) cols[c][r] = values[c];
  });
  return { names: columns ?? null, columns: cols, rows: data.length };
}

/** Named columns ({"age": [..], ...}) for column-signature models, named tensors otherwise. */
function namedInputs(model: LoadedModel, named: Record<string, unknown>, what: string): ParsedInvocation {
  const inputNames = new Set(model.inputs.map((i) => i.name));
  const isTensorRequest = Object.keys(named).some((k) => inputNames.has(k)) || !model.layout;
  if (!isTensorRequest) {
    const names = Object.keys(named);
    const columns = names.map((n) => {
      const v = named[n];
      return Array.isArray(v) ? (v as unknown[]).map((x) => (Array.isArray(x) && x.length === 1 ? (x[0] as unknown) : x)) : [v];
    });
    const rows = columns[0]?.length ?? 0;
    columns.forEach((c, i) => {
      if (c.length !== rows) throw new InputError(`${what}: column '${names[i]}' has ${c.length} values, '${names[0]}' has ${rows}`);
    });
    return { feeds: frameToFeeds(model, { names, columns, rows }), tabular: false };
  }
  const tensors = new Map<string, { values: unknown[]; dims: number[] }>();
  for (const [name, value] of Object.entries(named)) tensors.set(name, flatten(value, `input '${name}'`));
  return { feeds: tensorsToFeeds(model, tensors), tabular: false };
}

/** An unnamed tensor (`inputs: [[...]]`, `instances: [[...]]`) for a one-input model, or rows of a per-column model. */
function unnamedTensor(model: LoadedModel, value: unknown[], what: string): ParsedInvocation {
  if (model.inputs.length === 1) {
    return { feeds: tensorsToFeeds(model, new Map([[model.inputs[0].name, flatten(value, `input '${model.inputs[0].name}'`)]])), tabular: false };
  }
  if (model.layout?.kind === 'per-input') {
    // Rows of values in input order, as `DataFrame.values` would give.
    const { values, dims } = flatten(value, what);
    if (dims.length !== 2 || dims[1] !== model.inputs.length)
      throw new InputError(
        `${what}: model '${model.name}' has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); send rows of ${model.inputs.length} values or name them`,
      );
    const columns = model.inputs.map((_, c) => Array.from({ length: dims[0] }, (_v, r) => values[r * dims[1] + c]));
    return { feeds: frameToFeeds(model, { names: null, columns, rows: dims[0] }), tabular: false };
  }
  throw new InputError(`${what}: model '${model.name}' has ${model.inputs.length} inputs; send them by name`);
}

export function parseJsonInvocation(model: LoadedModel, body: unknown): ParsedInvocation {
  if (!isObject(body)) throw new InputError(`the request body must be a JSON object with one of ${FORMATS.join(', ')}`);
  const present = FORMATS.filter((f) => f in body);
  if (present.length !== 1) {
    throw new InputError(
      `the request must have exactly one of ${FORMATS.map((f) => `"${f}"`).join(', ')}; received fields: ${Object.keys(body).join(', ') || 'none'}`,
    );
  }
  const format = present[0];
  const value = body[format];
  switch (format) {
    case 'dataframe_split':
      return { feeds: frameToFeeds(model, splitToFrame(value)), tabular: true };
    case 'dataframe_records':
      if (!Array.isArray(value)) throw new InputError('dataframe_records must be an array of row objects');
      return { feeds: frameToFeeds(model, recordsToFrame(model, value, 'dataframe_records')), tabular: true };
    case 'instances':
      if (!Array.isArray(value)) {
        if (isObject(value)) return namedInputs(model, value, 'instances');
        throw new InputError('instances must be an array');
      }
      if (value.length === 0) throw new InputError('instances is empty');
      // TF-serving row format: a list of objects is a table (MLflow turns it into columns).
      if (isObject(value[0])) return { feeds: frameToFeeds(model, recordsToFrame(model, value, 'instances')), tabular: false };
      return unnamedTensor(model, value, 'instances');
    case 'inputs':
      if (isObject(value)) return namedInputs(model, value, 'inputs');
      if (!Array.isArray(value) || value.length === 0) throw new InputError('inputs must be a non-empty array or an object of named inputs');
      if (isObject(value[0])) return { feeds: frameToFeeds(model, recordsToFrame(model, value, 'inputs')), tabular: false };
      return unnamedTensor(model, value, 'inputs');
  }
}

/** The records of an RFC 4180 body; a malformed one (an unterminated quote, a stray quote) is a 400. */
function csvRecords(text: string): string[][] {
  try {
    // Row lengths are checked below, with a message naming the row; blank lines are not rows (pandas writes none).
    // Without a `columns` option csv-parse yields each record as an array of strings.
    const records: unknown = parseCsvText(text, { relax_column_count: true, skip_empty_lines: true });
    return records as string[][];
  } catch (err) {
    if (err instanceof CsvError) throw new InputError(`CSV: ${err.message}`);
    throw err;
  }
}

/** RFC 4180 CSV with a header row (pandas.DataFrame.to_csv); numbers become numbers, empty cells null. */
export function parseCsv(text: string): Frame {
  const records = csvRecords(text);
  if (records.length < 1) throw new InputError('CSV: the body is empty; send a header row and data rows');
  const [header, ...data] = records;
  // pandas.to_csv() writes the index as an unnamed first column.
  const skipIndex = header[0] === '' ? 1 : 0;
  const names = header.slice(skipIndex);
  // Row lengths first: the columns are allocated names × rows, which must not exceed what the body holds.
  data.forEach((r, ri) => {
    if (r.length !== header.length) throw new InputError(`CSV: row ${ri + 1} has ${r.length} fields, the header has ${header.length}`);
  });
  const columns: unknown[][] = names.map(() => new Array<unknown>(data.length));
  data.forEach((r, ri) => {
    for (let c = 0; c < names.length; c++) {
      const s = r[c + skipIndex];
      const n = s.trim() === '' ? NaN : Number(s);
      columns[c][ri] = s === '' ? null : Number.isNaN(n) ? (s === 'True' || s === 'true' ? true : s === 'False' || s === 'false' ? false : s) : n;
    }
  });
  return { names, columns, rows: data.length };
}

function rowValue(t: TensorData, values: unknown[], r: number): unknown {
  const stride = t.dims.slice(1).reduce((a, b) => a * b, 1);
  if (t.dims.length <= 1) return values[r];
  const slice = values.slice(r * stride, (r + 1) * stride);
  return t.dims.length === 2 ? slice : nest(slice, t.dims.slice(1));
}

export function formatPredictions(outputs: Record<string, TensorData>, tabular: boolean): unknown {
  const names = Object.keys(outputs);
  const decoded = names.map((n) => decodeValues(outputs[n]));
  if (!tabular) return Object.fromEntries(names.map((n, i) => [n, nest(decoded[i], outputs[n].dims)]));
  const rows = outputs[names[0]].dims[0] ?? 1;
  const records = new Array<Record<string, unknown>>(rows);
  for (let r = 0; r < rows; r++) {
    const rec: Record<string, unknown> = {};
    names.forEach((n, i) => (rec[n] = rowValue(outputs[n], decoded[i], r)));
    records[r] = rec;
  }
  return records;
}
