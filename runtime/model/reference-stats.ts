import { ownValue } from '../../core/records';
/**
 * Reference statistics: the training data's feature distributions, written next to the model
 * (`reference_stats.json` in the MLflow model directory) by training and read by drift monitoring.
 */

export const REFERENCE_STATS_FILE = 'reference_stats.json';
export const REFERENCE_STATS_FORMAT = 'mlops-blueprint/reference-stats@1';

export interface FeatureReference {
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Ascending inner cut points: bucket i is (edges[i-1], edges[i]], the first and last are open-ended. */
  edges: number[];
  /** Share of training rows per bucket (edges.length + 1 values summing to 1). */
  proportions: number[];
}

export interface ReferenceStats {
  format: typeof REFERENCE_STATS_FORMAT;
  /** Training rows the summary was computed from. */
  rows: number;
  /** Column order of the model's input tensor. */
  columns: string[];
  features: Record<string, FeatureReference>;
}

/** Bucket of a value given inner cut points (binary search; bucket i holds (edges[i-1], edges[i]]). */
export function bucketOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Cut points at the quantiles of the data (deduplicated: integer features such as tenure tie a lot). */
export function quantileEdges(values: readonly number[], buckets = 10): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let k = 1; k < buckets; k++) {
    const q = sorted[Math.min(sorted.length - 1, Math.floor((k * sorted.length) / buckets))];
    if (edges.length === 0 || q > edges[edges.length - 1]) edges.push(q);
  }
  // The largest value as a cut point would leave the last bucket empty by construction.
  if (edges.length && edges[edges.length - 1] >= sorted[sorted.length - 1]) edges.pop();
  return edges;
}

export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  return { mean, std: Math.sqrt(variance) };
}

/** Summarizes a training feature matrix (rows × columns) into reference stats. */
export function computeReferenceStats(columns: readonly string[], x: readonly (readonly number[])[], buckets = 10): ReferenceStats {
  if (x.length === 0) throw new Error('reference stats need at least one row');
  const features: Record<string, FeatureReference> = {};
  columns.forEach((name, j) => {
    const values = x.map((row) => row[j]);
    if (values.some((v) => !Number.isFinite(v))) throw new Error(`column ${name} has non-finite values`);
    const edges = quantileEdges(values, buckets);
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const v of values) counts[bucketOf(edges, v)]++;
    const { mean, std } = meanStd(values);
    features[name] = { mean, std, min: Math.min(...values), max: Math.max(...values), edges, proportions: counts.map((c) => c / values.length) };
  });
  return { format: REFERENCE_STATS_FORMAT, rows: x.length, columns: [...columns], features };
}

/** Validates parsed JSON as reference stats; throws naming the first bad field. */
export function parseReferenceStats(value: unknown): ReferenceStats {
  const v = value as Partial<ReferenceStats> | null;
  if (!v || typeof v !== 'object') throw new Error('reference stats: not a JSON object');
  if (v.format !== REFERENCE_STATS_FORMAT) throw new Error(`reference stats: format must be "${REFERENCE_STATS_FORMAT}" (got ${JSON.stringify(v.format)})`);
  if (!Array.isArray(v.columns) || v.columns.some((c) => typeof c !== 'string')) throw new Error('reference stats: columns must be an array of names');
  if (!v.features || typeof v.features !== 'object') throw new Error('reference stats: features missing');
  for (const c of v.columns) {
    const f = ownValue(v.features, c);
    if (!f || !Array.isArray(f.edges) || !Array.isArray(f.proportions) || f.proportions.length !== f.edges.length + 1) {
      throw new Error(`reference stats: features.${c} needs edges and proportions (edges.length + 1 values)`);
    }
  }
  return v as ReferenceStats;
}
