import * as fs from 'node:fs';
import * as path from 'node:path';
import { runMlopsAsync } from '../helpers/cli';
import { tmpDir } from '../tracking/helpers';
import { loadEnvironment } from '../../environments';
import { pipelineDefinition, type PipelineDefinition, type PipelineInput } from '../../environments/pipelines';
import { choosePipeline, newRunId, resolveParams } from '../../runtime/pipelines/definition';
import { runPipelineLocally, type LocalRunOptions } from '../../runtime/pipelines/local-runner';
import { readDataset, writeDataset, DATASET_CSV, DATASET_META } from '../../runtime/pipelines/dataset';
import { currentMlopsCommand } from '../../runtime/current-cli';
import { generateChurnData } from '../../runtime/training/data';
import { buildProgram } from '../../cli/main';
import { churnPipeline } from '../../environments/pipelines';

jest.setTimeout(120_000);

/*
 * The local runner on small definitions whose steps are `node -e` scripts (real processes, real files), and
 * the inputs the runner and the step commands refuse. The churn pipeline itself: local-run.test.ts.
 */

const node = process.execPath;
/** A step running a script; its definition defaults filled in by the schema. */
const script = (code: string, extra: Record<string, unknown> = {}) => ({ command: [node, '-e', code], ...extra });

function definition(steps: PipelineInput['steps'], parameters: Record<string, string> = {}): PipelineDefinition {
  return pipelineDefinition.parse({ parameters, steps });
}

