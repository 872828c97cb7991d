import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command, Option } from 'commander';
import { buildProgram } from '../cli/main';
import { ENVIRONMENT_NAMES, loadEnvironment } from '../environments';
import { UnpinnedImagesError } from '../environments/image-lock';
import { awsRules, kubeRules } from '../policies';
import { renderEnvironment } from '../stacks/gitops';
import { distributedTraining, hyperparameterTuning } from '../environments/training-distributed';
import { repoRoot } from './helpers/cli';
import { testImageLockFile } from './helpers/image-lock';
import { tracesBlock, trackingTable, trackingTargets, type ResultsFile } from '../bench/tracking/readme-table';
import { inferenceBlocks, RECORDED, type InferenceRecord } from '../bench/inference/readme-tables';
import { RECORDED as SCALE_RECORDED, scaleBlocks, type ScaleRecord } from '../bench/scale/readme-tables';

jest.setTimeout(120_000);

/**
 * Figures and lists in the README that come from the code, recomputed here so they cannot go stale: the
 * objects/files/warnings `mlops synth` prints per environment (with the committed lock and with a complete
 * one), the unpinned-image count of the refusal, the policy rules tables, the registry suites' test count, the flag lists of
 * `mlops tracking serve`, `mlops serve` and `mlops local`, and the benchmark tables (from the runs in bench/recorded/). On a mismatch, rerun the command the README
 * shows and copy its real output.
 */
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
/** The README with every run of whitespace as one space: figures may wrap across lines. */
const flat = readme.replace(/\s+/g, ' ');

function section(title: string): string {
  const found = readme.split(/^## /m).find((s) => s.startsWith(title));
  if (!found) throw new Error(`README: no section "## ${title}"`);
  return found;
}

function command(pathNames: string[]): Command {
  let cmd = buildProgram();
  for (const name of pathNames) cmd = cmd.commands.find((c) => c.name() === name)!;
  return cmd;
}

const longFlags = (cmd: Command) => cmd.options.map((o: Option) => o.long!).filter((l) => l !== '--help');
const flagsIn = (text: string) => [...new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]))];

function counts(name: string, imageLock?: string): { objects: number; files: number; warnings: number } {
  const r = renderEnvironment(loadEnvironment(name), { imageLock });
  return {
    objects: r.files.reduce((n, f) => n + f.objects.length, 0),
    files: r.files.length,
    warnings: r.violations.filter((v) => v.severity === 'warning' && !v.exception).length,
  };
}

