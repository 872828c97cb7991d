import { checkManifests, hasErrors, kubeRules, type KubeObject, type PolicyContext } from '../../policies';
import { loadEnvironment } from '../../environments';
import { compliantSet, get, labels, securePodSpec } from './fixtures';

const gitops: PolicyContext = { mode: 'gitops' };
/** Deletes a field in place: how a break removes something the rule requires. */
const unset = (obj: object, key: string): undefined => void Reflect.deleteProperty(obj, key);

type Objs = KubeObject[];
const deploy = (o: Objs) => get(o, 'Deployment', 'web');
const container = (o: Objs) => deploy(o).spec.template.spec.containers[0];
const pod = (o: Objs) => deploy(o).spec.template.spec;

/** For every rule: how to break the compliant set so that rule (and the object named) reports it. */
interface Case {
  rule: string;
  break: (objects: Objs) => Objs | undefined;
  object: string;
  field?: string;
  ctx?: PolicyContext;
}

const cases: Case[] = [
  {
    rule: 'no-privileged',
    break: (o) => void (container(o).securityContext.privileged = true),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].securityContext.privileged',
  },
  {
    rule: 'no-privilege-escalation',
    break: (o) => unset(container(o).securityContext, 'allowPrivilegeEscalation'),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation',
  },
  {
    rule: 'run-as-non-root',
    break: (o) => void (container(o).securityContext.runAsUser = 0),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].securityContext.runAsUser',
  },
  {
    rule: 'drop-all-capabilities',
    break: (o) => void (container(o).securityContext.capabilities = { drop: ['ALL'], add: ['SYS_ADMIN'] }),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].securityContext.capabilities.add',
  },
  { rule: 'seccomp-profile', break: (o) => void (pod(o).securityContext.seccompProfile = { type: 'Unconfined' }), object: 'Deployment/apps/web' },
  { rule: 'read-only-root-filesystem', break: (o) => void (container(o).securityContext.readOnlyRootFilesystem = false), object: 'Deployment/apps/web' },
  { rule: 'no-host-namespaces', break: (o) => void (pod(o).hostNetwork = true), object: 'Deployment/apps/web', field: 'spec.template.spec.hostNetwork' },
  {
    rule: 'no-host-port',
    break: (o) => void (container(o).ports[0].hostPort = 8080),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].ports[0].hostPort',
  },
  {
    rule: 'no-host-path',
    break: (o) => void pod(o).volumes.push({ name: 'sock', hostPath: { path: '/var/run/docker.sock' } }),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.volumes[2].hostPath',
  },
  {
    rule: 'restricted-volume-types',
    break: (o) => void pod(o).volumes.push({ name: 'nfs', nfs: { server: 'nfs', path: '/' } }),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.volumes[2].nfs',
  },
  {
    rule: 'no-default-service-account',
    break: (o) => unset(pod(o), 'serviceAccountName'),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.serviceAccountName',
  },
  { rule: 'service-account-exists', break: (o) => void (pod(o).serviceAccountName = 'ghost'), object: 'Deployment/apps/web' },
  {
    rule: 'no-automount-service-account-token',
    break: (o) => {
      delete pod(o).automountServiceAccountToken;
      delete get(o, 'ServiceAccount', 'web').automountServiceAccountToken;
      return o;
    },
    object: 'Deployment/apps/web',
  },
  {
    rule: 'no-literal-secret-env',
    break: (o) => void container(o).env.push({ name: 'API_TOKEN', value: 's3cr3t' }),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].env[2].value',
  },
  {
    rule: 'secrets-as-files',
    break: (o) => void container(o).env.push({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].env[2].valueFrom.secretKeyRef',
  },
  {
    rule: 'no-secret-in-configmap',
    break: (o) => void (get(o, 'ConfigMap', 'settings').data.DATABASE_URL = 'postgresql://mlflow:hunter2@db:5432/mlflow'),
    object: 'ConfigMap/apps/settings',
    field: 'data.DATABASE_URL',
  },
  {
    rule: 'no-secret-data-in-gitops',
    break: (o) => [
      ...o,
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'apps', labels: labels('db') }, stringData: { password: 'x' } },
    ],
    object: 'Secret/apps/db',
    field: 'stringData',
  },
  {
    rule: 'image-tag-pinned',
    break: (o) => void (container(o).image = 'ghcr.io/acme/web:latest'),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].image',
  },
  { rule: 'image-digest', break: (o) => void (container(o).image = 'localhost:5001/acme/web:1.2.3'), object: 'Deployment/apps/web' },
  {
    rule: 'resource-requests',
    break: (o) => unset(container(o).resources.requests, 'cpu'),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].resources.requests.cpu',
  },
  { rule: 'memory-limit', break: (o) => unset(container(o).resources, 'limits'), object: 'Deployment/apps/web' },
  {
    rule: 'cpu-limit',
    break: (o) => unset(container(o).resources.limits, 'cpu'),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].resources.limits.cpu',
  },
  {
    rule: 'serving-probes',
    break: (o) => unset(container(o), 'readinessProbe'),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].readinessProbe',
  },
  {
    rule: 'probe-port-declared',
    break: (o) => void (container(o).livenessProbe.httpGet.port = 9090),
    object: 'Deployment/apps/web',
    field: 'spec.template.spec.containers[0].livenessProbe.httpGet.port',
  },
  {
    rule: 'serving-replicas',
    break: (o) => o.filter((x) => x.kind !== 'HorizontalPodAutoscaler'),
    object: 'Deployment/apps/web',
    field: 'spec.replicas',
  },
  { rule: 'hpa-no-fixed-replicas', break: (o) => void (deploy(o).spec.replicas = 3), object: 'Deployment/apps/web', field: 'spec.replicas' },
  { rule: 'pdb-exists', break: (o) => o.filter((x) => x.kind !== 'PodDisruptionBudget'), object: 'Deployment/apps/web' },
  {
    rule: 'pdb-allows-disruption',
    break: (o) => void (get(o, 'PodDisruptionBudget', 'web').spec = { selector: { matchLabels: { 'app.kubernetes.io/name': 'web' } }, minAvailable: 2 }),
    object: 'Deployment/apps/web',
  },
  { rule: 'pod-spread', break: (o) => unset(pod(o), 'topologySpreadConstraints'), object: 'Deployment/apps/web' },
  {
    rule: 'selector-matches-template',
    break: (o) => void (deploy(o).spec.selector.matchLabels = { 'app.kubernetes.io/name': 'api' }),
    object: 'Deployment/apps/web',
    field: 'spec.selector',
  },
  {
    rule: 'hpa-target-exists',
    break: (o) => void (get(o, 'HorizontalPodAutoscaler', 'web').spec.scaleTargetRef.name = 'gone'),
    object: 'HorizontalPodAutoscaler/apps/web',
    field: 'spec.scaleTargetRef',
  },
  {
    rule: 'service-selects-pods',
    break: (o) => void (get(o, 'Service', 'web').spec.selector = { 'app.kubernetes.io/name': 'wbe' }),
    object: 'Service/apps/web',
    field: 'spec.selector',
  },
  {
    rule: 'ingress-backend-exists',
    break: (o) => void (get(o, 'Ingress', 'web').spec.rules[0].http.paths[0].backend.service.port = { number: 8080 }),
    object: 'Ingress/apps/web',
    field: 'spec.rules[0].http.paths[0].backend.service.port',
  },
  {
    rule: 'networkpolicy-selects-pods',
    break: (o) => void (get(o, 'NetworkPolicy', 'web-ingress').spec.podSelector = { matchLabels: { app: 'nothing' } }),
    object: 'NetworkPolicy/apps/web-ingress',
    field: 'spec.podSelector',
  },
  {
    rule: 'pod-has-networkpolicy',
    break: (o) => o.filter((x) => x.kind !== 'NetworkPolicy'),
    object: 'Deployment/apps/web',
  },
  {
    rule: 'namespace-default-deny',
    break: (o) => void (get(o, 'NetworkPolicy', 'default-deny').spec.policyTypes = ['Ingress']),
    object: 'Namespace/apps',
    field: 'metadata.name',
  },
  { rule: 'no-node-port', break: (o) => void (get(o, 'Service', 'web').spec.type = 'NodePort'), object: 'Service/apps/web', field: 'spec.type' },
  { rule: 'no-load-balancer', break: (o) => void (get(o, 'Service', 'web').spec.type = 'LoadBalancer'), object: 'Service/apps/web', field: 'spec.type' },
  {
    rule: 'ingress-tls',
    break: (o) => void (get(o, 'Ingress', 'web').spec.tls[0].hosts = ['other.example.com']),
    object: 'Ingress/apps/web',
    field: 'spec.rules[0].host',
  },
  { rule: 'ingress-auth', break: (o) => void (get(o, 'Ingress', 'web').metadata.annotations = {}), object: 'Ingress/apps/web', field: 'metadata.annotations' },
  { rule: 'rbac-no-wildcards', break: (o) => void (get(o, 'Role', 'trainer').rules[0].verbs = ['*']), object: 'Role/apps/trainer', field: 'rules[0].verbs' },
  {
    rule: 'rbac-no-cluster-admin-binding',
    break: (o) => void (get(o, 'RoleBinding', 'trainer').roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }),
    object: 'RoleBinding/apps/trainer',
    field: 'roleRef.name',
  },
  {
    rule: 'rbac-no-exec-attach',
    break: (o) => void get(o, 'Role', 'trainer').rules.push({ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }),
    object: 'Role/apps/trainer',
    field: 'rules[2].resources',
  },
  {
    rule: 'rbac-no-broad-secret-access',
    break: (o) => void (get(o, 'Role', 'trainer').rules[1] = { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }),
    object: 'Role/apps/trainer',
    field: 'rules[1].verbs',
  },
  {
    rule: 'job-ttl',
    break: (o) => unset(get(o, 'CronJob', 'retrain').spec.jobTemplate.spec, 'ttlSecondsAfterFinished'),
    object: 'CronJob/apps/retrain',
    field: 'spec.jobTemplate.spec.ttlSecondsAfterFinished',
  },
  { rule: 'job-backoff-limit', break: (o) => unset(get(o, 'Job', 'train').spec, 'backoffLimit'), object: 'Job/apps/train', field: 'spec.backoffLimit' },
  {
    rule: 'cronjob-deadline',
    break: (o) => unset(get(o, 'CronJob', 'retrain').spec, 'startingDeadlineSeconds'),
    object: 'CronJob/apps/retrain',
    field: 'spec.startingDeadlineSeconds',
  },
  {
    rule: 'no-default-namespace',
    break: (o) => unset(get(o, 'ConfigMap', 'settings').metadata, 'namespace'),
    object: 'ConfigMap/settings',
    field: 'metadata.namespace',
  },
  {
    rule: 'no-deprecated-api',
    break: (o) => void (get(o, 'PodDisruptionBudget', 'web').apiVersion = 'policy/v1beta1'),
    object: 'PodDisruptionBudget/apps/web',
    field: 'apiVersion',
  },
  {
    rule: 'recommended-labels',
    break: (o) => unset(get(o, 'ConfigMap', 'settings').metadata.labels!, 'app.kubernetes.io/version'),
    object: 'ConfigMap/apps/settings',
    field: 'metadata.labels',
  },
];

