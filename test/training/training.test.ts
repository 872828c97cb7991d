import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ortRun } from '../e2e/ort';
import { parse } from 'yaml';
import {
  FEATURES,
  decodeOnnxModel,
  exportLogisticRegressionToOnnx,
  featureMatrix,
  generateChurnData,
  mulberry32,
  predictProba,
  rocAuc,
  accuracy,
  logLoss,
  runTraining,
  trainLogisticRegression,
  trainTestSplit,
} from '../../runtime/training';
import { parseReferenceStats } from '../../runtime/model';

describe('churn data', () => {
  test('the same seed gives the same rows; another seed other rows', () => {
    const a = generateChurnData({ rows: 300, seed: 7 });
    const b = generateChurnData({ rows: 300, seed: 7 });
    const c = generateChurnData({ rows: 300, seed: 8 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // A pinned row guards against accidental changes of the generator (the platform's models depend on it).
    expect(generateChurnData({ rows: 1, seed: 42 })[0]).toEqual({ age: 32, tenure: 61, monthly_charges: 75.19, total_charges: 4548.82, churn: 0 });
  });

  test('rows are plausible customers and both classes occur', () => {
    const rows = generateChurnData({ rows: 2000 });
    for (const r of rows) {
      expect(r.age).toBeGreaterThanOrEqual(18);
      expect(r.age).toBeLessThanOrEqual(90);
      expect(r.tenure).toBeGreaterThanOrEqual(0);
      expect(r.tenure).toBeLessThanOrEqual(72);
      expect(r.monthly_charges).toBeGreaterThanOrEqual(18);
      expect(r.total_charges).toBeGreaterThanOrEqual(0);
    }
    const rate = rows.filter((r) => r.churn === 1).length / rows.length;
    expect(rate).toBeGreaterThan(0.1);
    expect(rate).toBeLessThan(0.5);
  });

  test('shift moves the population: older, higher charges', () => {
    const base = generateChurnData({ rows: 2000 });
    const shifted = generateChurnData({ rows: 2000, shift: 1 });
    const mean = (rows: typeof base, f: (typeof FEATURES)[number]) => rows.reduce((s, r) => s + r[f], 0) / rows.length;
    expect(mean(shifted, 'age') - mean(base, 'age')).toBeGreaterThan(8);
    expect(mean(shifted, 'monthly_charges') - mean(base, 'monthly_charges')).toBeGreaterThan(15);
  });

  test('bad sizes are rejected', () => {
    expect(() => generateChurnData({ rows: 0 })).toThrow('rows must be a positive integer');
    expect(() => generateChurnData({ shift: NaN })).toThrow('shift must be a finite number');
  });

  test('the PRNG is uniform-ish in [0, 1)', () => {
    const u = mulberry32(1);
    const xs = Array.from({ length: 10000 }, u);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.02);
  });
});

describe('logistic regression', () => {
  const rows = generateChurnData({ rows: 3000 });
  const { train, test: testRows } = trainTestSplit(rows);
  const model = trainLogisticRegression(
    featureMatrix(train),
    train.map((r) => r.churn),
  );
  const p = predictProba(model, featureMatrix(testRows));
  const y = testRows.map((r) => r.churn);

  test('learns the churn signal: AUC well above chance, better log loss than the base rate', () => {
    expect(rocAuc(y, p)).toBeGreaterThan(0.8);
    const base = train.filter((r) => r.churn).length / train.length;
    expect(logLoss(y, p)).toBeLessThan(
      logLoss(
        y,
        y.map(() => base),
      ),
    );
    expect(accuracy(y, p)).toBeGreaterThan(0.75);
    // Short tenure raises churn, so its standardized weight is negative.
    expect(model.weights[FEATURES.indexOf('tenure')]).toBeLessThan(0);
  });

  test('training is deterministic', () => {
    expect(
      trainLogisticRegression(
        featureMatrix(train),
        train.map((r) => r.churn),
      ),
    ).toEqual(model);
  });

  test('metrics on known values', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75);
    expect(rocAuc([0, 1], [0.5, 0.5])).toBeCloseTo(0.5);
    expect(accuracy([0, 1, 1], [0.2, 0.7, 0.4])).toBeCloseTo(2 / 3);
    expect(logLoss([1, 0], [0.5, 0.5])).toBeCloseTo(Math.log(2));
    expect(() => rocAuc([1, 1], [0.2, 0.3])).toThrow('both classes');
  });

  describe('ONNX export', () => {
    const bytes = exportLogisticRegressionToOnnx(model, { metadata: { run_id: 'abc' } });

    test('decodes back to the graph that was written', () => {
      const m = decodeOnnxModel(bytes) as {
        ir_version: number;
        opset_import: { domain?: string; version: number }[];
        graph: { input: { name: string }[]; output: { name: string }[]; node: { op_type: string }[]; initializer: { name: string; float_data: number[] }[] };
        metadata_props: { key: string; value: string }[];
      };
      expect(m.ir_version).toBe(8);
      expect(m.opset_import[0].version).toBe(13);
      expect(m.graph.input.map((i) => i.name)).toEqual(['input']);
      expect(m.graph.output.map((o) => o.name)).toEqual(['probabilities']);
      expect(m.graph.node.map((n) => n.op_type)).toEqual(['Sub', 'Div', 'MatMul', 'Add', 'Sigmoid', 'Sub', 'Concat']);
      const weights = m.graph.initializer.find((t) => t.name === 'weights')!;
      weights.float_data.forEach((w, j) => expect(w).toBeCloseTo(model.weights[j], 5));
      expect(m.metadata_props).toEqual(
        expect.arrayContaining([
          { key: 'run_id', value: 'abc' },
          { key: 'features', value: FEATURES.join(',') },
        ]),
      );
    });

    test('onnxruntime-node loads it and reproduces the TypeScript probabilities', async () => {
      const x = featureMatrix(testRows);
      const out = await ortRun(bytes, { name: 'input', data: x.flat(), dims: [x.length, 4] });
      expect(Object.keys(out)).toEqual(['probabilities']);
      const probs = out.probabilities;
      expect(probs.type).toBe('float32');
      expect(probs.dims).toEqual([x.length, 2]);
      for (let i = 0; i < x.length; i++) {
        expect(probs.data[2 * i + 1]).toBeCloseTo(p[i], 5);
        expect(probs.data[2 * i] + probs.data[2 * i + 1]).toBeCloseTo(1, 6);
      }
    });

    test('a model of the wrong width is refused', () => {
      expect(() => exportLogisticRegressionToOnnx({ ...model, weights: [1, 2] })).toThrow('4 features');
    });
  });
});

