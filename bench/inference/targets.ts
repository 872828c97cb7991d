/**
 * The request bodies the inference benchmarks send: the churn columns, `rows` rows taken in turn from
 * the test fixtures' rows (realistic decimals, not one repeated value), in each protocol's usual shape.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Target } from './load';

const repoRoot = path.resolve(__dirname, '..', '..');
export const COLUMNS = ['age', 'tenure', 'monthly_charges', 'total_charges'];
const FIXTURE_ROWS = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'models', 'expected.json'), 'utf8')) as { rows: number[][] }).rows;

export function rowsOf(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => FIXTURE_ROWS[i % FIXTURE_ROWS.length]);
}

/** v2 infer with one [N] FP32 tensor per column (MLServer's pandas-codec shape; every churn model takes it). */
export function v2ColumnsTarget(rows: number, model = 'churn'): Target {
  const data = rowsOf(rows);
  return {
    path: `/v2/models/${model}/infer`,
    body: JSON.stringify({ inputs: COLUMNS.map((c, j) => ({ name: c, shape: [rows], datatype: 'FP32', data: data.map((r) => r[j]) })) }),
  };
}

/** v2 infer with one [N, 4] FP32 tensor (the logistic regression's own input; what MLServer's sklearn runtime decodes). */
export function v2TensorTarget(rows: number, model = 'churn', input = 'float_input'): Target {
  return {
    path: `/v2/models/${model}/infer`,
    body: JSON.stringify({ inputs: [{ name: input, shape: [rows, COLUMNS.length], datatype: 'FP32', data: rowsOf(rows).flat() }] }),
  };
}

/** MLflow scoring protocol, dataframe_split (what MLflow's clients send). */
export function invocationsTarget(rows: number): Target {
  return { path: '/invocations', body: JSON.stringify({ dataframe_split: { columns: COLUMNS, data: rowsOf(rows) } }) };
}