describe('README figures from the code', () => {
  test("synth's object, file and warning counts with the committed (empty) lock: dev's transcript, and staging's refusal", () => {
    const dev = counts('dev');
    expect(flat).toContain(`$ npx mlops synth --env dev dev: ${dev.objects} objects in ${dev.files} files, ${dev.warnings} policy warning(s)`);
    expect(flat).toContain(`The ${dev.warnings} warnings of dev are \`image-digest\``);
    let unpinned: UnpinnedImagesError | undefined;
    try {
      counts('staging');
    } catch (err) {
      if (!(err instanceof UnpinnedImagesError)) throw err;
      unpinned = err;
    }
    expect(unpinned).toBeDefined();
    expect(flat).toContain(`but ${unpinned!.images.length} are not, in the environment or in`);
    expect(flat).toContain(`mlops: environment "staging": ${unpinned!.images.length} image(s) not pinned by digest; nothing was written`);
  });

  test('synth counts of every environment with a complete lock', () => {
    const lock = testImageLockFile();
    const figures = ENVIRONMENT_NAMES.map((name) => {
      const c = counts(name, lock);
      expect(c.warnings).toBe(0); // "no warning left"
      return `\`${name}: ${c.objects} objects in ${c.files} files\``;
    });
    expect(flat).toContain(`${figures.join(', ')}, no warning left`);
  });

  test('the policy rules tables (Kubernetes, AWS) list every rule once, with its severity and description', () => {
    const rows = new Map(
      [...section('Policies').matchAll(/^\| `([a-z0-9-]+)` \| ((?:error|warning)[^|]*) \| ([^|]+) \|$/gm)].map((m) => [
        m[1],
        { severity: m[2].trim(), description: m[3].trim() },
      ]),
    );
    const rules = [...kubeRules, ...awsRules];
    for (const rule of rules) {
      const row = rows.get(rule.id);
      expect({ id: rule.id, row: row && { severity: /^(error|warning)/.exec(row.severity)![0], description: row.description } }).toEqual({
        id: rule.id,
        row: { severity: rule.severity, description: rule.description },
      });
    }
    const tableIds = [...section('Policies').matchAll(/^\| `([a-z0-9-]+)` \| (error|warning)\b/gm)].map((m) => m[1]);
    expect(tableIds.sort()).toEqual(rules.map((r) => r.id).sort());
  });

  test('tracking serve: the Flags bullet names only real flags with their env vars; every flag is documented in the server sections', () => {
    const serve = command(['tracking', 'serve']);
    const bullet = /^- \*\*Flags\*\*[\s\S]*?(?=^- \*\*)/m.exec(section('Tracking server'))![0];
    const flags = longFlags(serve);
    // "named like MLflow's `--allowed-hosts`" names MLflow's flag, not one of ours.
    for (const f of flagsIn(bullet.replace(/MLflow's `--[a-z-]+`/g, ''))) expect({ flag: f, known: flags.includes(f) }).toEqual({ flag: f, known: true });
    for (const m of bullet.matchAll(/`(--[a-z-]+)` \(`([A-Z_]+)`/g)) {
      expect({ flag: m[1], env: m[2] }).toEqual({ flag: m[1], env: serve.options.find((o) => o.long === m[1])!.envVar });
    }
    const documented = flagsIn(section('Tracking server') + section('Model registry'));
    for (const f of flags) expect({ flag: f, documented: documented.includes(f) }).toEqual({ flag: f, documented: true });
  });

  test("mlops serve: the flag table is exactly the command's options, with their env vars", () => {
    const serve = command(['serve']);
    const rows = [...section('Inference server').matchAll(/^\| `(?:-\w, )?(--[a-z-]+)` \| (`[A-Z_]+`|—) \|/gm)].map((m) => [
      m[1],
      m[2] === '—' ? undefined : m[2].slice(1, -1),
    ]);
    expect(rows).toEqual(serve.options.filter((o) => o.long !== '--help').map((o) => [o.long, o.envVar]));
  });

  test('the tracking benchmark table and its targets line are the recorded run, bench/recorded/tracking.json, as bench/tracking/readme-table.ts renders them', () => {
    const recorded = JSON.parse(fs.readFileSync(path.join(repoRoot, 'bench', 'recorded', 'tracking.json'), 'utf8')) as ResultsFile;
    expect(readme).toContain(trackingTable(recorded));
    expect(flat).toContain(trackingTargets(recorded));
  });

  test('the trace benchmark block is the recorded run, bench/recorded/traces.json, as bench/tracking/readme-table.ts --traces renders it', () => {
    const recorded = JSON.parse(fs.readFileSync(path.join(repoRoot, 'bench', 'recorded', 'traces.json'), 'utf8')) as ResultsFile;
    expect(readme).toContain(tracesBlock(recorded));
  });

  test('the inference benchmark blocks are the recorded run, bench/recorded/inference.json, as bench/inference/readme-tables.ts renders them', () => {
    const recorded = JSON.parse(fs.readFileSync(RECORDED, 'utf8')) as InferenceRecord;
    for (const block of inferenceBlocks(recorded)) expect(readme).toContain(block);
  });

  test('the scale benchmark blocks are the recorded run, bench/recorded/scale.json and its plans, as bench/scale/readme-tables.ts renders them', () => {
    const recorded = JSON.parse(fs.readFileSync(SCALE_RECORDED, 'utf8')) as ScaleRecord;
    for (const block of scaleBlocks(recorded)) expect(readme).toContain(block);
  });

  test("the registry suites' test count in the README's Tests block is what jest collects", () => {
    const m = /^npx jest --maxWorkers=1 (test\/registry) +# (\d+) tests,/m.exec(readme);
    expect(m).not.toBeNull();
    // A name no test has: jest collects (and skips) every test without running one.
    // The report goes to a file: a suite that skips (a tool missing here) prints its reason on stdout too.
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-jest-count-')), 'report.json');
    spawnSync(
      process.execPath,
      [path.join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js'), m![1], '-t', 'no test is named this', '--json', `--outputFile=${report}`],
      { cwd: repoRoot, encoding: 'utf8', timeout: 170_000 },
    );
    expect((JSON.parse(fs.readFileSync(report, 'utf8')) as { numTotalTests: number }).numTotalTests).toBe(Number(m![2]));
    fs.rmSync(path.dirname(report), { recursive: true, force: true });
  }, 180_000);

  test("mlops local: the Options sentence and --train are exactly the command's options", () => {
    const local = section('The local platform');
    const sentence = /Options: [\s\S]*?\.\n/.exec(local)![0];
    expect([...flagsIn(sentence), '--train'].sort()).toEqual(longFlags(command(['local'])).sort());
    expect(local).toContain('`--train` trains a new');
  });

  test('distributed training and tuning: the fields table lists every field of both schemas; the tune transcript uses real flags and agrees with itself', () => {
    const text = section('Distributed training and hyperparameter search');
    const documented = new Set([...text.matchAll(/`training\.(distributed|tuning)\.([a-zA-Z]+)`/g)].map((m) => `${m[1]}.${m[2]}`));
    for (const name of ['maxTrials', 'parallelTrials', 'maxFailedTrials']) if (text.includes(`\`${name}\``)) documented.add(`tuning.${name}`);
    const fields = [
      ...Object.keys(distributedTraining.shape).map((k) => `distributed.${k}`),
      ...Object.keys(hyperparameterTuning.shape).map((k) => `tuning.${k}`),
    ];
    expect([...documented].sort()).toEqual(fields.sort());
    const transcript = /^\$ npx mlops (tune run .*)$([\s\S]*?)^```/m.exec(text);
    expect(transcript).not.toBeNull();
    const run = command(['tune', 'run']);
    for (const flag of flagsIn(transcript![1])) expect(longFlags(run)).toContain(flag);
    const trials = Number(/--trials (\d+)/.exec(transcript![1])![1]);
    expect(transcript![2].match(/^trial \d+: .* → auc=0\.\d{4}$/gm)).toHaveLength(trials);
    const best = Math.max(...[...transcript![2].matchAll(/→ auc=(0\.\d{4})$/gm)].map((m) => Number(m[1])));
    expect(transcript![2]).toContain(`best of ${trials} trials (0 failed): run `);
    expect(transcript![2]).toMatch(new RegExp(`\\(0 failed\\): run [0-9a-f]{32} auc=${best.toFixed(4)}\n`));
  });
});
