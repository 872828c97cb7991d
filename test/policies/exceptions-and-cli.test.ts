import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { checkManifests, EXCEPTIONS_ANNOTATION, formatViolations, hasErrors } from '../../policies';
import { assertPolicyClean, PolicyViolationError } from '../../policies/synth-gate';
import { loadEnvironment } from '../../environments';
import { runMlops } from '../helpers/cli';
import { compliantSet, get } from './fixtures';

describe('exceptions', () => {
  test('an annotation waives one rule on one object, with its reason kept in the output', () => {
    const objects = compliantSet();
    const cm = get(objects, 'ConfigMap', 'settings');
    cm.data.DATABASE_URL = 'postgresql://mlflow:hunter2@db:5432/mlflow';
    cm.metadata.annotations = { [EXCEPTIONS_ANNOTATION]: JSON.stringify({ 'no-secret-in-configmap': 'local demo database, throwaway password' }) };
    const violations = checkManifests(objects, { mode: 'gitops' });
    expect(violations).toEqual([
      expect.objectContaining({
        ruleId: 'no-secret-in-configmap',
        object: 'ConfigMap/apps/settings',
        exception: { reason: 'local demo database, throwaway password' },
      }),
    ]);
    expect(hasErrors(violations)).toBe(false);
    expect(formatViolations(violations)).toContain('reason: local demo database, throwaway password');
  });

  test('an exception for another object or another rule does not waive', () => {
    const objects = compliantSet();
    get(objects, 'ConfigMap', 'settings').data.API_TOKEN = 'abc';
    const violations = checkManifests(
      objects,
      { mode: 'gitops' },
      {
        exceptions: [
          { rule: 'no-secret-in-configmap', object: 'ConfigMap/apps/other', reason: 'x' },
          { rule: 'job-ttl', object: 'ConfigMap/apps/settings', reason: 'x' },
        ],
      },
    );
    expect(hasErrors(violations)).toBe(true);
  });

  test('a malformed exceptions annotation (or one without a reason) is itself an error', () => {
    for (const value of ['{not json', JSON.stringify({ 'job-ttl': '' }), '["job-ttl"]']) {
      const objects = compliantSet();
      get(objects, 'Job', 'train').metadata.annotations = { [EXCEPTIONS_ANNOTATION]: value };
      const violations = checkManifests(objects, { mode: 'gitops' });
      expect(violations).toEqual([expect.objectContaining({ ruleId: 'policy-exception-valid', object: 'Job/apps/train', severity: 'error' })]);
    }
  });
});

describe('mlops policy check', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-policy-'));
    fs.mkdirSync(path.join(dir, 'good', 'nested'), { recursive: true });
    const objects = compliantSet();
    // Multi-document YAML for half, JSON (a List) for the rest, in a nested directory: one set checked together.
    fs.writeFileSync(
      path.join(dir, 'good', 'a.yaml'),
      objects
        .slice(0, 8)
        .map((o) => stringify(o))
        .join('---\n'),
    );
    fs.writeFileSync(path.join(dir, 'good', 'nested', 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects.slice(8) }));
    fs.writeFileSync(path.join(dir, 'good', 'README.md'), 'not a manifest');
    const bad = compliantSet();
    get(bad, 'Deployment', 'web').spec.template.spec.containers[0].image = 'ghcr.io/acme/web:latest';
    get(bad, 'ConfigMap', 'settings').data.DB_PASSWORD = 'hunter2';
    fs.writeFileSync(path.join(dir, 'bad.yaml'), bad.map((o) => stringify(o)).join('---\n'));
    fs.writeFileSync(
      path.join(dir, 'exceptions.yaml'),
      stringify([{ rule: 'no-secret-in-configmap', object: 'ConfigMap/apps/settings', reason: 'test fixture' }]),
    );
    fs.writeFileSync(path.join(dir, 'broken.yaml'), 'kind: Service\nmetadata: [unclosed\n');
    fs.writeFileSync(path.join(dir, 'noname.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a compliant directory (YAML + JSON List, recursively) passes with exit 0', () => {
    const r = runMlops(['policy', 'check', path.join(dir, 'good')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('0 error(s), 0 warning(s), 0 excepted');
    expect(r.status).toBe(0);
  });

  test('violations are printed with rule, object, field and fix; exit 1', () => {
    const r = runMlops(['policy', 'check', path.join(dir, 'bad.yaml')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/error +image-tag-pinned {2}Deployment\/apps\/web {2}spec\.template\.spec\.containers\[0\]\.image: .*latest/);
    expect(r.stdout).toMatch(/error +no-secret-in-configmap {2}ConfigMap\/apps\/settings {2}data\.DB_PASSWORD/);
    expect(r.stdout).toContain('fix: Reference the image');
  });

  test('--format json, and an exceptions file that waives one violation (still shown)', () => {
    const r = runMlops(['policy', 'check', path.join(dir, 'bad.yaml'), '--format', 'json', '--exceptions', path.join(dir, 'exceptions.yaml')]);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.summary).toEqual({ errors: 1, warnings: 1, excepted: 1 });
    expect(out.violations).toEqual(
      expect.arrayContaining([expect.objectContaining({ ruleId: 'no-secret-in-configmap', exception: { reason: 'test fixture' } })]),
    );
  });

  test('when every error is excepted the check passes', () => {
    const exc = path.join(dir, 'all.yaml');
    fs.writeFileSync(
      exc,
      stringify([
        { rule: 'no-secret-in-configmap', object: 'ConfigMap/apps/settings', reason: 'test fixture' },
        { rule: 'image-tag-pinned', object: 'Deployment/apps/web', reason: 'test fixture' },
      ]),
    );
    expect(runMlops(['policy', 'check', path.join(dir, 'bad.yaml'), '--exceptions', exc]).status).toBe(0);
  });

  test.each([
    [['broken.yaml'], /^mlops: .*broken\.yaml: invalid YAML/],
    [['noname.yaml'], /^mlops: .*noname\.yaml: missing metadata\.name/],
    [['missing.yaml'], /^mlops: .*missing\.yaml: no such file or directory/],
  ])('bad input %j: one line naming the file, exit 1', (files, message) => {
    const r = runMlops(['policy', 'check', ...files.map((f) => path.join(dir, f))]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('bad options and a bad exceptions file are one-line errors', () => {
    const fmt = runMlops(['policy', 'check', path.join(dir, 'good'), '--format', 'xml']);
    expect(fmt.status).toBe(1);
    expect(fmt.stderr).toBe('mlops: --format must be text or json, got "xml"\n');
    const exc = path.join(dir, 'bad-exc.yaml');
    fs.writeFileSync(exc, stringify([{ rule: 'job-ttl', object: 'Job/apps/train' }]));
    const r = runMlops(['policy', 'check', path.join(dir, 'good'), '--exceptions', exc]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mlops: .*bad-exc\.yaml: .*reason/);
  });
});

describe('synth gate', () => {
  test('passes a clean set (returning its warnings/exceptions) and throws with every violation listed otherwise', () => {
    const env = loadEnvironment('staging');
    expect(assertPolicyClean(compliantSet(), env)).toEqual([]);
    const objects = compliantSet();
    get(objects, 'Job', 'train').spec.backoffLimit = undefined;
    let thrown: unknown;
    try {
      assertPolicyClean(objects, env);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PolicyViolationError);
    expect((thrown as Error).message).toMatch(
      /^environment "staging": synthesized objects violate the policies; nothing was written:\nerror +job-backoff-limit {2}Job\/apps\/train {2}spec\.backoffLimit/,
    );
  });
});
