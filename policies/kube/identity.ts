import type { KubeRule, ObjectSet } from '../rule';
import { asArray, asRecord, containerName, containers, findObject, objectPodTemplates, type KubeObject, type PodTemplate } from '../../core/kube-objects';

function serviceAccountOf(spec: Record<string, unknown>): string {
  const name = spec.serviceAccountName ?? spec.serviceAccount;
  return typeof name === 'string' && name ? name : 'default';
}

/** Whether any RoleBinding/ClusterRoleBinding in the set grants this ServiceAccount a role: it then uses the API. */
function isBound(set: ObjectSet, name: string, namespace: string | undefined): boolean {
  return set.objects.some(
    (o) =>
      (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') &&
      asArray(o.subjects).some((s) => {
        const sub = asRecord(s);
        return sub.kind === 'ServiceAccount' && sub.name === name && (sub.namespace ?? o.metadata.namespace) === namespace;
      }),
  );
}

/** The object's whole pods, whose pod-level fields (ServiceAccount, token) the identity rules check: not a ServingRuntime's fragment. */
function podsOf(obj: KubeObject): PodTemplate[] {
  return objectPodTemplates(obj).filter((t) => !t.fragment);
}

/** Env var names that carry credentials. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;
/** Values that are credentials whatever their key: private keys, AWS access keys, URLs with a password. */
const SECRET_VALUE = [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, /\bAKIA[0-9A-Z]{16}\b/, /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i];

export function looksLikeSecretValue(value: string): boolean {
  return SECRET_VALUE.some((re) => re.test(value));
}

export const identityRules: KubeRule[] = [
  {
    id: 'no-default-service-account',
    severity: 'error',
    description: 'Pods use a named ServiceAccount, not `default`',
    remediation: 'Create a ServiceAccount for the workload and set serviceAccountName.',
    check: (obj) =>
      podsOf(obj).flatMap((tpl) =>
        serviceAccountOf(tpl.spec) === 'default'
          ? [{ field: `${tpl.path}.serviceAccountName`, message: 'pod template runs as the "default" ServiceAccount' }]
          : [],
      ),
  },
  {
    id: 'service-account-exists',
    severity: 'error',
    description: 'The named ServiceAccount exists among the checked objects',
    remediation: 'Add the ServiceAccount to the manifests (same namespace) or fix serviceAccountName.',
    check: (obj, set) =>
      podsOf(obj).flatMap((tpl) => {
        const name = serviceAccountOf(tpl.spec);
        if (name === 'default' || findObject(set.objects, 'ServiceAccount', name, tpl.namespace)) return [];
        return [{ field: `${tpl.path}.serviceAccountName`, message: `ServiceAccount "${name}" does not exist in namespace ${tpl.namespace ?? '(none)'}` }];
      }),
  },
  {
    id: 'no-automount-service-account-token',
    severity: 'error',
    description: 'No API token mounted unless the ServiceAccount is bound to a Role',
    remediation: 'Set automountServiceAccountToken: false on the pod (or ServiceAccount), or bind the role the workload needs.',
    check: (obj, set) =>
      podsOf(obj).flatMap((tpl) => {
        const name = serviceAccountOf(tpl.spec);
        const sa = findObject(set.objects, 'ServiceAccount', name, tpl.namespace);
        const automount = tpl.spec.automountServiceAccountToken ?? sa?.automountServiceAccountToken;
        if (automount === false || isBound(set, name, tpl.namespace)) return [];
        return [
          {
            field: `${tpl.path}.automountServiceAccountToken`,
            message: `pod template mounts the API token of ServiceAccount "${name}", which has no role binding`,
          },
        ];
      }),
  },
  {
    id: 'no-literal-secret-env',
    severity: 'error',
    description: 'No literal credentials in container env',
    remediation: 'Move the value into a Secret and reference it with env[].valueFrom.secretKeyRef.',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return containers(tpl).flatMap((c) =>
          asArray(c.container.env).flatMap((e, i) => {
            const env = asRecord(e);
            const value = env.value;
            if (typeof value !== 'string' || value === '') return [];
            if (!SECRET_NAME.test(String(env.name)) && !looksLikeSecretValue(value)) return [];
            return [{ field: `${c.path}.env[${i}].value`, message: `container "${containerName(c)}" has a literal value for ${String(env.name)}` }];
          }),
        );
      }),
  },
  {
    id: 'secrets-as-files',
    severity: 'warning',
    description: 'Secrets reach containers as mounted files, not env vars (advisory: env leaks into child processes, crash reports and /proc)',
    remediation:
      'Mount the Secret as a read-only volume and point the program at the file (a *_FILE variable or flag); where it can only read env, record why in the exceptions annotation.',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return containers(tpl).flatMap((c) => [
          ...asArray(c.container.env).flatMap((e, i) =>
            asRecord(asRecord(e).valueFrom).secretKeyRef
              ? [
                  {
                    field: `${c.path}.env[${i}].valueFrom.secretKeyRef`,
                    message: `container "${containerName(c)}" takes Secret value ${String(asRecord(e).name)} from env`,
                  },
                ]
              : [],
          ),
          ...asArray(c.container.envFrom).flatMap((e, i) =>
            asRecord(e).secretRef
              ? [
                  {
                    field: `${c.path}.envFrom[${i}].secretRef`,
                    message: `container "${containerName(c)}" takes every key of Secret ${String(asRecord(asRecord(e).secretRef).name)} as env`,
                  },
                ]
              : [],
          ),
        ]);
      }),
  },
  {
    id: 'no-secret-in-configmap',
    severity: 'error',
    description: 'ConfigMaps hold no credentials',
    remediation: 'Move the credential into a Secret (or an ExternalSecret) and mount that instead.',
    check: (obj) => {
      if (obj.kind !== 'ConfigMap') return [];
      return Object.entries(asRecord(obj.data)).flatMap(([key, value]) => {
        const v = String(value);
        const secretKey = SECRET_NAME.test(key.replace(/[.-]/g, '_')) && v.trim() !== '';
        return secretKey || looksLikeSecretValue(v) ? [{ field: `data.${key}`, message: `ConfigMap key "${key}" holds what looks like a credential` }] : [];
      });
    },
  },
  {
    id: 'no-secret-data-in-gitops',
    severity: 'error',
    description: 'GitOps output has no Secret with literal data',
    remediation: 'Use an ExternalSecret (secrets.mode external-secrets) or let Pulumi create the Secret.',
    check: (obj, set) => {
      if (obj.kind !== 'Secret' || set.ctx.mode !== 'gitops') return [];
      const field = (['data', 'stringData'] as const).find((k) => Object.keys(asRecord(obj[k])).length > 0);
      return field ? [{ field, message: `Secret carries literal ${field} into the GitOps repository` }] : [];
    },
  },
];