describe('the local runner', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('pipeline-runner');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const lines: string[] = [];
  const run = (def: PipelineDefinition, opts: Partial<LocalRunOptions> = {}) => {
    lines.length = 0;
    return runPipelineLocally({
      pipeline: 'p',
      definition: def,
      params: def.parameters,
      runId: 'p-1',
      workDir: path.join(dir, 'work'),
      mlops: [node, '/nonexistent/mlops.js'],
      retryBackoffMs: 10,
      out: (line, stream) => lines.push(`${stream}: ${line}`),
      ...opts,
    });
  };

  test('outputs, artifacts and parameters flow along the DAG; each line is prefixed by its step; the pipeline run is in the env', async () => {
    const def = definition(
      {
        a: script(
          'const fs=require("fs");fs.writeFileSync(process.argv[1],"v-"+process.argv[2]+"\\n");fs.mkdirSync(process.argv[3]);fs.writeFileSync(process.argv[3]+"/f","data");console.log("hello from",process.env.MLOPS_PIPELINE_STEP)',
          { args: ['{{outputs.x}}', '{{params.greeting}}', '{{artifacts.blob}}'], outputs: ['x'], artifacts: ['blob'] },
        ),
        b: script('const fs=require("fs");console.log(process.argv[1], fs.readFileSync(process.argv[2]+"/f","utf8"), process.env.MLOPS_PIPELINE_RUN)', {
          args: ['{{steps.a.x}}', '{{artifacts.blob}}'],
          dependsOn: ['a'],
          inputArtifacts: { blob: 'a' },
        }),
      },
      { greeting: 'hi' },
    );
    const r = await run(def, { params: { greeting: 'there' } });
    expect(r.steps.map((s) => [s.step, s.status, s.outputs])).toEqual([
      ['a', 'succeeded', { x: 'v-there' }],
      ['b', 'succeeded', {}],
    ]);
    expect(lines).toContain('stdout: [a] hello from a');
    expect(lines).toContain('stdout: [b] v-there data p-1');
    // b got its own copy of the artifact, as a pod gets its input artifact unpacked.
    expect(fs.readFileSync(path.join(dir, 'work', 'b', 'artifacts', 'blob', 'f'), 'utf8')).toBe('data');
  });

  test('at most `parallel` steps run at once', async () => {
    // Each step counts the markers of running steps while it holds its own for a while.
    const hold = (name: string) =>
      script(
        `const fs=require("fs"),d=process.argv[1];fs.writeFileSync(d+"/${name}","");const n=fs.readdirSync(d).length;fs.appendFileSync(d+"/../peaks",n+"\\n");setTimeout(()=>fs.rmSync(d+"/${name}"),700)`,
        { args: [path.join(dir, 'running')] },
      );
    fs.mkdirSync(path.join(dir, 'running'));
    const def = definition({ a: hold('a'), b: hold('b'), c: hold('c'), d: hold('d') });
    const r = await run(def, { parallel: 2 });
    expect(r.succeeded).toBe(true);
    const peaks = fs.readFileSync(path.join(dir, 'peaks'), 'utf8').trim().split('\n').map(Number);
    expect(peaks).toHaveLength(4);
    expect(Math.max(...peaks)).toBeLessThanOrEqual(2);
  });

  test('a failed attempt is retried; the step succeeds on the attempt that works', async () => {
    const counter = path.join(dir, 'count');
    const flaky = script(
      'const fs=require("fs"),f=process.argv[1];const n=fs.existsSync(f)?Number(fs.readFileSync(f,"utf8"))+1:1;fs.writeFileSync(f,String(n));process.exit(n<3?7:0)',
      {
        args: [counter],
        retries: 2,
      },
    );
    const r = await run(definition({ flaky }));
    expect(r.steps[0]).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(lines.filter((l) => l.includes('failed: exit code 7'))).toHaveLength(2);
  });

  test("an attempt over the step's timeout is stopped with its whole process group", async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    // The step starts a grandchild that would outlive it, then waits forever.
    const code = `const {spawn}=require("child_process");const c=spawn(process.execPath,["-e","setTimeout(()=>{},600000)"],{stdio:"ignore"});require("fs").writeFileSync(process.argv[1],String(c.pid));setTimeout(()=>{},600000)`;
    const def = definition({ slow: script(code, { args: [pidFile] }) });
    def.steps.slow.timeoutSeconds = 1; // below the schema's minimum: the runner's limit is what is tested here
    const r = await run(def);
    expect(r.steps[0]).toMatchObject({ status: 'failed', message: 'timed out after 1 s' });
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((res) => setTimeout(res, 100));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });

  test('after a failure no new step starts: dependents and independent steps are reported as not run', async () => {
    const def = definition({
      a: script('process.exit(3)'),
      b: script('console.log("b ran")'),
      c: script('console.log("c ran")', { dependsOn: ['a'] }),
    });
    const r = await run(def, { parallel: 1 });
    expect(r.succeeded).toBe(false);
    expect(r.steps.map((s) => [s.step, s.status, s.message])).toEqual([
      ['a', 'failed', 'exit code 3'],
      ['b', 'skipped', 'not run: a failed'],
      ['c', 'skipped', 'not run: it depends on a, which failed'],
    ]);
    expect(lines.some((l) => l.includes('ran'))).toBe(false);
  });

  test('a step that exits 0 without its declared output or artifact fails; an unknown command fails to start', async () => {
    const def = definition({
      quiet: script('0', { outputs: ['x'] }),
      lazy: script('0', { artifacts: ['y'] }),
      absent: { command: [path.join(dir, 'no-such-command')] },
    });
    const r = await run(def, { parallel: 3 });
    const byStep = Object.fromEntries(r.steps.map((s) => [s.step, s.message]));
    expect(byStep.quiet).toMatch(/^did not write output "x" \(/);
    expect(byStep.lazy).toMatch(/^did not produce artifact "y" \(/);
    expect(byStep.absent).toMatch(/^could not start: spawn .*no-such-command ENOENT$/);
  });

  test('a leading mlops runs the given CLI (this checkout’s, for the real command)', async () => {
    const cli = path.join(dir, 'fake-cli.js');
    fs.writeFileSync(cli, 'console.log("cli got", process.argv.slice(2).join(" "))');
    const r = await run(definition({ s: { command: ['mlops', 'pipeline', 'step', 'x'], args: ['--flag', '{{params.v}}'] } }, { v: '1' }), {
      mlops: [node, cli],
    });
    expect(r.succeeded).toBe(true);
    expect(lines).toContain('stdout: [s] cli got pipeline step x --flag 1');
  });
});