describe('Kubernetes rules', () => {
  test('the compliant set has no violation at all (the passing case of every rule)', () => {
    expect(checkManifests(compliantSet(), gitops)).toEqual([]);
  });

  test('every rule has a violating case, and every rule id is unique', () => {
    const ids = kubeRules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(cases.map((c) => c.rule).sort()).toEqual([...ids].sort());
  });

  test.each(cases.map((c) => [c.rule, c] as const))('%s: reports the broken object and field, with message and remediation', (_id, c) => {
    const objects = compliantSet();
    const broken = c.break(objects) ?? objects;
    const violations = checkManifests(broken, c.ctx ?? gitops).filter((v) => v.ruleId === c.rule);
    expect(violations.length).toBeGreaterThan(0);
    const v = violations.find((x) => x.object === c.object);
    expect(v).toBeDefined();
    if (c.field) expect(v!.field).toBe(c.field);
    const rule = kubeRules.find((r) => r.id === c.rule)!;
    expect(v!.severity).toBe(rule.severity);
    expect(v!.message.length).toBeGreaterThan(10);
    expect(v!.remediation).toBe(rule.remediation);
    expect(hasErrors(violations)).toBe(rule.severity === 'error');
  });
});

describe('rule details', () => {
  test('no-secret-data-in-gitops: the same Secret is fine where Pulumi creates it', () => {
    const objects = [
      ...compliantSet(),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'apps', labels: labels('db') }, stringData: { password: 'x' } },
    ];
    expect(checkManifests(objects, { mode: 'pulumi' })).toEqual([]);
  });

  test('no-load-balancer passes where the environment allows LoadBalancers; ingress-tls is waived only for tls.mode none', () => {
    const objects = compliantSet();
    get(objects, 'Service', 'web').spec.type = 'LoadBalancer';
    delete get(objects, 'Ingress', 'web').spec.tls;
    const dev = loadEnvironment('dev');
    const staging = loadEnvironment('staging');
    const ids = (env: typeof dev) => checkManifests(objects, { mode: 'gitops', environment: env }).map((v) => v.ruleId);
    expect(ids({ ...dev, allowLoadBalancer: true })).toEqual([]);
    expect(ids(staging)).toEqual(expect.arrayContaining(['no-load-balancer', 'ingress-tls']));
  });

  test('ingress-auth passes when every backend is an oauth2-proxy Service', () => {
    const objects = compliantSet();
    get(objects, 'Ingress', 'web').metadata.annotations = {};
    get(objects, 'Service', 'web').metadata.labels!['app.kubernetes.io/name'] = 'oauth2-proxy';
    expect(checkManifests(objects, gitops).filter((v) => v.ruleId === 'ingress-auth')).toEqual([]);
  });

  test('image-tag-pinned: a registry port is not a tag', () => {
    const objects = compliantSet();
    container(objects).image = 'localhost:5001/acme/web';
    expect(checkManifests(objects, gitops).find((v) => v.ruleId === 'image-tag-pinned')?.message).toMatch(/untagged/);
  });

  test('serving-replicas passes with spec.replicas ≥ 2 and no HPA; hpa-no-fixed-replicas then does not fire', () => {
    const objects = compliantSet().filter((x) => x.kind !== 'HorizontalPodAutoscaler');
    deploy(objects).spec.replicas = 2;
    expect(checkManifests(objects, gitops)).toEqual([]);
  });

  test('serving-replicas: a single-replica StatefulSet (an in-cluster database) is a deliberate single writer', () => {
    const objects = compliantSet();
    const sts = {
      ...deploy(objects),
      kind: 'StatefulSet',
      metadata: { ...deploy(objects).metadata, name: 'db' },
      spec: { ...deploy(objects).spec, replicas: 1, serviceName: 'db' },
    };
    const ids = checkManifests([...objects, sts as KubeObject], gitops)
      .filter((v) => v.object === 'StatefulSet/apps/db')
      .map((v) => v.ruleId);
    expect(ids).not.toContain('serving-replicas');
    expect(ids).not.toContain('pdb-exists');
  });

  test('no-automount-service-account-token passes when the ServiceAccount is bound to a role', () => {
    const objects = compliantSet();
    delete pod(objects).automountServiceAccountToken;
    delete get(objects, 'ServiceAccount', 'web').automountServiceAccountToken;
    get(objects, 'RoleBinding', 'trainer').subjects.push({ kind: 'ServiceAccount', name: 'web', namespace: 'apps' });
    expect(checkManifests(objects, gitops)).toEqual([]);
  });

  test('a pod without any securityContext reports each pod-security rule on each container', () => {
    const spec = securePodSpec('web');
    delete spec.securityContext;
    (spec.containers as Array<Record<string, unknown>>)[0].securityContext = undefined;
    const bare = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'apps', labels: labels('p') }, spec };
    const ids = new Set(
      checkManifests([...compliantSet(), bare as KubeObject], gitops)
        .filter((v) => v.object === 'Pod/apps/p')
        .map((v) => v.ruleId),
    );
    for (const id of ['no-privilege-escalation', 'run-as-non-root', 'drop-all-capabilities', 'seccomp-profile', 'read-only-root-filesystem'])
      expect(ids).toContain(id);
  });
});
