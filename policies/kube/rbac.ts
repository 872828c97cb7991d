import type { Finding, KubeRule } from '../rule';
import { type KubeObject, asArray, asRecord } from '../../core/kube-objects';

const ROLE_KINDS = new Set(['Role', 'ClusterRole']);

/** Runs `fn` over each rule of a Role/ClusterRole with its field path. */
function perRule(fn: (rule: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames: string[] }, path: string) => Finding | undefined) {
  return (obj: KubeObject): Finding[] => {
    if (!ROLE_KINDS.has(obj.kind)) return [];
    return asArray(obj.rules).flatMap((r, i) => {
      const rule = asRecord(r);
      const list = (k: string) => asArray(rule[k]).map(String);
      return (
        fn({ apiGroups: list('apiGroups'), resources: list('resources'), verbs: list('verbs'), resourceNames: list('resourceNames') }, `rules[${i}]`) ?? []
      );
    });
  };
}

export const rbacRules: KubeRule[] = [
  {
    id: 'rbac-no-wildcards',
    severity: 'error',
    description: 'Roles grant no `*` apiGroups, resources or verbs',
    remediation: 'List the exact apiGroups, resources and verbs the subject needs.',
    check: perRule((r, path) => {
      const key = (['apiGroups', 'resources', 'verbs'] as const).find((k) => r[k].includes('*'));
      return key ? { field: `${path}.${key}`, message: `${path} grants "*" in ${key}` } : undefined;
    }),
  },
  {
    id: 'rbac-no-cluster-admin-binding',
    severity: 'error',
    description: 'No bindings to cluster-admin',
    remediation: 'Bind a narrowly scoped Role instead of cluster-admin.',
    check: (obj) =>
      (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') && asRecord(obj.roleRef).name === 'cluster-admin'
        ? [{ field: 'roleRef.name', message: 'binds the cluster-admin ClusterRole' }]
        : [],
  },
  {
    id: 'rbac-no-exec-attach',
    severity: 'error',
    description: 'No pods/exec, pods/attach or pods/portforward',
    remediation: 'Remove pods/exec, pods/attach and pods/portforward from the role.',
    check: perRule((r, path) => {
      const bad = r.resources.filter((res) => ['pods/exec', 'pods/attach', 'pods/portforward'].includes(res));
      return bad.length ? { field: `${path}.resources`, message: `${path} grants ${bad.join(', ')}` } : undefined;
    }),
  },
  {
    id: 'rbac-no-broad-secret-access',
    severity: 'error',
    description: 'Secrets only readable by name (no list/watch, no unnamed get)',
    remediation: 'Grant get on secrets with resourceNames listing the exact Secrets.',
    check: perRule((r, path) => {
      if (!r.resources.includes('secrets')) return undefined;
      const broad = r.verbs.filter(
        (v) => v === 'list' || v === 'watch' || ((v === 'get' || v === 'update' || v === 'patch' || v === 'delete') && r.resourceNames.length === 0),
      );
      return broad.length
        ? { field: `${path}.verbs`, message: `${path} grants ${broad.join(', ')} on secrets${r.resourceNames.length ? '' : ' without resourceNames'}` }
        : undefined;
    }),
  },
];