describe('the step commands and the churn definition agree', () => {
  const group = buildProgram()
    .commands.find((c) => c.name() === 'pipeline')
    ?.commands.find((c) => c.name() === 'step');
  const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
  test.each(Object.entries(pipelineDefinition.parse(churnPipeline()).steps))('%s: every flag it passes exists, every required one is passed', (name, step) => {
    expect(step.command.slice(0, 3)).toEqual(['mlops', 'pipeline', 'step']);
    const cmd = group?.commands.find((c) => c.name() === step.command[3]);
    expect(cmd?.name()).toBe(name);
    const passed = step.args.filter((a) => a.startsWith('--'));
    const known = cmd?.options.map((o) => o.long) ?? [];
    expect(passed.filter((f) => !known.includes(f))).toEqual([]);
    expect((cmd?.options ?? []).filter((o) => o.mandatory && !passed.includes(o.long ?? '')).map((o) => o.long)).toEqual([]);
    // The README's table row of the command names only flags it has.
    const row = readme.split('\n').find((l) => l.startsWith(`| \`mlops pipeline step ${name} `));
    expect(row).toBeDefined();
    const flags = [...(row ?? '').matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]);
    expect(flags.filter((f) => !known.includes(f))).toEqual([]);
  });
});

describe('choosing the pipeline and its parameters', () => {
  test('the environment’s own definition wins; churn falls back to the built-in one; others are an error naming what exists', () => {
    const dev = loadEnvironment('dev');
    expect(choosePipeline(dev, 'churn').source).toBe('built-in churnPipeline()');
    const own = loadEnvironment('dev', { pipelines: { churn: { parameters: {}, steps: { only: { command: ['true'] } } } } });
    expect(choosePipeline(own, 'churn')).toMatchObject({ source: 'environment dev', definition: { steps: { only: { command: ['true'] } } } });
    expect(() => choosePipeline(dev, 'nightly')).toThrow('environment dev has no pipeline "nightly" (defined: none; built in: churn)');
    expect(() => choosePipeline(dev, '__proto__')).toThrow(/has no pipeline "__proto__"/);
  });
  test('--param overrides only parameters the pipeline has', () => {
    const def = choosePipeline(loadEnvironment('dev'), 'churn').definition;
    expect(resolveParams(def, ['min-auc=0.9', 'rows=a=b'])).toMatchObject({ 'min-auc': '0.9', rows: 'a=b', alias: 'champion' });
    expect(() => resolveParams(def, ['min_auc=1'])).toThrow('--param min_auc: the pipeline has no parameter "min_auc" (defined: experiment, registered-model');
    expect(() => resolveParams(def, ['=1'])).toThrow('--param "=1" must be <name>=<value>');
    expect(() => resolveParams(def, ['constructor=1'])).toThrow(/no parameter "constructor"/);
    expect(() => resolveParams(def, [`rows=${'9'.repeat(1025)}`])).toThrow('longer than 1024');
  });
  test('run ids are DNS-1123 labels like Argo workflow names', () => {
    expect(newRunId('churn', new Date('2026-12-02T07:38:07Z'))).toMatch(/^churn-20261202073807-[0-9a-f]{4}$/);
  });
  test("a step's mlops is this process's node and CLI entry, symlinks resolved", () => {
    const dir = tmpDir('pipeline-cli');
    const link = path.join(dir, 'mlops');
    fs.symlinkSync(path.resolve(__dirname, '../../bin/mlops.js'), link);
    expect(currentMlopsCommand(link)).toEqual([process.execPath, fs.realpathSync(path.resolve(__dirname, '../../bin/mlops.js'))]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('inputs the steps refuse', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmpDir('pipeline-inputs');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a dataset directory that is missing, empty, tampered with or malformed', async () => {
    const good = path.join(dir, 'good');
    const meta = await writeDataset(good, generateChurnData({ rows: 50, seed: 1 }), { seed: 1, shift: 0 });
    expect((await readDataset(good)).rows).toHaveLength(50);
    expect(meta.rows).toBe(50);
    await expect(readDataset(path.join(dir, 'none'))).rejects.toThrow(/is not a directory written by prepare-data$/);
    const copy = (name: string, edit: (d: string) => void) => {
      const d = path.join(dir, name);
      fs.cpSync(good, d, { recursive: true });
      edit(d);
      return d;
    };
    await expect(readDataset(copy('empty', (d) => fs.writeFileSync(path.join(d, DATASET_CSV), '')))).rejects.toThrow(/churn\.csv is empty$/);
    const tampered = copy('tampered', (d) => fs.appendFileSync(path.join(d, DATASET_CSV), '40,1,50,50,1\n'));
    await expect(readDataset(tampered)).rejects.toThrow('does not match the digest in dataset.json');
    await expect(readDataset(copy('nometa', (d) => fs.rmSync(path.join(d, DATASET_META))))).rejects.toThrow(/dataset\.json is not a dataset description/);
    const badMeta = copy('badmeta', (d) => fs.writeFileSync(path.join(d, DATASET_META), '{"format":"x"}'));
    await expect(readDataset(badMeta)).rejects.toThrow(/dataset\.json is not a dataset description/);
  });

  // A tracking URI on a closed port: each refusal happens before any call to it.
  const step = (...args: string[]) =>
    runMlopsAsync(['pipeline', 'step', ...args], { env: { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' } });

  test.each([
    [
      ['train', '--data', '/nonexistent/dataset', '--run-id-file', 'r', '--model-uri-file', 'm'],
      'pipeline step train: --data /nonexistent/dataset does not exist',
    ],
    [['train', '--data', '', '--run-id-file', 'r', '--model-uri-file', 'm'], 'pipeline step train: --data is empty'],
    [['evaluate', '--data', '/etc/hostname', '--model-run', 'abc'], 'pipeline step evaluate: --data /etc/hostname is not a directory'],
    [
      ['register', '--model-uri', 'models:/churn/1', '--name', 'm', '--version-file', 'v'],
      'pipeline step register: --model-uri models:/churn/1 must be a runs:/<run id>/<path> URI',
    ],
    [['promote', '--name', 'm', '--version', ' ', '--alias', 'champion'], 'pipeline step promote: --version is empty'],
    [['prepare-data', '--rows', '5', '--out', 'x'], "error: option '--rows <n>' argument '5' is invalid. --rows must be an integer ≥ 10"],
  ])('%j is refused in one line', async (args, message) => {
    const r = await step(...args);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  test.each([
    ['http://127.0.0.1:9', 'mlops: pipeline run: tracking server http://127.0.0.1:9 does not answer (fetch failed); npm start runs one'],
    ['file:///tmp', 'mlops: pipeline run: the tracking URI must be an http(s) URL of a tracking server (got file:///tmp)'],
  ])('pipeline run refuses tracking server %s before starting any step', async (uri, message) => {
    const work = path.join(dir, 'work-unreachable');
    const r = await runMlopsAsync(['pipeline', 'run', 'churn', '--local', '--work-dir', work, '--tracking-uri', uri]);
    expect([r.status, r.stderr.trim(), fs.existsSync(work)]).toEqual([1, message, false]);
  });

  test('evaluate refuses a model run that is not a run id (before reading the dataset)', async () => {
    const good = path.join(dir, 'for-evaluate');
    await writeDataset(good, generateChurnData({ rows: 20, seed: 1 }), { seed: 1, shift: 0 });
    const r = await step('evaluate', '--data', good, '--model-run', '../../etc');
    expect(r.stderr.trim()).toBe('mlops: pipeline step evaluate: --model-run ../../etc is not a run id');
  });
});
