import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadEnvironment, type EnvironmentConfig } from '../../environments';
import { PolicyViolationError } from '../../policies/synth-gate';
import { readEnvironmentRecord } from '../../environments/record';
import { writeSynth } from '../../stacks/gitops';
import { repoRoot, runMlops } from '../helpers/cli';
import { testImageLockFile } from '../helpers/image-lock';

/** Every file under `dir`, relative, sorted (hidden staging directories included, so leftovers show). */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

describe('mlops synth', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-synth-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('--env all writes dist/<env>/NN-<part>.k8s.yaml for every environment, and the Argo CD Application apart', () => {
    const out = path.join(root, 'dist');
    // staging and prod require digests: pinned with the loopback registry's test lock.
    const r = runMlops(['synth', '--env', 'all', '--out', out, '--image-lock', testImageLockFile()]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^dev: \d+ objects in \d+ files/m);
    const files = tree(out);
    expect(files).toContain('dev/00-namespaces.k8s.yaml');
    expect(files).toContain('staging/argocd/application.k8s.yaml');
    expect(files.filter((f) => f.startsWith('prod/argocd'))).toEqual([]); // prod is deployed by pulumi up (Pulumi-made Secrets)
    expect(files.filter((f) => f.startsWith('dev/argocd'))).toEqual([]); // dev has no gitops settings
    // Each folder records the environment as rendered (images pinned), which `mlops policy check` reads.
    for (const env of ['dev', 'staging', 'prod']) {
      expect(files).toContain(`${env}/mlops-environment`);
      const record = readEnvironmentRecord(path.join(out, env))!;
      expect(record.environment.name).toBe(env);
      expect(record.policyMode).toBe('gitops');
      if (env !== 'dev') expect(record.environment.tracking.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    }
    for (const f of files.filter((name) => !name.endsWith('/mlops-environment'))) {
      expect(f).toMatch(/^(dev|staging|prod)\/(\d{2}-[a-z0-9-]+|argocd\/application)\.k8s\.yaml$/);
      // Every document parses as YAML 1.1 too (what kubectl reads), without errors.
      const docs = parseAllDocuments(fs.readFileSync(path.join(out, f), 'utf8'), { version: '1.1' });
      for (const d of docs) expect(d.errors).toEqual([]);
    }
  });

  it('an invalid environment fails with one line naming the field, and writes nothing', () => {
    const file = path.join(root, 'broken.yaml');
    const dev = JSON.parse(JSON.stringify(loadEnvironment('dev'))) as Record<string, any>;
    dev.tracking.image = 'registry.example.com/tracking:latest';
    fs.writeFileSync(file, JSON.stringify(dev));
    const out = path.join(root, 'dist');
    const r = runMlops(['synth', '--env', file, '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^mlops: invalid environment .*broken\.yaml: tracking\.image: image ".*:latest" uses the mutable tag "latest"/);
    expect(tree(out)).toEqual([]);
  });

  it('an unknown environment name is a one-line usage error', () => {
    const r = runMlops(['synth', '--env', 'qa', '--out', path.join(root, 'dist')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('mlops: --env: "qa" is neither dev, staging, prod, all, nor a readable environment file\n');
  });

  it('a policy violation in any environment writes nothing at all, for no environment', () => {
    // Configuration that slipped past validation (e.g. built in code): the policy gate is the last line.
    const dev = loadEnvironment('dev');
    const bad: EnvironmentConfig = { ...dev, tracking: { ...dev.tracking, image: 'registry.example.com/tracking:latest' } };
    const out = path.join(root, 'dist');
    fs.mkdirSync(path.join(out, 'dev'), { recursive: true });
    fs.writeFileSync(path.join(out, 'dev', 'previous.k8s.yaml'), 'kept: true\n');
    let error: unknown;
    try {
      writeSynth([loadEnvironment('staging'), bad], out, { imageLock: testImageLockFile() });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PolicyViolationError);
    expect((error as Error).message).toMatch(/image-tag-pinned.*Deployment\/mlops-platform\/tracking/s);
    // The previous output stays untouched; staging (valid) was not written either; no staging directory remains.
    expect(tree(out)).toEqual(['dev/previous.k8s.yaml']);
  });

  it('`npx cdk8s synth` (cdk8s-cli with cdk8s.yaml) writes exactly what `mlops synth --env all` writes', () => {
    const viaMlops = path.join(root, 'mlops');
    const viaCdk8s = path.join(root, 'cdk8s');
    expect(runMlops(['synth', '--env', 'all', '--out', viaMlops], { env: { MLOPS_IMAGE_LOCK: testImageLockFile() } }).status).toBe(0);
    const r = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'cdk8s'), ['synth', '--no-check-upgrade', '--output', viaCdk8s], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, MLOPS_IMAGE_LOCK: testImageLockFile() },
    });
    expect([r.status, r.stderr]).toEqual([0, '']);
    const files = tree(viaMlops);
    expect(tree(viaCdk8s)).toEqual(files);
    for (const f of files) expect([f, fs.readFileSync(path.join(viaCdk8s, f), 'utf8')]).toEqual([f, fs.readFileSync(path.join(viaMlops, f), 'utf8')]);
  });
});
