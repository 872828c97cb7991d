import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { repoRoot, runMlops } from '../helpers/cli';
import { testImageLockFile } from '../helpers/image-lock';
import { compliantSet, get } from './fixtures';

jest.setTimeout(180_000);

/** The `npx mlops …` lines of the README's "## Policies" bash block, comments dropped, in order. */
function readmePolicyCommands(): string[][] {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Policies'));
  const block = section && /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README: no bash block in "## Policies"');
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.startsWith('npx mlops '))
    .map((l) => {
      // Plain words only: a quote or a shell operator would need a shell, which these examples do not.
      if (/["'`$|&;<>]/.test(l)) throw new Error(`README example needs a shell: ${l}`);
      return l.split(/\s+/).slice(2);
    });
}

/**
 * The README's policy examples, run as printed in a directory holding what they name: `dist/` from the
 * synth line (staging and prod pinned with the test image lock through MLOPS_IMAGE_LOCK, as the README
 * says), a team's `my-team/manifests.yaml`, manifests in `out/` that synth did not write, and their
 * `policy-exceptions.yaml` waiving the one violation they carry.
 */
describe("the README's policy-check examples", () => {
  let cwd: string;
  const env = { MLOPS_IMAGE_LOCK: testImageLockFile() };
  const commands = readmePolicyCommands();
  beforeAll(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-readme-policy-'));
    fs.mkdirSync(path.join(cwd, 'my-team'));
    fs.writeFileSync(
      path.join(cwd, 'my-team', 'manifests.yaml'),
      compliantSet()
        .map((o) => stringify(o))
        .join('---\n'),
    );
    fs.mkdirSync(path.join(cwd, 'out'));
    const outside = compliantSet();
    get(outside, 'ConfigMap', 'settings').data.DB_PASSWORD = 'rotated-nightly';
    fs.writeFileSync(path.join(cwd, 'out', 'app.yaml'), outside.map((o) => stringify(o)).join('---\n'));
    fs.writeFileSync(
      path.join(cwd, 'policy-exceptions.yaml'),
      stringify([{ rule: 'no-secret-in-configmap', object: 'ConfigMap/apps/settings', reason: 'a throwaway value rotated nightly' }]),
    );
  });
  afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

  test('the block holds synth first, then the policy checks', () => {
    expect(commands[0].slice(0, 1)).toEqual(['synth']);
    expect(commands.slice(1).every((c) => c[0] === 'policy' && c[1] === 'check')).toBe(true);
    expect(commands.length).toBeGreaterThanOrEqual(4);
  });

  test('each command exits 0 as printed, and dist/ is checked and reported per environment', () => {
    for (const args of commands) {
      const r = runMlops(args, { cwd, env, timeoutMs: 120_000 });
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 0, stderr: '' });
      if (args.join(' ') === 'policy check dist/') {
        for (const name of ['dev', 'staging', 'prod'])
          expect(r.stdout).toContain(`\ndist/${name} (environment ${name}, mode gitops):\n`.slice(name === 'dev' ? 1 : 0));
        expect(r.stdout).toMatch(/\ntotal: 0 error\(s\), \d+ warning\(s\), \d+ excepted in 3 set\(s\)\n$/);
      }
      if (args.includes('--format')) {
        const out = JSON.parse(r.stdout) as { groups: Array<{ dir: string; environment: string; summary: { errors: number } }> };
        expect(out.groups.map((g) => [g.dir, g.environment, g.summary.errors])).toEqual([
          [path.join('dist', 'dev'), 'dev', 0],
          [path.join('dist', 'prod'), 'prod', 0],
          [path.join('dist', 'staging'), 'staging', 0],
        ]);
      }
      if (args.includes('--exceptions')) {
        expect(r.stdout).toMatch(/^out \(environment staging, mode gitops\):|^manifests outside any synthesized folder \(environment staging, mode gitops\):/);
        expect(r.stdout).toMatch(
          /excepted +no-secret-in-configmap {2}ConfigMap\/apps\/settings {2}data\.DB_PASSWORD: .*\n +reason: a throwaway value rotated nightly/,
        );
      }
    }
  });

  test("without dev's record, dev's own output fails as one unscoped set (no TLS on its Ingresses): the record is what carries the allowances", () => {
    const copy = path.join(cwd, 'dev-copy');
    fs.cpSync(path.join(cwd, 'dist', 'dev'), copy, { recursive: true });
    fs.rmSync(path.join(copy, 'mlops-environment'));
    const r = runMlops(['policy', 'check', 'dev-copy'], { cwd });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^error +ingress-tls {2}Ingress\//m);
  });

  test('--env naming another environment than a folder was synthesized for is refused in one line', () => {
    const r = runMlops(['policy', 'check', 'dist/', '--env', 'staging'], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `mlops: --env staging, but ${path.join('dist', 'dev')} was synthesized for "dev" (${path.join('dist', 'dev', 'mlops-environment')}); check them separately\n`,
    );
  });

  test('a tampered record is a one-line error naming it, not a silent fallback', () => {
    const copy = path.join(cwd, 'tampered');
    fs.cpSync(path.join(cwd, 'dist', 'staging'), copy, { recursive: true });
    const record = JSON.parse(fs.readFileSync(path.join(copy, 'mlops-environment'), 'utf8'));
    record.environment.ingress.tls.mode = 'none'; // staging is no local cluster: the schema refuses it
    fs.writeFileSync(path.join(copy, 'mlops-environment'), JSON.stringify(record));
    const r = runMlops(['policy', 'check', 'tampered'], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mlops: .*tampered\/mlops-environment: .*ingress\.tls\.mode: "none" is only allowed for a local cluster\n$/);
  });
});
