/**
 * The direct parsers (runtime/inference/protocols/direct-parse.ts) against the general path they shortcut:
 * on every body here, canonical, mutated, truncated or corrupted, either direct parsing declines or the
 * general path (parseJsonBody + parseInferRequest / parseJsonInvocation) accepts the same body and
 * gives the same feeds, id and table flag. Models are the fixtures, described from their real
 * onnxruntime sessions, plus signature variants (integer and float64 columns).
 */
import * as path from 'node:path';
import { parseJsonBody } from '../../runtime/inference/json-body';
import { describeModel, readModelFiles, type ColumnSpec, type LoadedModel } from '../../runtime/inference/model';
import { ByteScanner } from '../../runtime/inference/protocols/byte-scanner';
import { directInfer, directInvocation } from '../../runtime/inference/protocols/direct-parse';
import { parseJsonInvocation } from '../../runtime/inference/protocols/mlflow';
import { parseInferRequest } from '../../runtime/inference/protocols/v2';
import { createSession, sessionIo, type SessionIo } from '../../runtime/inference/session';
import type { TensorData } from '../../runtime/inference/tensors';
import { expected, fixtures } from './helpers';

type Protocol = 'v2' | 'mlflow';

/** A deterministic generator (mulberry32), so a failure names a reproducible case. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function general(
  model: LoadedModel,
  protocol: Protocol,
  body: string,
): { feeds: Record<string, TensorData>; id?: string; tabular?: boolean; outputs?: string[] } {
  const parsed = parseJsonBody(body);
  return protocol === 'v2' ? parseInferRequest(model, parsed) : parseJsonInvocation(model, parsed);
}

function sameFeeds(a: Record<string, TensorData>, b: Record<string, TensorData>): string | undefined {
  if (Object.keys(a).join() !== Object.keys(b).join()) return `inputs ${Object.keys(a).join()} vs ${Object.keys(b).join()}`;
  for (const name of Object.keys(a)) {
    const x = a[name];
    const y = b[name];
    if (x.type !== y.type || x.dims.join() !== y.dims.join()) return `${name}: ${x.type}[${x.dims.join()}] vs ${y.type}[${y.dims.join()}]`;
    if (x.data.constructor.name !== y.data.constructor.name || x.data.length !== y.data.length) return `${name}: data arrays differ`;
    for (let i = 0; i < x.data.length; i++) if (!Object.is(x.data[i], y.data[i])) return `${name}[${i}]: ${x.data[i]} vs ${y.data[i]}`;
  }
  return undefined;
}

/** Checks one body; true when direct parsing took it. */
function agree(model: LoadedModel, protocol: Protocol, body: string): boolean {
  const bytes = Buffer.from(body, 'utf8');
  const direct = protocol === 'v2' ? directInfer(model, bytes) : directInvocation(model, bytes);
  if (direct === undefined) return false;
  let reference;
  try {
    reference = general(model, protocol, body);
  } catch (err) {
    throw new Error(`direct parsing took a body the general path refuses (${(err as Error).message}): ${body.slice(0, 300)}`);
  }
  const problem =
    sameFeeds(direct.feeds, reference.feeds) ??
    ('id' in direct && direct.id !== reference.id ? `id ${direct.id} vs ${reference.id}` : undefined) ??
    ('tabular' in direct && direct.tabular !== reference.tabular ? 'table flag differs' : undefined) ??
    (reference.outputs !== undefined ? 'the general path selected outputs' : undefined);
  if (problem) throw new Error(`direct and general parsing differ (${problem}): ${body.slice(0, 300)}`);
  return true;
}

async function fixtureIo(file: string): Promise<SessionIo> {
  const session = await createSession(file, 1);
  try {
    return sessionIo(session);
  } finally {
    await session.release();
  }
}

const COLUMNS = expected.columns;
let logreg: LoadedModel;
let forest: LoadedModel;
/** logreg's input as float64 with an integer 'age' and a long 'tenure' column. */
let typed: LoadedModel;