describe('offline training (mlops train --offline --output)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mlops-train-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('writes an MLflow model directory with the onnx + python_function flavors, a signature and reference stats', async () => {
    const result = await runTraining({ offline: true, outputDir: dir, rows: 1000 });
    expect(result.metrics.auc).toBeGreaterThan(0.75);
    const mlmodel = parse(readFileSync(path.join(dir, 'MLmodel'), 'utf8'));
    expect(Object.keys(mlmodel.flavors).sort()).toEqual(['onnx', 'python_function']);
    expect(mlmodel.flavors.python_function.loader_module).toBe('mlflow.onnx');
    expect(mlmodel.flavors.onnx.data).toBe('model.onnx');
    expect(JSON.parse(mlmodel.signature.inputs).map((c: { name: string }) => c.name)).toEqual([...FEATURES]);
    expect(JSON.parse(mlmodel.signature.outputs)[0]['tensor-spec']).toEqual({ dtype: 'float32', shape: [-1, 2] });
    const stats = parseReferenceStats(JSON.parse(readFileSync(path.join(dir, 'reference_stats.json'), 'utf8')));
    expect(stats.columns).toEqual([...FEATURES]);
    expect(stats.rows).toBe(800);
    const example = JSON.parse(readFileSync(path.join(dir, 'input_example.json'), 'utf8'));
    expect(example.columns).toEqual([...FEATURES]);
    const out = await ortRun(path.join(dir, 'model.onnx'), { name: 'input', data: example.data.flat(), dims: [example.data.length, 4] });
    expect(out.probabilities.dims).toEqual([example.data.length, 2]);
  });

  test('bad hyperparameters and missing destinations are clear errors', async () => {
    await expect(runTraining({ offline: true })).rejects.toThrow('offline training needs --output');
    await expect(runTraining({ offline: true, outputDir: dir, epochs: 0 })).rejects.toThrow('epochs must be a positive integer');
    await expect(runTraining({ offline: true, outputDir: dir, alias: 'champion' })).rejects.toThrow('--alias needs --register');
  });
});
