import type { KubeObject } from '../../policies';

/** The labels every object carries (the project's recommended-labels rule). */
export function labels(name: string, component = name): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': 'test',
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'mlops-blueprint',
    'app.kubernetes.io/managed-by': 'jest',
    'app.kubernetes.io/version': '1.0.0',
  };
}

const NS = 'apps';
const IMAGE = 'ghcr.io/acme/web:1.2.3@sha256:' + 'a'.repeat(64);

function meta(name: string, namespace: string | null = NS, extra: Record<string, unknown> = {}) {
  return { name, ...(namespace ? { namespace } : {}), labels: labels(name), ...extra };
}

/** A pod spec that satisfies every pod-level rule. */
export function securePodSpec(serviceAccountName: string, opts: { ports?: boolean } = {}): Record<string, unknown> {
  const container: Record<string, unknown> = {
    name: 'main',
    image: IMAGE,
    imagePullPolicy: 'IfNotPresent',
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      capabilities: { drop: ['ALL'] },
    },
    resources: {
      requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '100Mi' },
      limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '1Gi' },
    },
    // The Secret as a file (secrets-as-files), the program told where it is.
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_PASSWORD_FILE', value: '/run/secrets/db/password' },
    ],
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'db', mountPath: '/run/secrets/db', readOnly: true },
    ],
  };
  if (opts.ports) {
    container.ports = [{ name: 'http', containerPort: 8080 }];
    container.readinessProbe = { httpGet: { path: '/health', port: 'http' } };
    container.livenessProbe = { httpGet: { path: '/health', port: 8080 } };
  }
  return {
    serviceAccountName,
    automountServiceAccountToken: false,
    securityContext: { seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true },
    containers: [container],
    volumes: [
      { name: 'tmp', emptyDir: {} },
      { name: 'db', secret: { secretName: 'db', defaultMode: 0o440 } },
    ],
  };
}

/** A small, complete application that passes every rule (no violations at all, warnings included). */
export function compliantSet(): KubeObject[] {
  const web = { 'app.kubernetes.io/name': 'web' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: meta(NS, null) },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('default-deny'),
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('web-ingress'),
      spec: {
        podSelector: { matchLabels: web },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }] }],
      },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('web'), automountServiceAccountToken: false },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('trainer') },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('web'),
      spec: {
        selector: { matchLabels: web },
        template: {
          metadata: { labels: { ...labels('web') } },
          spec: {
            ...securePodSpec('web', { ports: true }),
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: web } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta('web'),
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 4 },
    },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta('web'), spec: { selector: { matchLabels: web }, maxUnavailable: 1 } },
    { apiVersion: 'v1', kind: 'Service', metadata: meta('web'), spec: { selector: web, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta('web', NS, {
        annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'basic', 'nginx.ingress.kubernetes.io/auth-secret': 'web-htpasswd' },
      }),
      spec: {
        tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
        rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta('trainer'),
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['secrets'], resourceNames: ['db'], verbs: ['get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('trainer'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'trainer' },
      subjects: [{ kind: 'ServiceAccount', name: 'trainer', namespace: NS }],
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('train'),
      spec: {
        ttlSecondsAfterFinished: 3600,
        backoffLimit: 2,
        template: {
          metadata: { labels: labels('train') },
          spec: { ...securePodSpec('trainer'), automountServiceAccountToken: undefined, restartPolicy: 'Never' },
        },
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta('retrain'),
      spec: {
        schedule: '0 3 * * *',
        startingDeadlineSeconds: 600,
        jobTemplate: {
          spec: {
            ttlSecondsAfterFinished: 3600,
            backoffLimit: 1,
            template: { metadata: { labels: labels('retrain') }, spec: { ...securePodSpec('trainer'), restartPolicy: 'Never' } },
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('settings'), data: { LOG_LEVEL: 'info', TRACKING_URI: 'http://tracking:5000' } },
  ];
}

/** The object of `kind/name` in a set (throws if absent: a broken fixture). */
export function get(objects: KubeObject[], kind: string, name: string): KubeObject & Record<string, any> {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`fixture has no ${kind}/${name}`);
  return o as KubeObject & Record<string, any>;
}
