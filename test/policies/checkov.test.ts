import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { commandAvailable, describeWithTool } from '../helpers/tools';
import { checkovPath, runCheckov } from '../../policies/checkov';
import { environmentVariants, platformSynth } from '../../policies/platform';
import { loadEnvironment } from '../../environments';
import { renderEnvironment } from '../../stacks/gitops';
import { deviationAnnotations, NO_CPU_LIMIT } from '../../constructs/deviations';
import type { KubeObject } from '../../policies';
import { pinnedForTest } from '../helpers/image-lock';

jest.setTimeout(180_000);

function writeSet(dir: string, objects: unknown[]): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'objects.k8s.yaml'), objects.map((o) => stringify(o, { version: '1.1' })).join('---\n'));
}

/*
 * checkov 3.3 (PyPI, in .venv-checkov: `.ci/run` installs it) over the synthesized platform with its
 * default Kubernetes checks. Every deliberate departure is a `checkov.io/skip<N>` annotation on its object,
 * so nothing may fail; checkov must report each skip with the annotation's reason.
 */
describeWithTool('checkov over the synthesized platform', commandAvailable(checkovPath(), ['--version'], 'checkov'), () => {
  let root: string;
  beforeAll(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-checkov-'))));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('every environment in both secrets modes, images pinned as synth pins them: no failed check, every skip with its reason', () => {
    const synth = platformSynth()!;
    for (const { label, env } of environmentVariants())
      writeSet(
        path.join(root, 'all', label.replace(/[^a-z0-9-]+/gi, '-')),
        synth(pinnedForTest(env)).flatMap((f) => f.objects),
      );
    const r = runCheckov(path.join(root, 'all'));
    expect(r.passed).toBeGreaterThan(1000);
    expect(r.failed).toEqual([]);
    expect(r.skipped.length).toBeGreaterThan(0);
    for (const s of r.skipped) expect([s.check, s.resource, s.reason.length > 40]).toEqual([s.check, s.resource, true]);
    // What is skipped, and nothing else: CPU limits, pull policy, env-only secrets, the postgres uid, the device plugin.
    expect([...new Set(r.skipped.map((s) => s.check))].sort()).toEqual(
      ['CKV_K8S_11', 'CKV_K8S_15', 'CKV_K8S_23', 'CKV_K8S_35', 'CKV_K8S_40', 'CKV_K8S_8', 'CKV_K8S_9'].sort(),
    );
  });

  test('dev with the committed (empty) image lock: the only failures are the unpinned images its image-digest warnings name', () => {
    const rendered = renderEnvironment(loadEnvironment('dev'));
    writeSet(
      path.join(root, 'dev'),
      rendered.files.flatMap((f) => f.objects),
    );
    const r = runCheckov(path.join(root, 'dev'));
    expect([...new Set(r.failed.map((f) => f.check))]).toEqual(['CKV_K8S_43']);
    const warned = new Set(rendered.violations.filter((v) => v.ruleId === 'image-digest' && v.severity === 'warning').map((v) => v.object));
    expect(new Set(r.failed.map((f) => f.resource.replace(/^([^.]+)\.([^.]+)\.(.+)$/, '$1/$2/$3')))).toEqual(warned);
  });

  test('the annotation is what checkov honours: without it the CPU limit finding is back', () => {
    const objects = renderEnvironment(pinnedForTest(loadEnvironment('dev'))).files.flatMap((f) => f.objects);
    const tracking = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tracking') as KubeObject;
    const annotations = Object.fromEntries(
      Object.entries(tracking.metadata.annotations ?? {}).filter(([k, v]) => !(k.startsWith('checkov.io/skip') && v.startsWith('CKV_K8S_11='))),
    );
    tracking.metadata.annotations = annotations;
    writeSet(path.join(root, 'stripped'), objects);
    expect(runCheckov(path.join(root, 'stripped')).failed.map((f) => f.check)).toEqual(['CKV_K8S_11']);
    // Written back by deviationAnnotations, it is skipped again with the reason.
    tracking.metadata.annotations = deviationAnnotations([NO_CPU_LIMIT], annotations);
    writeSet(path.join(root, 'restored'), objects);
    const r = runCheckov(path.join(root, 'restored'));
    expect(r.failed).toEqual([]);
    expect(r.skipped.find((s) => s.check === 'CKV_K8S_11')?.reason).toBe(NO_CPU_LIMIT.reason);
  });
});
