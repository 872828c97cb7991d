import { ENVIRONMENT_NAMES } from '../../environments';
import { PLATFORM_ROLES, PlatformRbac, type PlatformRoleDefinition } from '../../constructs/rbac';
import { Inference } from '../../constructs/inference';
import { Training } from '../../constructs/training';
import type { KubeObject } from '../../policies';
import { CLEAN, context, env, named, ofKind, policyErrors, schemaProblems, synth } from './workload-helpers';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const rules = (o: KubeObject): Rule[] => (o as unknown as { rules: Rule[] }).rules;
/** Whether a Role allows `verb` on `group/resource`. */
const allows = (role: KubeObject, group: string, resource: string, verb: string) =>
  rules(role).some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
const role = (objects: KubeObject[], name: string, namespace: string) => {
  const r = ofKind(objects, 'Role').find((o) => o.metadata.name === name && o.metadata.namespace === namespace);
  if (!r) throw new Error(`no Role ${namespace}/${name}`);
  return r;
};

describe('PlatformRbac', () => {
  const staging = env('staging');
  const objects = synth(staging, (s) => new PlatformRbac(s, 'rbac', { env: staging }), { namespaces: false });

  it('creates ml-engineer, data-scientist and deployer Roles in their namespaces only (no ClusterRole)', () => {
    expect(ofKind(objects, 'Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      'mlops-platform/ml-engineer',
      'ml-training/ml-engineer',
      'ml-serving/ml-engineer',
      'ml-training/data-scientist',
      'ml-serving/data-scientist',
      'mlops-platform/deployer',
      'ml-training/deployer',
      'ml-serving/deployer',
    ]);
    expect(ofKind(objects, 'ClusterRole')).toEqual([]);
    expect(ofKind(objects, 'ClusterRoleBinding')).toEqual([]);
  });

  it('no wildcard, no Secrets, no exec/attach/port-forward in any rule', () => {
    for (const r of ofKind(objects, 'Role').flatMap(rules)) {
      expect([...r.apiGroups, ...r.resources, ...r.verbs]).not.toContain('*');
      expect(r.resources).not.toContain('secrets');
      expect(r.resources.filter((x) => /^pods\/(exec|attach|portforward)$/.test(x))).toEqual([]);
    }
  });

  it('the deployer patches Deployments and Jobs, watches rollouts, and cannot create Deployments or touch RBAC', () => {
    for (const ns of ['mlops-platform', 'ml-serving']) {
      const d = role(objects, 'deployer', ns);
      expect(allows(d, 'apps', 'deployments', 'patch')).toBe(true);
      expect(allows(d, 'apps', 'replicasets', 'watch')).toBe(true);
      expect(allows(d, 'apps', 'deployments', 'create')).toBe(false);
    }
    expect(allows(role(objects, 'deployer', 'ml-training'), 'batch', 'jobs', 'patch')).toBe(true);
    expect(allows(role(objects, 'deployer', 'ml-training'), 'batch', 'cronjobs', 'patch')).toBe(true);
    expect(
      ofKind(objects, 'Role')
        .flatMap(rules)
        .some((r) => r.apiGroups.includes('rbac.authorization.k8s.io')),
    ).toBe(false);
  });

  it('data scientists launch training Jobs but only read serving; ml engineers operate serving', () => {
    expect(allows(role(objects, 'data-scientist', 'ml-training'), 'batch', 'jobs', 'create')).toBe(true);
    expect(rules(role(objects, 'data-scientist', 'ml-serving')).every((r) => r.verbs.every((v) => ['get', 'list', 'watch'].includes(v)))).toBe(true);
    expect(allows(role(objects, 'ml-engineer', 'ml-serving'), 'apps', 'deployments/scale', 'patch')).toBe(true);
    expect(allows(role(objects, 'ml-engineer', 'mlops-platform'), '', 'pods', 'delete')).toBe(false);
  });

  it('binds each Role to the environment’s groups', () => {
    const binding = ofKind(objects, 'RoleBinding').find((b) => b.metadata.name === 'deployer' && b.metadata.namespace === 'ml-serving')!;
    expect(binding).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'ci-deployers' }],
    });
    expect(ofKind(objects, 'RoleBinding')).toHaveLength(ofKind(objects, 'Role').length);
  });

  it('no bindings where the environment names no group (dev)', () => {
    const dev = env('dev');
    const devObjects = synth(dev, (s) => new PlatformRbac(s, 'rbac', { env: dev }), { namespaces: false });
    expect(ofKind(devObjects, 'Role')).toHaveLength(8);
    expect(ofKind(devObjects, 'RoleBinding')).toEqual([]);
  });

  it('rejects role definitions with wildcards, Secrets or exec', () => {
    const bad = (rule: { apiGroups: string[]; resources: string[]; verbs: string[] }): PlatformRoleDefinition[] => [
      { name: 'x', description: 'x', groups: 'deployers', rules: { serving: [rule] } },
    ];
    const make = (roles: PlatformRoleDefinition[]) => () => synth(staging, (s) => new PlatformRbac(s, 'rbac', { env: staging, roles }), { namespaces: false });
    expect(make(bad({ apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] }))).toThrow(/"\*" in verbs/);
    expect(make(bad({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }))).toThrow(/do not read Secrets/);
    expect(make(bad({ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }))).toThrow(/pods\/exec not allowed/);
  });

  it.each(ENVIRONMENT_NAMES)('%s: with the workloads, every ServiceAccount mounts no token; policies and schemas pass', (name) => {
    const e = env(name);
    const all = synth(e, (s) => {
      new Training(s, 'training', { ctx: context(e), initialJobName: 'train-churn' });
      new Inference(s, 'inference', { ctx: context(e) });
      new PlatformRbac(s, 'rbac', { env: e });
    });
    const sas = ofKind(all, 'ServiceAccount');
    expect(sas.map((s) => s.metadata.name).sort()).toEqual(['inference', 'training']);
    for (const sa of sas) expect(sa.automountServiceAccountToken).toBe(false);
    // No platform role binds a ServiceAccount: no workload talks to the Kubernetes API.
    for (const b of ofKind(all, 'RoleBinding'))
      expect((b as unknown as { subjects: Array<{ kind: string }> }).subjects.every((s) => s.kind === 'Group')).toBe(true);
    expect(policyErrors(all, e)).toBe(CLEAN);
    expect(schemaProblems(all)).toEqual([]);
    expect(named(all, 'Role', 'deployer').metadata.labels?.['app.kubernetes.io/component']).toBe('rbac');
  });

  it('PLATFORM_ROLES describe each role', () => {
    for (const r of PLATFORM_ROLES) expect(r.description.length).toBeGreaterThan(20);
  });
});