beforeAll(async () => {
  const dir = path.join(fixtures, 'churn-logreg');
  const files = readModelFiles(dir);
  const io = await fixtureIo(files.onnxPath);
  logreg = describeModel('churn', '1', dir, 'logreg', files, io);
  const forestDir = path.join(fixtures, 'churn-forest');
  const forestFiles = readModelFiles(forestDir);
  forest = describeModel('churn', '1', forestDir, 'forest', forestFiles, await fixtureIo(forestFiles.onnxPath));
  const columns: ColumnSpec[] = files.columns!.map((c) => ({ ...c, type: c.name === 'age' ? 'integer' : c.name === 'tenure' ? 'long' : 'double' }));
  const io64 = { inputs: io.inputs.map((i) => ({ ...i, type: 'float64' })), outputs: io.outputs };
  typed = describeModel('churn', '1', dir, 'typed', { ...files, columns }, io64);
});

const v2Tensor = (rows: number[][], extra = '') =>
  `{"inputs":[{"name":"float_input","shape":[${rows.length},${COLUMNS.length}],"datatype":"FP32","data":[${rows.flat().join(',')}]}]${extra}}`;
const v2Columns = (rows: number[][], datatype = 'FP32') =>
  `{"inputs":[${COLUMNS.map((c, j) => `{"name":"${c}","shape":[${rows.length}],"datatype":"${datatype}","data":[${rows.map((r) => r[j]).join(',')}]}`).join(',')}]}`;
const split = (rows: number[][], columns = COLUMNS) => `{"dataframe_split":{"columns":${JSON.stringify(columns)},"data":${JSON.stringify(rows)}}}`;

/** Printed numbers of every kind a client sends: float32 values in 17 digits, short decimals, exponents, integers. */
function valueText(next: () => number): string {
  const x = (next() - 0.5) * 10 ** Math.floor(next() * 12 - 4);
  switch (Math.floor(next() * 8)) {
    case 0:
      return String(Math.fround(x));
    case 1:
      return x.toFixed(Math.floor(next() * 4));
    case 2:
      return x.toExponential(Math.floor(next() * 20));
    case 3:
      return String(Math.round(x));
    case 4:
      return String(x);
    case 5:
      return ['-0', '0', '0.0', '1e39', '-3.5e38', '1e-46', '0.000000000000000000000000000001', '340282356779733661637539395458142568448'][
        Math.floor(next() * 8)
      ];
    case 6:
      return `${Math.floor(next() * 1e9)}.${String(Math.floor(next() * 1e9)).padStart(9, '0')}${Math.floor(next() * 1e9)}`;
    default:
      return x.toPrecision(1 + Math.floor(next() * 21));
  }
}

/** Rows of number texts: JSON.parse turns each back into what a client meant. */
function randomRows(next: () => number, rows: number): string[][] {
  return Array.from({ length: rows }, () => COLUMNS.map(() => valueText(next)));
}

function asNumbers(rows: string[][]): number[][] {
  // The texts are spliced into bodies as they are; numbers here only carry them into the templates.
  return rows as unknown as number[][];
}

describe('ByteScanner numbers', () => {
  it('reads every JSON number as JSON.parse does, and within float32 rounding when allowed', () => {
    const next = random(7);
    for (let i = 0; i < 20000; i++) {
      const text = valueText(next);
      const reference = JSON.parse(text) as number;
      const exact = new ByteScanner(Buffer.from(` ${text} `)).number();
      expect([text, Object.is(exact, reference)]).toEqual([text, true]);
      const scanner = new ByteScanner(Buffer.from(text));
      const approximate = scanner.number(true);
      expect([text, Object.is(Math.fround(approximate), Math.fround(reference))]).toEqual([text, true]);
      if (!scanner.approximate) expect([text, Object.is(approximate, reference)]).toEqual([text, true]);
    }
  });

  it('refuses what is not a JSON number', () => {
    for (const text of ['-', '+1', '.5', '1.', '1e', '1e+', '-a', 'NaN', 'Infinity', '']) {
      expect([text, new ByteScanner(Buffer.from(text)).number()]).toEqual([text, NaN]);
    }
    // A leading zero ends the number: the caller then finds no separator and declines.
    const scanner = new ByteScanner(Buffer.from('0x10'));
    expect([scanner.number(), scanner.pos]).toEqual([0, 1]);
  });
});

