import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { commandAvailable, describeWithTool } from '../helpers/tools';
import { auditKubeScoreIgnores, KUBE_SCORE_ALLOWLIST, KUBE_SCORE_FLAGS, runKubeScore, toolPath, unexplained } from '../../policies/external-linters';
import { environmentVariants, platformSynth } from '../../policies/platform';
import { deviationAnnotations, workloadDeviations } from '../../constructs/deviations';
import type { KubeObject } from '../../policies';
import { compliantSet, get } from './fixtures';
import { pinnedForTest } from '../helpers/image-lock';

function writeSet(dir: string, objects: unknown[]): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'objects.k8s.yaml'), objects.map((o) => stringify(o)).join('---\n'));
}

/** The fixture with the platform's deviation annotations written as the constructs write them. */
function annotated(objects: KubeObject[]): KubeObject[] {
  return objects.map((o) => {
    const d = workloadDeviations(o, {});
    return d.length ? { ...o, metadata: { ...o.metadata, annotations: deviationAnnotations(d, o.metadata.annotations ?? {}) } } : o;
  });
}

describeWithTool('kube-score cross-check', commandAvailable(toolPath('kube-score'), ['version'], 'kube-score'), () => {
  let root: string;
  beforeAll(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-kube-score-'))));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('runs with kube-score defaults: no flags, no allowlist', () => {
    expect(KUBE_SCORE_FLAGS).toEqual([]);
    expect(KUBE_SCORE_ALLOWLIST).toEqual({});
  });

  test("objects passing the project policies differ from kube-score's defaults only where a native kube-score/ignore on the object says so", () => {
    writeSet(path.join(root, 'plain'), compliantSet());
    const plain = runKubeScore(path.join(root, 'plain'));
    // Without the annotations kube-score reports exactly the departures (IfNotPresent pulls, spread without anti-affinity).
    expect([...new Set(plain.map((f) => f.check))].sort()).toEqual(['container-image-pull-policy', 'deployment-has-host-podantiaffinity']);
    writeSet(path.join(root, 'annotated'), annotated(compliantSet()));
    expect(runKubeScore(path.join(root, 'annotated'))).toEqual([]);
    expect(auditKubeScoreIgnores(path.join(root, 'annotated'))).toEqual([]);
  });

  test('kube-score agrees with the policies on a real problem (a Service selecting no pod), annotations or not', () => {
    const objects = annotated(compliantSet());
    get(objects, 'Service', 'web').spec.selector = { 'app.kubernetes.io/name': 'nobody' };
    writeSet(path.join(root, 'dangling'), objects);
    expect(unexplained(runKubeScore(path.join(root, 'dangling')))).toEqual([
      expect.objectContaining({ check: 'service-targets-pod', object: 'Service/apps/web' }),
    ]);
  });

  test('an ignore annotation hiding more than its reason covers is caught: container-resources may hide the CPU limit only', () => {
    const objects = annotated(compliantSet());
    const web = get(objects, 'Deployment', 'web');
    delete web.spec.template.spec.containers[0].resources.limits.cpu;
    web.metadata.annotations = deviationAnnotations(workloadDeviations(web, {}));
    writeSet(path.join(root, 'cpu-only'), objects);
    expect(auditKubeScoreIgnores(path.join(root, 'cpu-only'))).toEqual([]);
    delete web.spec.template.spec.containers[0].resources.limits.memory;
    writeSet(path.join(root, 'memory-too'), objects);
    // kube-score's own run is silent (the whole check is ignored); the audit is not.
    expect(unexplained(runKubeScore(path.join(root, 'memory-too')))).toEqual([]);
    expect(auditKubeScoreIgnores(path.join(root, 'memory-too'))).toEqual([
      expect.objectContaining({ check: 'container-resources', object: 'Deployment/apps/web', message: expect.stringContaining('Memory limit is not set') }),
    ]);
  });

  // The platform's own output, as synth writes it (images pinned; here by the loopback registry's test digests).
  test('the synthesized platform (every environment, both secrets modes) has no kube-score finding, and its ignores hide only what they say', () => {
    const synth = platformSynth();
    expect(synth).toBeDefined();
    const failing = environmentVariants().flatMap(({ label, env }) => {
      const dir = path.join(root, label.replace(/[^a-z0-9-]+/gi, '-'));
      writeSet(
        dir,
        synth!(pinnedForTest(env)).flatMap((f) => f.objects),
      );
      return [...unexplained(runKubeScore(dir)), ...auditKubeScoreIgnores(dir)].map((f) => `${label}: ${f.check} ${f.object}: ${f.message}`);
    });
    expect(failing).toEqual([]);
  });
});
