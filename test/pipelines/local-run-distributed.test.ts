import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtInEnvironments } from '../../environments';
import { churnPipeline } from '../../environments/pipelines';
import { runMlopsAsync } from '../helpers/cli';
import { api, startTestServer, tmpDir, type TestServer } from '../tracking/helpers';

jest.setTimeout(300_000);

/*
 * The churn pipeline with its train step distributed (`distributed: { workers: 3 }`), run by the real CLI with
 * `mlops pipeline run --local` against a real tracking server: the train step runs as three ranks, rank 0 alone logs
 * the run, `train-run` (find-run) hands it on by the pipeline-run tags, and the version is registered and promoted.
 */

interface RestRun {
  info: { run_id: string; status: string; run_name: string };
  data: { tags?: { key: string; value: string }[]; metrics?: { key: string; value: number }[] };
}
const tag = (r: RestRun, key: string) => r.data.tags?.find((t) => t.key === key)?.value;

describe('mlops pipeline run --local with a distributed train step', () => {
  let server: TestServer;
  let work: string;
  let envFile: string;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    work = tmpDir('pipeline-dist');
    envFile = path.join(work, 'env.json');
    const pipeline = churnPipeline({ training: { distributed: { workers: 3 } } });
    // Rank 2 of `ranks` fails: what one failing replica does to the step.
    const say = 'echo "rank $RANK of $WORLD_SIZE, master $MASTER_ADDR:$MASTER_PORT, backend $MLOPS_DIST_BACKEND"';
    const ranks = {
      steps: {
        spread: { command: ['sh', '-c', `${say}; test "$RANK" != 2`], distributed: { workers: 3 }, retries: 1 },
        after: { command: ['sh', '-c', 'echo never'], dependsOn: ['spread'] },
      },
    };
    fs.writeFileSync(envFile, JSON.stringify({ ...builtInEnvironments.dev, pipelines: { 'churn-dist': pipeline, ranks } }));
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const run = (...extra: string[]) =>
    runMlopsAsync(
      ['pipeline', 'run', 'churn-dist', '--local', '--env', envFile, '--work-dir', path.join(work, 'runs'), '--tracking-uri', server.url, ...extra],
      {
        timeoutMs: 240_000,
      },
    );

  test('three ranks train, rank 0 logs the one run, find-run hands it to evaluate and register, promote moves the alias', async () => {
    const r = await run('--param', 'rows=2000');
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const pipelineRun = /^pipeline churn-dist \(environment [^)]+\), run (churn-dist-\d{14}-[0-9a-f]{4}):/m.exec(r.stdout)?.[1];
    expect(pipelineRun).toBeDefined();
    // Every rank ran the step's command with its RANK; ranks 1 and 2 trained without logging.
    for (const rank of [1, 2]) expect(r.stdout).toMatch(new RegExp(`^\\[train rank ${rank}\\] rank ${rank}: trained; rank 0 logs the run$`, 'm'));
    expect(r.stdout).toMatch(/^\[train rank 0\] run_id=[0-9a-f]{32} model_uri=runs:\/[0-9a-f]{32}\/model$/m);
    for (const step of ['prepare-data', 'train', 'train-run', 'evaluate', 'register', 'promote'])
      expect(r.stdout).toMatch(new RegExp(`^\\[${step}\\] succeeded`, 'm'));

    const experiment = await api(server.url, 'GET', '/experiments/get-by-name', { experiment_name: 'churn' });
    const found = await api<{ runs?: RestRun[] }>(server.url, 'POST', '/runs/search', {
      experiment_ids: [experiment.body.experiment.experiment_id],
      filter: `tags.\`mlops.pipeline.run\` = '${pipelineRun}'`,
      max_results: 100,
    });
    const runs = found.body.runs ?? [];
    // One run per step that logs one: train's from rank 0 only (find-run logs none of its own).
    expect(runs.map((x) => tag(x, 'mlops.pipeline.step')).sort()).toEqual(['evaluate', 'prepare-data', 'promote', 'register', 'train']);
    const train = runs.find((x) => tag(x, 'mlops.pipeline.step') === 'train')!;
    expect([train.info.status, train.info.run_name, tag(train, 'mlops.pipeline')]).toEqual(['FINISHED', `${pipelineRun}-train`, 'churn-dist']);

    // find-run's outputs are the train run, and evaluate and register used them.
    const outputs = path.join(work, 'runs', pipelineRun!, 'train-run', 'outputs');
    expect(fs.readFileSync(path.join(outputs, 'run-id'), 'utf8')).toBe(train.info.run_id);
    expect(fs.readFileSync(path.join(outputs, 'model-uri'), 'utf8')).toBe(`runs:/${train.info.run_id}/model`);
    const evaluate = runs.find((x) => tag(x, 'mlops.pipeline.step') === 'evaluate')!;
    expect(tag(evaluate, 'mlflow.parentRunId')).toBe(train.info.run_id);
    const alias = await api<{ model_version: { run_id: string } }>(server.url, 'GET', '/registered-models/alias', {
      name: 'churn-predictor',
      alias: 'champion',
    });
    expect([alias.status, alias.body.model_version.run_id]).toEqual([200, train.info.run_id]);
  });

  test('each rank gets the replica environment; one failing rank fails the attempt, the retry too, and the dependent never runs', async () => {
    const args = ['pipeline', 'run', 'ranks', '--local', '--env', envFile, '--work-dir', path.join(work, 'runs'), '--tracking-uri', server.url];
    const r = await runMlopsAsync(args, { timeoutMs: 120_000 });
    expect(r.status).toBe(1);
    const lines = r.stdout.split('\n');
    for (const rank of [0, 1, 2]) {
      const said = lines.filter((l) => l.startsWith(`[spread rank ${rank}] rank ${rank} of 3, master 127.0.0.1:`));
      // Two attempts, each with every rank; every rank of one attempt sees the same MASTER_PORT.
      expect(said).toHaveLength(2);
      expect(said[0]).toMatch(/:\d+, backend gloo$/);
    }
    const ports = lines.filter((l) => /^\[spread rank \d\] rank/.test(l)).map((l) => /:(\d+),/.exec(l)?.[1]);
    expect(new Set(ports.slice(0, 3)).size).toBe(1);
    expect(r.stderr).toMatch(/^\[spread\] attempt 2\/2 failed: exit code 1$/m);
    expect(r.stdout).toMatch(/^\[spread\] failed: exit code 1/m);
    expect(r.stdout).not.toMatch(/^\[after\] started/m);
  });
});
