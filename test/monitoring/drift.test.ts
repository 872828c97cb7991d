import { Registry } from 'prom-client';
import { DriftMonitor, populationStabilityIndex } from '../../runtime/monitoring';
import { bucketOf, computeReferenceStats, parseReferenceStats, quantileEdges } from '../../runtime/model';
import { driftFromMetrics, parsePrometheusText } from '../../runtime/monitoring/retrain';
import { FEATURES, featureMatrix, generateChurnData } from '../../runtime/training/data';
import { evaluateGate, parseGate } from '../../runtime/promotion/gate';

describe('population stability index', () => {
  test('identical distributions have PSI 0; the textbook example gives its value', () => {
    expect(populationStabilityIndex([0.25, 0.25, 0.5], [25, 25, 50])).toBeCloseTo(0, 12);
    // (0.3-0.2)ln(0.3/0.2) + (0.5-0.5)·0 + (0.2-0.3)ln(0.2/0.3)
    expect(populationStabilityIndex([0.2, 0.5, 0.3], [0.3, 0.5, 0.2])).toBeCloseTo(0.1 * Math.log(1.5) * 2, 12);
  });

  test('empty buckets stay finite through smoothing, and PSI is symmetric in this form', () => {
    const psi = populationStabilityIndex([0.5, 0.5, 0], [0, 0.5, 0.5]);
    expect(Number.isFinite(psi)).toBe(true);
    expect(psi).toBeGreaterThan(1);
    expect(populationStabilityIndex([0.1, 0.9], [0.9, 0.1])).toBeCloseTo(populationStabilityIndex([0.9, 0.1], [0.1, 0.9]), 12);
  });

  test('mismatched buckets are an error', () => {
    expect(() => populationStabilityIndex([0.5, 0.5], [1])).toThrow('same buckets');
  });

  test('buckets are right-closed and quantile edges are deduplicated', () => {
    expect(bucketOf([1, 2, 3], 0.5)).toBe(0);
    expect(bucketOf([1, 2, 3], 1)).toBe(0);
    expect(bucketOf([1, 2, 3], 1.5)).toBe(1);
    expect(bucketOf([1, 2, 3], 9)).toBe(3);
    expect(quantileEdges([1, 1, 1, 1, 1, 1, 2, 2, 3, 4], 10)).toEqual([1, 2, 3]);
    expect(
      quantileEdges(
        Array.from({ length: 100 }, (_, i) => i),
        4,
      ),
    ).toEqual([25, 50, 75]);
  });
});

