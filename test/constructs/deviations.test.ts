import { ENVIRONMENT_NAMES } from '../../environments';
import { checkManifests, EXCEPTIONS_ANNOTATION, type KubeObject } from '../../policies';
import { podTemplates } from '../../policies/kube/workloads';
import { synthEnvironment } from '../../stacks/gitops';
import { CACHED_PULLS, deviationAnnotations, NO_CPU_LIMIT, workloadDeviations } from '../../constructs/deviations';
import { pinnedEnvironment } from '../helpers/image-lock';
import { compliantSet, get } from '../policies/fixtures';

const workloads = (objects: KubeObject[]) => podTemplates(objects).map(({ obj }) => obj);
const checkovSkips = (o: KubeObject) =>
  Object.entries(o.metadata.annotations ?? {})
    .filter(([k]) => /^checkov\.io\/skip\d+$/.test(k))
    .map(([, v]) => v.split('=')[0]);

describe.each(ENVIRONMENT_NAMES)('%s: deliberate departures are recorded on each workload', (name) => {
  const env = pinnedEnvironment(name);
  const objects = synthEnvironment(env).flatMap((f) => f.objects);
  const violations = checkManifests(objects, { mode: 'gitops', environment: env });

  it('no CPU limit anywhere, and each workload says why — to the policies, checkov and kube-score alike', () => {
    expect(workloads(objects).length).toBeGreaterThan(5);
    for (const w of workloads(objects)) {
      const exceptions = JSON.parse(w.metadata.annotations?.[EXCEPTIONS_ANNOTATION] ?? '{}');
      expect([w.metadata.name, exceptions['cpu-limit']]).toEqual([w.metadata.name, NO_CPU_LIMIT.reason]);
      expect(checkovSkips(w)).toEqual(expect.arrayContaining(['CKV_K8S_11', 'CKV_K8S_15']));
      expect(w.metadata.annotations?.['kube-score/ignore']?.split(',')).toEqual(expect.arrayContaining(['container-resources', 'container-image-pull-policy']));
    }
    // The policy engine sees the exceptions: every cpu-limit violation is excepted with the reason, none is left.
    const cpu = violations.filter((v) => v.ruleId === 'cpu-limit');
    expect(cpu.length).toBeGreaterThan(0);
    expect(cpu.filter((v) => v.exception?.reason !== NO_CPU_LIMIT.reason)).toEqual([]);
  });

  it('every Secret still in env is excepted with the reason for each variable; none goes unexplained', () => {
    const secretEnv = violations.filter((v) => v.ruleId === 'secrets-as-files');
    expect(secretEnv.filter((v) => !v.exception)).toEqual([]);
    for (const v of secretEnv) {
      const variable = /Secret value (\S+) from env/.exec(v.message)![1];
      expect(v.exception!.reason).toContain(variable);
    }
    expect(secretEnv.some((v) => v.exception!.reason.includes('MLFLOW_TRACKING_PASSWORD: the MLflow client'))).toBe(true);
    // The tracking server's admin password is a file: it appears in no exception.
    expect(secretEnv.some((v) => /MLFLOW_AUTH_ADMIN_PASSWORD/.test(v.message))).toBe(false);
  });
});

describe('deviation annotations', () => {
  it("merge with an object's own exceptions and skips, renumbering checkov skips in check order", () => {
    const existing = {
      [EXCEPTIONS_ANNOTATION]: JSON.stringify({ 'no-host-path': 'socket' }),
      'kube-score/ignore': 'container-security-context-user-group-id',
      'checkov.io/skip1': 'CKV_K8S_40=uid 0',
      other: 'kept',
    };
    const out = deviationAnnotations([CACHED_PULLS, NO_CPU_LIMIT], existing);
    expect(JSON.parse(out[EXCEPTIONS_ANNOTATION])).toEqual({ 'cpu-limit': NO_CPU_LIMIT.reason, 'no-host-path': 'socket' });
    expect(out['kube-score/ignore']).toBe('container-image-pull-policy,container-resources,container-security-context-user-group-id');
    expect([out['checkov.io/skip1'], out['checkov.io/skip2'], out['checkov.io/skip3']].map((v) => v.split('=')[0])).toEqual([
      'CKV_K8S_11',
      'CKV_K8S_15',
      'CKV_K8S_40',
    ]);
    expect(out['checkov.io/skip3']).toBe('CKV_K8S_40=uid 0');
    expect(out.other).toBe('kept');
  });

  it('refuse a reason checkov could not parse (it splits on "=") or an empty one', () => {
    expect(() => deviationAnnotations([{ checkov: ['CKV_K8S_11'], reason: 'limits=none' }])).toThrow(/free of "="/);
    expect(() => deviationAnnotations([{ rule: 'cpu-limit', reason: ' ' }])).toThrow(/non-empty/);
  });

  it('a Secret env var without a recorded reason is not excepted: the policy keeps warning', () => {
    const web = get(compliantSet(), 'Deployment', 'web');
    web.spec.template.spec.containers[0].env.push({ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } });
    expect(workloadDeviations(web, {}).some((d) => d.rule === 'secrets-as-files')).toBe(false);
    expect(workloadDeviations(web, { API_TOKEN: 'the client reads env only.' }).find((d) => d.rule === 'secrets-as-files')?.reason).toContain(
      'API_TOKEN: the client reads env only.',
    );
    // A CPU limit set means no CPU exception is written.
    expect(workloadDeviations(web, {}).some((d) => d.rule === 'cpu-limit')).toBe(false);
  });
});
