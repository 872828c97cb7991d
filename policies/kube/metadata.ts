import type { KubeRule } from '../rule';

/** Kinds without a namespace (the built-in ones; CRD-defined kinds are assumed namespaced). */
export const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'CSIDriver',
  'ClusterIssuer',
  'ClusterSecretStore',
  'ClusterExternalSecret',
  'ValidatingAdmissionPolicy',
]);

/** API groups Kubernetes itself serves: beta/alpha versions of these are deprecated or unstable. */
const BUILT_IN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'autoscaling',
  'policy',
  'networking.k8s.io',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'scheduling.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'node.k8s.io',
  'extensions',
  'certificates.k8s.io',
  'flowcontrol.apiserver.k8s.io',
]);

/** The labels DESIGN.md requires on every object. */
export const RECOMMENDED_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/version',
];

export const metadataRules: KubeRule[] = [
  {
    id: 'no-default-namespace',
    severity: 'error',
    description: 'Namespaced objects name a namespace other than `default`',
    remediation: 'Set metadata.namespace to the platform namespace the object belongs to.',
    check: (obj) => {
      if (CLUSTER_SCOPED_KINDS.has(obj.kind)) return [];
      const ns = obj.metadata.namespace;
      if (ns && ns !== 'default') return [];
      return [{ field: 'metadata.namespace', message: ns ? 'object is in the default namespace' : 'object has no namespace (it would land in default)' }];
    },
  },
  {
    id: 'no-deprecated-api',
    severity: 'error',
    description: 'No beta/alpha or removed versions of built-in APIs',
    remediation: 'Use the stable API version (apps/v1, batch/v1, policy/v1, autoscaling/v2, networking.k8s.io/v1).',
    check: (obj) => {
      const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
      if (!BUILT_IN_GROUPS.has(group)) return [];
      return group === 'extensions' || /(alpha|beta)/.test(version)
        ? [{ field: 'apiVersion', message: `apiVersion ${obj.apiVersion} is deprecated or not stable` }]
        : [];
    },
  },
  {
    id: 'recommended-labels',
    severity: 'error',
    description: `Recommended labels on every object (${RECOMMENDED_LABELS.map((l) => l.replace('app.kubernetes.io/', '')).join(', ')})`,
    remediation: 'Add the missing app.kubernetes.io/* labels to metadata.labels.',
    check: (obj) => {
      const labels = obj.metadata.labels ?? {};
      const missing = RECOMMENDED_LABELS.filter((l) => !labels[l]);
      return missing.length ? [{ field: `metadata.labels`, message: `missing label${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` }] : [];
    },
  },
];
