import * as path from 'node:path';
import { runMlopsAsync } from '../helpers/cli';
import { describeWithTool } from '../helpers/tools';
import { mlflowClients, runPythonScript, startTestServer, type TestServer } from '../tracking/helpers';
import { KATIB_DEFAULT_FILTER, parseKatibMetrics, parseRange, runTrials, suggest } from '../../runtime/training/tune-local';
import { findOrCreateParent, metricLines } from '../../runtime/training/tune';
import { MlflowClient } from '../../runtime/mlflow';
import { processRank, runTraining } from '../../runtime/training';

describe('Katib StdOut metrics format', () => {
  it("the trial prints what Katib's default filter reads back, other lines ignored", () => {
    const out = [
      'trained on 1600 rows: auc 0.8612, accuracy 0.8000',
      'trial run_id abc parent def',
      ...metricLines({ auc: 0.86125, logloss: 0.3, accuracy: 8e-1 }),
    ].join('\n');
    expect(parseKatibMetrics(out, ['auc', 'logloss', 'accuracy'])).toEqual({ auc: 0.86125, logloss: 0.3, accuracy: 0.8 });
    expect(KATIB_DEFAULT_FILTER.source).toBe('([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)');
  });
  it('search ranges: parsed, checked, drawn inside their bounds, the same for the same seed', () => {
    expect(parseRange('epochs=50:400:int')).toEqual({ name: 'epochs', type: 'int', min: 50, max: 400 });
    expect(() => parseRange('momentum=0:1')).toThrow(/--param "momentum=0:1" must be/);
    expect(() => parseRange('l2=1:0.1')).toThrow(/min must be a number ≤ max/);
    const ranges = [parseRange('learning-rate=0.05:1'), parseRange('epochs=50:400:int')];
    const s = suggest(ranges, 50, 3);
    expect(suggest(ranges, 50, 3)).toEqual(s);
    for (const p of s) {
      expect(p['learning-rate']).toBeGreaterThanOrEqual(0.05);
      expect(p['learning-rate']).toBeLessThanOrEqual(1);
      expect(Number.isInteger(p.epochs) && p.epochs >= 50 && p.epochs <= 400).toBe(true);
    }
  });
  it('runTrials keeps at most `parallel` trials running and returns them in order', async () => {
    let running = 0;
    let peak = 0;
    const results = await runTrials([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }, { a: 5 }], 2, async (params) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setImmediate(r));
      running--;
      return { params, metrics: { auc: params.a }, exitCode: 0, stdout: '' };
    });
    expect(peak).toBe(2);
    expect(results.map((r) => r.metrics.auc)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('RANK: only rank 0 of a distributed job logs', () => {
  it('reads RANK, rejects a bad one', () => {
    expect(processRank({})).toBe(0);
    expect(processRank({ RANK: '3' })).toBe(3);
    expect(() => processRank({ RANK: '-1' })).toThrow('RANK must be a non-negative integer (got "-1")');
  });
  it('a rank > 0 trains without any tracking call (the client points at a closed port)', async () => {
    const client = new MlflowClient({ trackingUri: 'http://127.0.0.1:9', env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' } });
    const r = await runTraining({ rows: 200, epochs: 20, rank: 2, client });
    expect(r.runId).toBeUndefined();
    expect(r.metrics.auc).toBeGreaterThan(0.5);
  });
});

describe('mlops tune against a real tracking server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(async () => server.stop());

  it('concurrent trials converge on one parent run', async () => {
    const client = new MlflowClient({ trackingUri: server.url });
    const ids = await Promise.all(Array.from({ length: 4 }, () => findOrCreateParent(client, 'race', 'race-search')));
    expect(new Set(ids.map((i) => i.runId)).size).toBe(1);
    const live = await client.api<{ runs?: unknown[] }>('POST', 'runs/search', {
      experiment_ids: [ids[0].experimentId],
      filter: "tags.`mlops.tuning` = 'race-search'",
    });
    expect(live.runs).toHaveLength(1);
  });

  it('rejects a tuning name that would break out of the search filter', async () => {
    const r = await runMlopsAsync(['tune', 'register', '--tuning', "x' or 1=1 --", '--tracking-uri', server.url]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('tuning name "x\' or 1=1 --" must be 1-250 letters');
  });

  for (const mlflow of mlflowClients.slice(0, 1)) {
    describeWithTool(`trials as processes, the best registered, read back with the ${mlflow.name}`, mlflow.availability, () => {
      it('mlops tune run --local: one parent, a child run per trial, the best child registered', async () => {
        const args = [
          'tune',
          'run',
          '--local',
          '--tuning',
          'tune-churn',
          '--param',
          'learning-rate=0.05:1',
          '--param',
          'epochs=20:200:int',
          '--trials',
          '4',
          '--parallel',
          '2',
          '--rows',
          '1000',
        ];
        const r = await runMlopsAsync(args, { env: { MLFLOW_TRACKING_URI: server.url }, timeoutMs: 240_000 });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^search tune-churn: 4 trials, 2 at a time, objective maximize auc$/m);
        expect(r.stdout.match(/^trial \d: learning-rate=\S+ epochs=\d+ → auc=0\.\d{4}$/gm)).toHaveLength(4);
        const best = /best of 4 trials \(0 failed\): run ([0-9a-f]{32}) auc=(0\.\d{4})/.exec(r.stdout);
        expect(best).not.toBeNull();

        const got = await runPythonScript(mlflow.python, path.join(__dirname, 'python', 'tune_check.py'), [
          server.url,
          'churn',
          'tune-churn',
          'churn-predictor',
        ]);
        expect(got.parents).toHaveLength(1);
        const parent = got.parents[0];
        expect(parent.status).toBe('FINISHED');
        expect(got.children).toHaveLength(4);
        for (const c of got.children) {
          expect(c).toMatchObject({ status: 'FINISHED', parent: parent.run_id });
          expect(Object.keys(c.params)).toEqual(expect.arrayContaining(['learning_rate', 'epochs', 'l2', 'rows']));
        }
        const top = [...got.children].sort((a, b) => b.auc - a.auc)[0];
        expect(best![1]).toBe(top.run_id);
        expect(parent.best_run_id).toBe(top.run_id);
        expect(parent.metrics).toEqual({ best_auc: top.auc, trials: 4 });
        expect(parent.params.learning_rate).toBe(top.params.learning_rate);
        expect(got.versions).toEqual([expect.objectContaining({ version: '1', run_id: top.run_id })]);
        expect(got.versions[0].source).toMatch(new RegExp(`${top.run_id}/artifacts/model$`));
      });
    });
  }
});
