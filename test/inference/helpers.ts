import * as fs from 'node:fs';
import * as path from 'node:path';
import { startInferenceServer, type InferenceServerOptions, type RunningInferenceServer } from '../../runtime/inference';
import { repoRoot } from '../helpers/cli';

export const fixtures = path.join(repoRoot, 'test', 'fixtures', 'models');
export const model = (name: string) => path.join(fixtures, name);

/** Rows and onnxruntime (Python) outputs written by test/fixtures/models/make_models.py. */
export interface Expected {
  columns: string[];
  rows: number[][];
  outputs: Record<string, { label: number[]; probabilities: number[][] }>;
}
export const expected: Expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'expected.json'), 'utf8'));

/** An in-process server on a random loopback port, quiet, with small limits unless overridden. */
export function serve(opts: Partial<InferenceServerOptions> & { model: string }): Promise<RunningInferenceServer> {
  return startInferenceServer({ port: 0, workers: 2, logger: false, defaultMetrics: false, ...opts });
}

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function post<T = any>(url: string, body: unknown, contentType = 'application/json'): Promise<Reply<T>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function get<T = any>(url: string): Promise<Reply<T>> {
  const res = await fetch(url);
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Probabilities as float32 round trips through JSON: equal to onnxruntime's to float32 precision. */
export function expectClose(actual: number[][], wanted: number[][]): void {
  expect(actual.length).toBe(wanted.length);
  actual.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(wanted[i][j], 6)));
}

/** A value of a metric line in Prometheus text format, e.g. metricValue(text, 'x_total{model="a"}'). */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : undefined;
}
