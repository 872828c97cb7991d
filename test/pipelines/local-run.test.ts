import * as fs from 'node:fs';
import * as path from 'node:path';
import { runMlopsAsync } from '../helpers/cli';
import { api, startTestServer, tmpDir, type TestServer } from '../tracking/helpers';

jest.setTimeout(300_000);

/*
 * `mlops pipeline run churn --local` end to end: the real CLI as a child process, its steps as further
 * `mlops pipeline step …` processes, against a real tracking server; every assertion reads the server's REST API.
 */

interface RestRun {
  info: { run_id: string; status: string; run_name: string };
  data: { metrics?: { key: string; value: number }[]; params?: { key: string; value: string }[]; tags?: { key: string; value: string }[] };
  inputs?: { dataset_inputs?: { dataset: { name: string; digest: string }; tags?: { key: string; value: string }[] }[] };
}

const tag = (r: RestRun, key: string) => r.data.tags?.find((t) => t.key === key)?.value;
const metric = (r: RestRun, key: string) => r.data.metrics?.find((m) => m.key === key)?.value;
const param = (r: RestRun, key: string) => r.data.params?.find((p) => p.key === key)?.value;

describe('mlops pipeline run churn --local against a real tracking server', () => {
  let server: TestServer;
  let work: string;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    work = tmpDir('pipeline-work');
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const run = (...extra: string[]) =>
    runMlopsAsync(['pipeline', 'run', 'churn', '--local', '--work-dir', work, '--tracking-uri', server.url, ...extra], { timeoutMs: 240_000 });
  const runIdOf = (stdout: string) => {
    const m = /^pipeline churn \(built-in churnPipeline\(\)\), run (churn-\d{14}-[0-9a-f]{4}):/m.exec(stdout);
    if (!m) throw new Error(`no run id in:\n${stdout}`);
    return m[1];
  };
  /** The step runs of one pipeline run, by step. */
  async function stepRuns(pipelineRun: string): Promise<Map<string, RestRun>> {
    const experiment = await api(server.url, 'GET', '/experiments/get-by-name', { experiment_name: 'churn' });
    if (experiment.status === 404) return new Map();
    const r = await api<{ runs?: RestRun[] }>(server.url, 'POST', '/runs/search', {
      experiment_ids: [experiment.body.experiment.experiment_id],
      filter: `tags.\`mlops.pipeline.run\` = '${pipelineRun}'`,
      max_results: 100,
    });
    expect(r.status).toBe(200);
    return new Map((r.body.runs ?? []).map((x) => [tag(x, 'mlops.pipeline.step') ?? '?', x]));
  }
  const champion = async () =>
    api<{ model_version: { version: string; run_id: string } }>(server.url, 'GET', '/registered-models/alias', { name: 'churn-predictor', alias: 'champion' });

  let firstVersion = '';
  let firstTrainRun = '';

  test('trains, evaluates, registers and promotes; every step is a run tagged with the pipeline run', async () => {
    const r = await run();
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const pipelineRun = runIdOf(r.stdout);
    for (const step of ['prepare-data', 'train', 'evaluate', 'register', 'promote']) expect(r.stdout).toMatch(new RegExp(`^\\[${step}\\] succeeded`, 'm'));
    const runs = await stepRuns(pipelineRun);
    expect([...runs.keys()].sort()).toEqual(['evaluate', 'prepare-data', 'promote', 'register', 'train']);
    for (const [step, x] of runs) {
      expect([step, x.info.status, tag(x, 'mlops.pipeline'), x.info.run_name]).toEqual([step, 'FINISHED', 'churn', `${pipelineRun}-${step}`]);
    }
    const prepare = runs.get('prepare-data')!;
    const train = runs.get('train')!;
    const evaluate = runs.get('evaluate')!;
    expect([param(prepare, 'rows'), param(prepare, 'seed'), metric(prepare, 'rows')]).toEqual(['5000', '42', 5000]);
    // The dataset travels as an artifact: train and evaluate log the same dataset (digest) prepare-data made.
    const digest = prepare.inputs?.dataset_inputs?.[0].dataset.digest;
    expect(digest).toMatch(/^[0-9a-f]{16}$/);
    expect(train.inputs?.dataset_inputs?.map((d) => [d.dataset.digest, d.tags?.[0].value])).toEqual([[digest, 'training']]);
    expect(param(train, 'rows')).toBe('5000');
    // evaluate: its own run, a child of the train run, and the eval metrics on the train run for the gate.
    expect(tag(evaluate, 'mlflow.parentRunId')).toBe(train.info.run_id);
    expect(metric(evaluate, 'eval_auc')).toBeGreaterThan(0.75);
    expect(metric(train, 'eval_auc')).toBe(metric(evaluate, 'eval_auc'));
    expect(metric(evaluate, 'eval_rows')).toBe(1000);

    // The train step's outputs, as files in its work dir, are what later steps used.
    const trainOutputs = path.join(work, pipelineRun, 'train', 'outputs');
    expect(fs.readFileSync(path.join(trainOutputs, 'run-id'), 'utf8')).toBe(train.info.run_id);
    expect(fs.readFileSync(path.join(trainOutputs, 'model-uri'), 'utf8')).toBe(`runs:/${train.info.run_id}/model`);

    const version = fs.readFileSync(path.join(work, pipelineRun, 'register', 'outputs', 'version'), 'utf8');
    const mv = await api(server.url, 'GET', '/model-versions/get', { name: 'churn-predictor', version });
    expect(mv.status).toBe(200);
    expect(mv.body.model_version.run_id).toBe(train.info.run_id);
    expect(mv.body.model_version.tags).toEqual(expect.arrayContaining([{ key: 'mlops.pipeline.run', value: pipelineRun }]));
    const alias = await champion();
    expect([alias.status, alias.body.model_version.version, alias.body.model_version.run_id]).toEqual([200, version, train.info.run_id]);
    expect(tag(runs.get('register')!, 'mlops.model_version')).toBe(version);
    firstVersion = version;
    firstTrainRun = train.info.run_id;
  });

  test('a gate that does not hold fails the promote step and leaves the alias where it was', async () => {
    expect(firstVersion).not.toBe('');
    const r = await run('--param', 'min-auc=0.999');
    expect(r.status).toBe(1);
    const pipelineRun = runIdOf(r.stdout);
    expect(r.stderr).toMatch(
      /^\[promote\] mlops: pipeline step promote: gate "metrics\.eval_auc >= 0\.999" failed for churn-predictor version \d+: metrics\.eval_auc is 0\.8/m,
    );
    expect(r.stderr.trim().split('\n').at(-1)).toBe('mlops: pipeline run: step promote failed: exit code 1');

    const runs = await stepRuns(pipelineRun);
    expect([...runs].map(([s, x]) => [s, x.info.status]).sort()).toEqual([
      ['evaluate', 'FINISHED'],
      ['prepare-data', 'FINISHED'],
      ['promote', 'FAILED'],
      ['register', 'FINISHED'],
      ['train', 'FINISHED'],
    ]);
    expect(tag(runs.get('promote')!, 'mlops.pipeline.error')).toMatch(/^gate "metrics\.eval_auc >= 0\.999" failed/);
    // The new version exists, registered by this run, but serving still follows the first one.
    const version = tag(runs.get('register')!, 'mlops.model_version');
    expect(Number(version)).toBeGreaterThan(Number(firstVersion));
    expect((await api(server.url, 'GET', '/model-versions/get', { name: 'churn-predictor', version })).status).toBe(200);
    const alias = await champion();
    expect([alias.body.model_version.version, alias.body.model_version.run_id]).toEqual([firstVersion, firstTrainRun]);
  });

  test('a step that fails (a bad parameter) is retried as defined, and its dependents never run', async () => {
    const versions = async () =>
      ((await api(server.url, 'GET', '/model-versions/search', { filter: "name = 'churn-predictor'" })).body.model_versions ?? []).length;
    const versionsBefore = await versions();
    const r = await run('--param', 'rows=abc');
    expect(r.status).toBe(1);
    const pipelineRun = runIdOf(r.stdout);
    // prepare-data has retries: 2 in churnPipeline(): three attempts, each refusing the value in one line.
    expect(r.stderr.match(/^\[prepare-data\] error: option '--rows <n>' argument 'abc' is invalid\. --rows must be an integer ≥ 10$/gm)).toHaveLength(3);
    expect(r.stdout).toMatch(/^\[prepare-data\] started \(attempt 3\/3\)$/m);
    for (const step of ['train', 'evaluate', 'register', 'promote']) {
      expect(r.stdout).not.toMatch(new RegExp(`^\\[${step}\\] started`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^  ${step} +skipped +not run: it depends on prepare-data, which failed$`, 'm'));
      expect(fs.existsSync(path.join(work, pipelineRun, step))).toBe(false);
    }
    expect((await stepRuns(pipelineRun)).size).toBe(0);
    expect(await versions()).toBe(versionsBefore);
    if (firstVersion) expect((await champion()).body.model_version.version).toBe(firstVersion);
  });
});
