/** Logistic regression with feature standardization, trained by full-batch gradient descent. */

export interface LogisticRegressionParams {
  /** Learning rate. Default 0.5 (features are standardized, so a large step is stable). */
  learningRate?: number;
  /** Full-batch gradient steps. Default 300. */
  epochs?: number;
  /** L2 penalty on the weights (not the bias). Default 0.001. */
  l2?: number;
}

export interface LogisticRegressionModel {
  /** Per-feature mean and standard deviation used to standardize inputs. */
  mean: number[];
  scale: number[];
  /** Weights on standardized features, and the bias. */
  weights: number[];
  bias: number;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export function standardization(x: readonly number[][]): { mean: number[]; scale: number[] } {
  const d = x[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const row of x) row.forEach((v, j) => (mean[j] += v / x.length));
  for (const row of x) row.forEach((v, j) => (scale[j] += (v - mean[j]) ** 2 / x.length));
  // A constant feature keeps scale 1 rather than dividing by zero.
  return { mean, scale: scale.map((v) => (v > 0 ? Math.sqrt(v) : 1)) };
}

export function trainLogisticRegression(x: readonly number[][], y: readonly number[], params: LogisticRegressionParams = {}): LogisticRegressionModel {
  if (x.length === 0 || x.length !== y.length) throw new Error(`need as many labels as rows (rows ${x.length}, labels ${y.length})`);
  const lr = params.learningRate ?? 0.5;
  const epochs = params.epochs ?? 300;
  const l2 = params.l2 ?? 0.001;
  const { mean, scale } = standardization(x);
  const z = x.map((row) => row.map((v, j) => (v - mean[j]) / scale[j]));
  const d = mean.length;
  const w = new Array<number>(d).fill(0);
  let b = 0;
  const n = z.length;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const gw = new Array<number>(d).fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      let s = b;
      for (let j = 0; j < d; j++) s += w[j] * z[i][j];
      const err = sigmoid(s) - y[i];
      for (let j = 0; j < d; j++) gw[j] += err * z[i][j];
      gb += err;
    }
    for (let j = 0; j < d; j++) w[j] -= lr * (gw[j] / n + l2 * w[j]);
    b -= lr * (gb / n);
  }
  return { mean, scale, weights: w, bias: b };
}

/** Probability of the positive class for each row (float64; the ONNX model computes the same in float32). */
export function predictProba(model: LogisticRegressionModel, x: readonly number[][]): number[] {
  return x.map((row) => {
    let s = model.bias;
    row.forEach((v, j) => (s += model.weights[j] * ((v - model.mean[j]) / model.scale[j])));
    return sigmoid(s);
  });
}

/** Area under the ROC curve (Mann–Whitney U with average ranks for ties). */
export function rocAuc(y: readonly number[], p: readonly number[]): number {
  const idx = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const ranks = new Array<number>(p.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && p[idx[j + 1]] === p[idx[i]]) j++;
    for (let k = i; k <= j; k++) ranks[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const pos = y.filter((v) => v === 1).length;
  const neg = y.length - pos;
  if (pos === 0 || neg === 0) throw new Error('AUC needs both classes in the labels');
  const rankSum = y.reduce((s, v, i) => (v === 1 ? s + ranks[i] : s), 0);
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function accuracy(y: readonly number[], p: readonly number[], threshold = 0.5): number {
  return y.filter((v, i) => (p[i] >= threshold ? 1 : 0) === v).length / y.length;
}

export function logLoss(y: readonly number[], p: readonly number[]): number {
  const eps = 1e-15;
  return -y.reduce((s, v, i) => s + (v === 1 ? Math.log(Math.max(p[i], eps)) : Math.log(Math.max(1 - p[i], eps))), 0) / y.length;
}