describe('direct parsing agrees with the general path', () => {
  const fixtureRows = (n: number) => Array.from({ length: n }, (_, i) => expected.rows[i % expected.rows.length]);

  it('takes the canonical bodies of both protocols, for 1, 3 and 64 rows', () => {
    for (const n of [1, 3, 64]) {
      const rows = fixtureRows(n);
      expect(agree(logreg, 'v2', v2Tensor(rows))).toBe(true);
      expect(agree(logreg, 'v2', v2Tensor(rows, ',"id":"req-7"'))).toBe(true);
      expect(agree(logreg, 'v2', v2Columns(rows))).toBe(true);
      expect(agree(logreg, 'v2', v2Columns(rows, 'FP64'))).toBe(true);
      expect(agree(logreg, 'mlflow', split(rows))).toBe(true);
      expect(agree(logreg, 'mlflow', split(rows, [...COLUMNS].reverse()))).toBe(true);
      expect(agree(logreg, 'mlflow', JSON.stringify(JSON.parse(split(rows)), null, 2))).toBe(true);
      // Short decimals: a float64 input takes only numbers read exactly.
      expect(agree(typed, 'mlflow', split(rows.map((r, i) => [Math.round(r[0]), Math.round(r[1]), 57.79 + i, 1874.92])))).toBe(true);
    }
  });

  it('agrees on every kind of printed number, and declines inexact reads for float64 and integer columns', () => {
    const next = random(11);
    let taken = 0;
    for (let i = 0; i < 600; i++) {
      const rows = asNumbers(randomRows(next, 1 + Math.floor(next() * 8)));
      for (const model of [logreg, typed, forest]) {
        taken += Number(agree(model, 'v2', v2Tensor(rows)));
        taken += Number(agree(model, 'v2', v2Columns(rows)));
        taken += Number(agree(model, 'mlflow', split(rows)));
      }
    }
    expect(taken).toBeGreaterThan(1000);
  });

  it('declines, or agrees, on the shapes and values the general path refuses or treats its own way', () => {
    const rows = fixtureRows(2);
    const bodies: Array<[Protocol, string]> = [
      ['v2', v2Tensor(rows).replace('"FP32"', '"FP64"')],
      ['v2', v2Tensor(rows).replace('"FP32"', '"INT32"')],
      ['v2', v2Tensor(rows).replace('"FP32"', '"constructor"')],
      ['v2', v2Tensor(rows).replace('[2,4]', '[2,3]')],
      ['v2', v2Tensor(rows).replace('[2,4]', '[8]')],
      ['v2', v2Tensor(rows).replace('[2,4]', '[0,4]')],
      ['v2', v2Tensor(rows).replace('[2,4]', '[2,4.5]')],
      ['v2', v2Tensor(rows).replace('[2,4]', '[-2,-4]')],
      ['v2', v2Tensor(rows).replace('"float_input"', '"float_\\u0069nput"')],
      ['v2', v2Tensor(rows).replace('"name"', '"n\\u0061me"')],
      ['v2', v2Tensor(rows, ',"outputs":[{"name":"label"}]')],
      ['v2', v2Tensor(rows, ',"parameters":{}')],
      ['v2', v2Tensor(rows, ',"id":7')],
      ['v2', v2Tensor(rows, ',"id":"a","id":"b"')],
      ['v2', v2Tensor(rows, ',"inputs":[]')],
      ['v2', v2Tensor(rows).replace('"data":[', '"data":[[').replace(']}]', ']]}]')],
      ['v2', v2Tensor(rows).replace(',"data"', ',"parameters":{"content_type":"np"},"data"')],
      ['v2', v2Tensor(rows).replace(String(rows[0][0]), '"49"')],
      ['v2', v2Tensor(rows).replace(String(rows[0][0]), 'null')],
      ['v2', v2Tensor(rows).replace(String(rows[0][0]), 'true')],
      ['v2', v2Tensor(rows).replace(String(rows[0][0]), '1e400')],
      ['v2', v2Tensor(rows) + ' x'],
      ['v2', v2Tensor(rows) + '\n\t '],
      ['v2', '\ufeff' + v2Tensor(rows)],
      ['v2', `{"inputs":[${v2Tensor(rows).slice(11, -2)},${v2Tensor(rows).slice(11, -2)}]}`],
      ['v2', v2Columns(rows, 'INT64')],
      ['v2', v2Columns(rows).replace('"age"', '"agé"')],
      ['v2', v2Columns(rows).replace('"shape":[2]', '"shape":[2,1]')],
      ['v2', v2Columns(rows).replace('"shape":[2]', '"shape":[1,2]')],
      ['v2', v2Columns(rows).replace('"age"', '"float_input"')],
      ['v2', v2Columns(rows).replace(/,\{"name":"total_charges".*\]\}$/, ']}')],
      ['mlflow', split(rows, ['age', 'tenure', 'monthly_charges', 'age'])],
      ['mlflow', split(rows, ['age', 'tenure', 'monthly_charges', 'extra'])],
      ['mlflow', split([...rows, [1, 2, 3]])],
      ['mlflow', split([])],
      ['mlflow', split(rows).replace('"dataframe_split":{', '"dataframe_split":{"index":[0,1],')],
      ['mlflow', split(rows).replace('"dataframe_split":{', '"params":{},"dataframe_split":{')],
      ['mlflow', split(rows).replace('}}', '},"inputs":[]}')],
      ['mlflow', split(rows).replace('"columns":["age","tenure","monthly_charges","total_charges"],', '')],
      ['mlflow', split(rows).replace('"columns"', '"columns":[],"columns"')],
      ['mlflow', `{"dataframe_split":{"data":${JSON.stringify(rows)},"columns":${JSON.stringify(COLUMNS)}}}`],
    ];
    for (const [protocol, body] of bodies) for (const model of [logreg, typed, forest]) agree(model, protocol, body);
    expect(agree(logreg, 'v2', v2Tensor(rows) + '\n\t ')).toBe(true);
    expect(agree(logreg, 'mlflow', `{"dataframe_split":{"data":${JSON.stringify(rows)},"columns":${JSON.stringify(COLUMNS)}}}`)).toBe(true);
    expect(agree(typed, 'mlflow', split(rows))).toBe(false);
  });

  it('declines every truncation and agrees on every single-byte corruption of the canonical bodies', () => {
    const next = random(13);
    const rows = fixtureRows(3);
    const significant = '{}[],:"\\-+.eE0123456789 an\u00e9';
    for (const [protocol, body] of [
      ['v2', v2Tensor(rows, ',"id":"x"')],
      ['v2', v2Columns(rows)],
      ['mlflow', split(rows)],
    ] as Array<[Protocol, string]>) {
      for (let cut = 0; cut < body.length; cut++) expect(agree(logreg, protocol, body.slice(0, cut))).toBe(false);
      for (let i = 0; i < 1500; i++) {
        const at = Math.floor(next() * body.length);
        const corrupted = body.slice(0, at) + significant[Math.floor(next() * significant.length)] + body.slice(at + 1);
        agree(logreg, protocol, corrupted);
        agree(typed, protocol, corrupted);
      }
    }
  });
});