describe('reference stats of the churn training data', () => {
  const train = featureMatrix(generateChurnData({ rows: 4000, seed: 1 }));
  const ref = computeReferenceStats(FEATURES, train);

  test('summaries per feature with proportions summing to 1', () => {
    expect(ref.columns).toEqual([...FEATURES]);
    for (const f of FEATURES) {
      const s = ref.features[f];
      expect(s.proportions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      expect(s.proportions).toHaveLength(s.edges.length + 1);
      expect(s.min).toBeLessThanOrEqual(s.mean);
      expect(s.std).toBeGreaterThan(0);
    }
    expect(ref.features.age.mean).toBeGreaterThan(40);
    expect(ref.features.age.mean).toBeLessThan(50);
  });

  test('a fresh sample of the same population has low PSI; a shifted one high PSI', () => {
    const psiOf = (rows: number[][], f: number) => {
      const r = ref.features[FEATURES[f]];
      const counts = new Array(r.proportions.length).fill(0);
      for (const row of rows) counts[bucketOf(r.edges, row[f])]++;
      return populationStabilityIndex(r.proportions, counts);
    };
    const same = featureMatrix(generateChurnData({ rows: 2000, seed: 99 }));
    const shifted = featureMatrix(generateChurnData({ rows: 2000, seed: 99, shift: 1 }));
    FEATURES.forEach((_, j) => expect(psiOf(same, j)).toBeLessThan(0.05));
    expect(psiOf(shifted, FEATURES.indexOf('monthly_charges'))).toBeGreaterThan(0.25);
    expect(psiOf(shifted, FEATURES.indexOf('age'))).toBeGreaterThan(0.25);
  });

  test('parseReferenceStats rejects malformed summaries naming the field', () => {
    expect(parseReferenceStats(JSON.parse(JSON.stringify(ref)))).toEqual(ref);
    expect(() => parseReferenceStats({ ...ref, format: 'x' })).toThrow('format must be');
    const broken = JSON.parse(JSON.stringify(ref));
    broken.features.tenure.proportions.pop();
    expect(() => parseReferenceStats(broken)).toThrow('features.tenure');
  });

  describe('DriftMonitor on a Prometheus registry', () => {
    const key = { model: 'churn-predictor', version: '3' };

    test('no drift on in-distribution traffic, drift on shifted traffic; gauges per version on /metrics', async () => {
      const registry = new Registry();
      const monitor = new DriftMonitor({ registry, psiThreshold: 0.2, windowSize: 500, minRows: 100 });
      monitor.track(key, ref);
      const same = featureMatrix(generateChurnData({ rows: 50, seed: 5 }));
      monitor.observe(key, Float32Array.from(same.flat()));
      // Too few rows: no PSI, no flag.
      expect(monitor.status(key)).toMatchObject({ rows: 50, ready: false, drifted: false });
      monitor.observe(key, Float32Array.from(featureMatrix(generateChurnData({ rows: 450, seed: 6 })).flat()));
      expect(monitor.status(key)).toMatchObject({ rows: 500, ready: true, drifted: false });

      let samples = parsePrometheusText(await registry.metrics());
      expect(samples).toEqual(expect.arrayContaining([{ name: 'mlops_drift_detected', labels: { model: 'churn-predictor', version: '3' }, value: 0 }]));
      expect(samples.filter((s) => s.name === 'mlops_feature_psi')).toHaveLength(4);

      // Records (dataframe_records) take the same path; the window slides to the shifted population.
      const shifted = generateChurnData({ rows: 500, seed: 7, shift: 1 });
      monitor.observeRecords(key, shifted);
      const status = monitor.status(key)!;
      expect(status.drifted).toBe(true);
      expect(status.driftedFeatures).toEqual(expect.arrayContaining(['age', 'monthly_charges']));
      expect(status.features.age.mean).toBeGreaterThan(ref.features.age.mean + 8);

      samples = parsePrometheusText(await registry.metrics());
      expect(samples).toEqual(expect.arrayContaining([{ name: 'mlops_drift_detected', labels: { model: 'churn-predictor', version: '3' }, value: 1 }]));
      const readings = driftFromMetrics(samples, 'churn-predictor', 0.2);
      expect(readings).toHaveLength(1);
      expect(readings[0]).toMatchObject({ version: '3', rows: 500 });
      expect(readings[0].drifted).toEqual(expect.arrayContaining(['age', 'monthly_charges']));
      expect(driftFromMetrics(samples, 'other-model', 0.2)).toEqual([]);

      monitor.untrack(key);
      expect(parsePrometheusText(await registry.metrics()).filter((s) => s.name === 'mlops_drift_detected')).toEqual([]);
    });

    test('untracked versions are ignored, bad options rejected', () => {
      const monitor = new DriftMonitor({ registry: new Registry() });
      monitor.observe({ model: 'x', version: '1' }, [1, 2, 3, 4]);
      expect(monitor.statuses()).toEqual([]);
      expect(() => new DriftMonitor({ registry: new Registry(), psiThreshold: 0 })).toThrow('psiThreshold');
      expect(() => new DriftMonitor({ registry: new Registry(), windowSize: 10, minRows: 20 })).toThrow('minRows');
      monitor.track(key, ref);
      expect(() => monitor.observe(key, [1, 2, 3, 4], 2)).toThrow('need 8 values');
    });
  });
});

describe('Prometheus text parsing', () => {
  test('labels with escapes, values, comments', () => {
    const text = '# HELP x y\n# TYPE x gauge\nx{a="1",b="q\\"uote"} 0.5\ny 3\nz{le="+Inf"} +Inf\n';
    expect(parsePrometheusText(text)).toEqual([
      { name: 'x', labels: { a: '1', b: 'q"uote' }, value: 0.5 },
      { name: 'y', labels: {}, value: 3 },
      { name: 'z', labels: { le: '+Inf' }, value: Infinity },
    ]);
  });
});

describe('promotion gates', () => {
  const run = { metrics: { auc: 0.84, logloss: 0.41 }, params: { model_type: 'logistic_regression', epochs: '300' }, tags: { validated: 'true' } };

  test('conditions parse and evaluate', () => {
    expect(evaluateGate(parseGate('metrics.auc >= 0.8'), run)).toEqual([]);
    expect(evaluateGate(parseGate('metrics.auc >= 0.8 and metrics.logloss < 0.5'), run)).toEqual([]);
    expect(evaluateGate(parseGate("params.model_type = 'logistic_regression' AND tags.validated != 'false'"), run)).toEqual([]);
    expect(evaluateGate(parseGate('params.epochs >= 100'), run)).toEqual([]);
    expect(evaluateGate(parseGate('metrics.`auc` > 0.5'), run)).toEqual([]);
  });

  test('failures name the condition and the actual value', () => {
    const [f] = evaluateGate(parseGate('metrics.auc >= 0.9'), run);
    expect(f.condition.text).toBe('metrics.auc >= 0.9');
    expect(f.reason).toBe('metrics.auc is 0.84');
    expect(evaluateGate(parseGate('metrics.f1 > 0.5'), run)[0].reason).toBe('metrics.f1 is not logged on the run');
    expect(evaluateGate(parseGate("params.model_type >= 'a'"), run)[0].reason).toContain('not a number');
  });

  test('bad expressions are rejected clearly', () => {
    expect(() => parseGate('auc >= 0.8')).toThrow('expected <metrics|params|tags>.<key> <op> <value>');
    expect(() => parseGate('metrics.auc => 0.8')).toThrow('compared with a number, not > 0.8');
    expect(() => parseGate('metrics.auc ~ 0.8')).toThrow('cannot parse');
    expect(() => parseGate('metrics.auc >= high')).toThrow('compared with a number');
    expect(() => parseGate('params.model_type = logistic')).toThrow('quote string values');
    expect(() => parseGate('metrics.auc >= 0.8 and ')).toThrow();
  });
});
