/**
 * The churn data set of the seeds (age, tenure, monthly_charges, total_charges → churn), generated
 * deterministically from a seed so every machine, CI run and training Job sees the same rows without
 * shipping a CSV or downloading one.
 */

export const FEATURES = ['age', 'tenure', 'monthly_charges', 'total_charges'] as const;
export type Feature = (typeof FEATURES)[number];
export const LABEL = 'churn';

export interface ChurnRow {
  age: number;
  tenure: number;
  monthly_charges: number;
  total_charges: number;
  churn: 0 | 1;
}

export interface ChurnDataOptions {
  /** Number of rows. Default 5000. */
  rows?: number;
  /** PRNG seed; the same seed gives the same rows everywhere. Default 42. */
  seed?: number;
  /**
   * Covariate shift for drift demos and tests: 0 (default) is the training population; 1 moves customers
   * to older ages, shorter tenures and higher charges (each feature by about one standard deviation).
   */
  shift?: number;
}

/** mulberry32: a small, fast 32-bit PRNG with a good spread; deterministic across platforms. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller) from a uniform source. */
export function normal(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), 1e-12);
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const round2 = (x: number): number => Math.round(x * 100) / 100;
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Generates churn rows: short tenure, high charges and younger customers churn more. */
export function generateChurnData(opts: ChurnDataOptions = {}): ChurnRow[] {
  const n = opts.rows ?? 5000;
  const shift = opts.shift ?? 0;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`rows must be a positive integer (got ${n})`);
  if (!Number.isFinite(shift)) throw new Error(`shift must be a finite number (got ${shift})`);
  const uniform = mulberry32(opts.seed ?? 42);
  const gauss = normal(uniform);
  const rows: ChurnRow[] = [];
  for (let i = 0; i < n; i++) {
    const age = Math.round(clamp(45 + 14 * shift + 14 * gauss(), 18, 90));
    const tenure = Math.round(clamp(72 * Math.pow(uniform(), 1 + shift), 0, 72));
    const monthly = round2(clamp(65 + 25 * shift + 25 * gauss(), 18, 150));
    const total = round2(Math.max(0, tenure * monthly * (1 + 0.05 * gauss())));
    const logit = 0.9 - 0.07 * tenure + 0.035 * (monthly - 65) - 0.025 * (age - 45) + 0.6 * gauss();
    rows.push({ age, tenure, monthly_charges: monthly, total_charges: total, churn: uniform() < sigmoid(logit) ? 1 : 0 });
  }
  return rows;
}

/** The feature matrix of rows, in FEATURES order. */
export function featureMatrix(rows: readonly Pick<ChurnRow, Feature>[]): number[][] {
  return rows.map((r) => FEATURES.map((f) => r[f]));
}

/** Deterministic split: every `1/testFraction`-th row goes to the test set. */
export function trainTestSplit<T>(rows: readonly T[], testFraction = 0.2): { train: T[]; test: T[] } {
  const every = Math.round(1 / testFraction);
  const train: T[] = [];
  const test: T[] = [];
  rows.forEach((r, i) => (i % every === every - 1 ? test : train).push(r));
  return { train, test };
}
