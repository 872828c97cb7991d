import { ENVIRONMENT_NAMES, loadEnvironment, type EnvironmentConfig } from '../../environments';
import { churnPipeline } from '../../environments/pipelines';
import { environmentVariants } from '../../policies/platform';
import { podTemplates } from '../../policies/kube/workloads';
import { hpaTargetProblems, platformProperties, secretsWithData, servicesWithoutPods, unselectedPods } from '../../api/testing';
import type { KubeObject } from '../../policies';
import { renderEnvironment, schemaProblems, synthEnvironment, validateObjects, SynthValidationError, ARGOCD_FILE } from '../../stacks/gitops';
import { bucketScript } from '../../constructs/minio';
import { EXTERNAL_SECRETS_API, requiredSecrets } from '../../constructs/secrets';
import { pinnedEnvironment, testImageLockFile } from '../helpers/image-lock';

const all = (env: EnvironmentConfig, opts = {}) => synthEnvironment(env, opts).flatMap((f) => f.objects);
const find = (objects: KubeObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not synthesized`);
  return o as KubeObject & { spec: any };
};
const container = (o: KubeObject & { spec: any }) => o.spec.template.spec.containers[0];

describe.each(ENVIRONMENT_NAMES)('%s: full output', (name) => {
  // As synth renders it: images pinned by the lock (here the loopback registry's test digests).
  const env = pinnedEnvironment(name);
  const files = synthEnvironment(env);
  const objects = files.flatMap((f) => f.objects);

  it('matches the snapshot', () => {
    expect(files).toMatchSnapshot();
  });

  it('writes one file per part in apply order: namespaces first, stores before the tracking server', () => {
    const parts = files.filter((f) => f.name !== ARGOCD_FILE).map((f) => f.name.replace(/^\d{2}-|\.k8s\.yaml$/g, ''));
    expect(parts[0]).toBe('namespaces');
    files.filter((f) => f.name !== ARGOCD_FILE).forEach((f, i) => expect(f.name.startsWith(String(i).padStart(2, '0'))).toBe(true));
    const at = (p: string) => parts.indexOf(p);
    if (at('postgres') >= 0) expect(at('postgres')).toBeLessThan(at('tracking'));
    if (at('minio') >= 0) expect(at('minio')).toBeLessThan(at('tracking'));
    expect(at('tracking')).toBeLessThan(at('ingress'));
    expect(at('network-policies')).toBeLessThan(at('tracking'));
  });

  it('every object is valid against its OpenAPI schema (built-in kinds and CRDs)', () => {
    for (const o of objects) expect([`${o.kind}/${o.metadata.name}`, schemaProblems(o)]).toEqual([`${o.kind}/${o.metadata.name}`, []]);
    expect(() => validateObjects(files, env.name)).not.toThrow();
  });

  // The property checks live in the package's `testing` entry (testing/properties.ts), which teams run on their own output.
  it('every pod is selected by a NetworkPolicy written for it (not only the namespace default deny)', () => {
    // The GPU device plugin needs no network at all: its namespace's deny-all is its policy.
    expect(unselectedPods(objects, { namespaceDefaultSuffices: (o) => o.kind === 'DaemonSet' })).toEqual([]);
  });

  it('every Service selects a pod template in its namespace', () => {
    expect(servicesWithoutPods(objects)).toEqual([]);
  });

  it('every HPA targets a workload that exists and leaves its replicas alone', () => {
    expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(true);
    expect(hpaTargetProblems(objects)).toEqual([]);
  });

  it('carries no Secret data: Secrets are referenced by name only', () => {
    expect(secretsWithData(objects)).toEqual([]);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const referenced = new Set(
      podTemplates(objects).flatMap(({ tpl }) =>
        (tpl.spec.containers as any[]).flatMap((c) => (c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name).filter(Boolean)),
      ),
    );
    expect(referenced.size).toBeGreaterThan(0);
  });

  it('holds every property of the testing entry at once (Pod Security restricted and the policies included)', () => {
    expect(platformProperties(objects, env)).toEqual({ networkPolicies: [], services: [], hpaTargets: [], secretData: [], podSecurity: [], policies: [] });
  });

  it('runs the tracking server with its stores by reference: no credential in any URI', () => {
    const args: string[] = container(find(objects, 'Deployment', 'tracking')).args;
    expect(args.slice(0, 6)).toEqual(['tracking', 'serve', '--host', '0.0.0.0', '--port', '5000']);
    const uri = args[args.indexOf('--backend-store-uri') + 1];
    expect(uri).toMatch(/^postgresql:\/\/[^@]+$/);
    expect(args[args.indexOf('--artifacts-destination') + 1]).toMatch(/^s3:\/\//);
    expect(args).toEqual(expect.arrayContaining(['--app-name', 'basic-auth']));
    const envNames = container(find(objects, 'Deployment', 'tracking')).env.map((e: any) => e.name);
    expect(envNames).toEqual(expect.arrayContaining(['PGUSER', 'PGPASSWORD']));
  });

  it('gives the tracking server its admin password as a read-only file, never as an env var', () => {
    const dep = find(objects, 'Deployment', 'tracking');
    const c = container(dep);
    expect(c.env.map((e: any) => e.name)).not.toContain('MLFLOW_AUTH_ADMIN_PASSWORD');
    expect(c.env.filter((e: any) => e.valueFrom?.secretKeyRef?.name === 'tracking-admin')).toEqual([]);
    expect(c.args[(c.args as string[]).indexOf('--auth-admin-password-file') + 1]).toBe('/run/secrets/tracking-admin/password');
    const volume = dep.spec.template.spec.volumes.find((v: any) => v.secret?.secretName === 'tracking-admin');
    expect(volume.secret).toEqual({ secretName: 'tracking-admin', items: [{ key: 'password', path: 'password' }], defaultMode: 0o440 });
    expect(c.volumeMounts).toContainEqual({ name: volume.name, mountPath: '/run/secrets/tracking-admin', readOnly: true });
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('migrates the schema with a Job named after the release, not an init container', () => {
    const version = env.tracking.image
      .split('@')[0]
      .split(':')
      .pop()!
      .replace(/[^a-z0-9-]+/g, '-');
    const job = objects.find((o) => o.kind === 'Job' && o.metadata.name.startsWith('tracking-db-upgrade-')) as KubeObject & { spec: any };
    expect(job.metadata.name).toBe(`tracking-db-upgrade-${version}`);
    expect(container(job).args.slice(0, 3)).toEqual(['tracking', 'db', 'upgrade']);
    expect(find(objects, 'Deployment', 'tracking').spec.template.spec.initContainers).toBeUndefined();
  });
});

describe('wiring per environment', () => {
  it('dev: in-cluster PostgreSQL and MinIO, basic auth at the edge, no TLS', () => {
    const objects = all(loadEnvironment('dev'));
    const pg = find(objects, 'StatefulSet', 'postgres');
    expect(pg.spec.serviceName).toBe('postgres');
    expect(find(objects, 'Service', 'postgres').spec.clusterIP).toBe('None');
    expect(pg.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('5Gi');
    const pgc = container(pg);
    expect(pgc.readinessProbe.exec.command.join(' ')).toContain('pg_isready');
    expect(pgc.livenessProbe.exec.command.join(' ')).toContain('pg_isready');
    expect(pg.spec.template.spec.securityContext).toMatchObject({ runAsUser: 70, fsGroup: 70, runAsNonRoot: true });
    expect(pgc.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pgc.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/var/lib/postgresql/data', '/var/run/postgresql', '/tmp', '/run/secrets/tracking-db']);
    // The image's entrypoint reads the login from files (its *_FILE variables): no Secret in the env.
    expect(pgc.env.filter((e: any) => e.valueFrom)).toEqual([]);
    expect(pgc.env).toEqual(
      expect.arrayContaining([
        { name: 'POSTGRES_USER_FILE', value: '/run/secrets/tracking-db/username' },
        { name: 'POSTGRES_PASSWORD_FILE', value: '/run/secrets/tracking-db/password' },
      ]),
    );
    expect(pg.spec.template.spec.volumes).toContainEqual({
      name: 'secret-tracking-db',
      secret: {
        secretName: 'tracking-db',
        items: [
          { key: 'username', path: 'username' },
          { key: 'password', path: 'password' },
        ],
        defaultMode: 0o440,
      },
    });
    expect(find(objects, 'PodDisruptionBudget', 'postgres').spec.maxUnavailable).toBe(1);

    const trackingEnv = Object.fromEntries(
      container(find(objects, 'Deployment', 'tracking')).env.map((e: any) => [e.name, e.value ?? e.valueFrom.secretKeyRef]),
    );
    expect(trackingEnv.MLFLOW_S3_ENDPOINT_URL).toBe('http://minio.mlops-platform.svc:9000');
    expect(trackingEnv.AWS_ACCESS_KEY_ID).toEqual({ name: 'minio-tracking', key: 'access-key' });
    expect(find(objects, 'StatefulSet', 'minio').spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');

    const ing = find(objects, 'Ingress', 'tracking');
    expect(ing.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      'nginx.ingress.kubernetes.io/auth-secret': 'ingress-basic-auth',
    });
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.rules[0].host).toBe('mlflow.127.0.0.1.nip.io');
    expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'tracking', port: { number: 5000 } });
    expect(ing.spec.tls).toBeUndefined();
    expect(objects.some((o) => o.kind === 'Application')).toBe(false);
  });

  it('the MinIO bucket Job creates a private bucket and a user limited to it', () => {
    const objects = all(loadEnvironment('dev', { pipelines: { churn: churnPipeline() } }));
    const script: string = container(find(objects, 'Job', 'minio-bucket')).command[2];
    // With pipelines the bucket Job also creates their user, limited to the bucket's pipelines/ prefix.
    expect(script).toBe(bucketScript('mlflow-artifacts', { pipelines: true }));
    const pipelinesPolicy = JSON.parse(/pipelines-policy.json <<'EOF'\n(.*)\nEOF/.exec(script)![1]);
    expect(pipelinesPolicy.Statement.flatMap((s: any) => s.Resource)).toEqual(['arn:aws:s3:::mlflow-artifacts', 'arn:aws:s3:::mlflow-artifacts/pipelines/*']);
    expect(script).toContain('mc mb --ignore-existing "platform/mlflow-artifacts"');
    expect(script).toContain('mc anonymous set none "platform/mlflow-artifacts"');
    expect(script).not.toMatch(/anonymous set (download|public|upload)/);
    const policy = JSON.parse(/<<'EOF'\n(.*)\nEOF/.exec(script)![1]);
    expect(policy.Statement.flatMap((s: any) => s.Resource)).toEqual(['arn:aws:s3:::mlflow-artifacts', 'arn:aws:s3:::mlflow-artifacts/*']);
  });

  it('staging: OIDC through oauth2-proxy, cert-manager TLS with an ACME ClusterIssuer, S3 artifacts, Argo CD Application', () => {
    const env = loadEnvironment('staging');
    const files = synthEnvironment(env);
    const objects = files.flatMap((f) => f.objects);
    const ing = find(objects, 'Ingress', 'tracking');
    expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'oauth2-proxy', port: { number: 4180 } });
    expect(ing.metadata.annotations?.['cert-manager.io/cluster-issuer']).toBe('letsencrypt-staging');
    expect(ing.spec.tls).toEqual([{ hosts: ['mlflow.staging.example.com'], secretName: 'tracking-tls' }]);
    const issuer = find(objects, 'ClusterIssuer', 'letsencrypt-staging');
    expect(issuer.spec.acme.server).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
    const proxyArgs: string[] = container(find(objects, 'Deployment', 'oauth2-proxy')).args;
    expect(proxyArgs).toEqual(
      expect.arrayContaining([
        '--provider=oidc',
        '--oidc-issuer-url=https://login.example.com/realms/ml',
        '--client-id=mlflow-staging',
        '--email-domain=example.com',
        '--allowed-group=ml-engineers',
        '--upstream=http://tracking.mlops-platform.svc:5000/',
        '--redirect-url=https://mlflow.staging.example.com/oauth2/callback',
      ]),
    );
    const args: string[] = container(find(objects, 'Deployment', 'tracking')).args;
    expect(args[args.indexOf('--artifacts-destination') + 1]).toBe('s3://mlops-blueprint-staging-artifacts/mlflow');
    expect(objects.some((o) => o.kind === 'StatefulSet' && o.metadata.name === 'minio')).toBe(false);

    const [app] = files.find((f) => f.name === ARGOCD_FILE)!.objects as Array<KubeObject & { spec: any }>;
    expect(app).toMatchObject({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'mlops-staging', namespace: 'argocd' } });
    expect(app.spec.source).toMatchObject({ repoURL: 'https://git.example.com/platform/mlops-gitops.git', path: 'dist/staging', targetRevision: 'main' });
    expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  it('prod: RDS instead of the StatefulSet (host from the cloud stack, else from a Secret), IRSA for S3', () => {
    const env = loadEnvironment('prod');
    let objects = all(env);
    expect(objects.some((o) => o.metadata.name === 'postgres')).toBe(false);
    let args: string[] = container(find(objects, 'Deployment', 'tracking')).args;
    expect(args[args.indexOf('--backend-store-uri') + 1]).toBe('postgresql://$(PGHOST):5432/mlflow?sslmode=require');
    expect(container(find(objects, 'Deployment', 'tracking')).env[0]).toEqual({
      name: 'PGHOST',
      valueFrom: { secretKeyRef: { name: 'tracking-db-host', key: 'host' } },
    });
    expect(requiredSecrets(env)).toContain('trackingDbHost');

    objects = all(env, {
      cloud: {
        databaseHost: 'mlflow.abc.eu-west-1.rds.amazonaws.com',
        trackingRoleArn: 'arn:aws:iam::123456789012:role/tracking',
        artifactBucket: 'acme-prod-artifacts',
      },
    });
    args = container(find(objects, 'Deployment', 'tracking')).args;
    expect(args[args.indexOf('--backend-store-uri') + 1]).toBe('postgresql://mlflow.abc.eu-west-1.rds.amazonaws.com:5432/mlflow?sslmode=require');
    expect(args[args.indexOf('--artifacts-destination') + 1]).toBe('s3://acme-prod-artifacts/mlflow');
    expect(find(objects, 'ServiceAccount', 'tracking').metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/tracking',
    });
    const trackingEnv = container(find(objects, 'Deployment', 'tracking')).env.map((e: any) => e.name);
    expect(trackingEnv).not.toContain('AWS_ACCESS_KEY_ID');
    expect(trackingEnv).toContain('AWS_REGION');
  });

  it('scales the tracking server with an HPA only when the store is shared', async () => {
    const { App, Chart } = await import('cdk8s');
    const { TrackingServer } = await import('../../constructs/tracking');
    const env = loadEnvironment('dev');
    const app = new App();
    const chart = new Chart(app, 'c', { disableResourceNameHashes: true });
    new TrackingServer(chart, 't', { ctx: { env, secretsMode: 'pulumi', cloud: {} }, autoscale: false });
    const objects = chart.toJson() as Array<KubeObject & { spec: any }>;
    expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
    expect(find(objects, 'Deployment', 'tracking').spec.replicas).toBe(2);
    const hpa = find(all(env), 'HorizontalPodAutoscaler', 'tracking');
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([1, 2]);
  });
});

describe('NetworkPolicies: exactly the seed flows', () => {
  const policies = (env: EnvironmentConfig) =>
    Object.fromEntries(
      all(env)
        .filter((o) => o.kind === 'NetworkPolicy')
        .map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, (p as any).spec]),
    );

  it('dev: controller → tracking:5000; tracking → postgres:5432 and minio:9000; bucket Job → minio; nothing reaches PostgreSQL but the tracking pods', () => {
    const p = policies(loadEnvironment('dev'));
    const tracking = p['mlops-platform/tracking'];
    expect(tracking.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(tracking.ingress[0].from[0]).toEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } });
    expect(tracking.ingress.every((r: any) => r.ports.every((x: any) => x.port === 5000))).toBe(true);
    expect(tracking.egress).toEqual([
      {
        to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/instance': 'dev' } } }],
        ports: [{ protocol: 'TCP', port: 5432 }],
      },
      {
        to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'minio', 'app.kubernetes.io/instance': 'dev' } } }],
        ports: [{ protocol: 'TCP', port: 9000 }],
      },
    ]);
    expect(p['mlops-platform/postgres'].ingress).toEqual([
      {
        from: [
          { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tracking', 'app.kubernetes.io/instance': 'dev' } } },
          { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tracking-db-upgrade', 'app.kubernetes.io/instance': 'dev' } } },
        ],
        ports: [{ protocol: 'TCP', port: 5432 }],
      },
    ]);
    // Egress denied by the policy type with no rules — and no `egress: []`, which the API server drops, so
    // every re-apply would bump the generation (found applying to a real control plane, test/cluster).
    expect(p['mlops-platform/postgres'].policyTypes).toEqual(['Ingress', 'Egress']);
    expect(p['mlops-platform/postgres']).not.toHaveProperty('egress');
    expect(p['mlops-platform/tracking-db-upgrade']).toEqual(expect.objectContaining({ policyTypes: ['Ingress', 'Egress'] }));
    expect(p['mlops-platform/tracking-db-upgrade']).not.toHaveProperty('ingress');
    expect(p['mlops-platform/minio-bucket'].egress).toEqual([
      {
        to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'minio', 'app.kubernetes.io/instance': 'dev' } } }],
        ports: [{ protocol: 'TCP', port: 9000 }],
      },
    ]);
    // Prometheus may scrape the metrics ports, from its own namespace and pods only.
    expect(tracking.ingress[1]).toEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 5000 }],
    });
  });

  it('prod: controller → oauth2-proxy → tracking; tracking → RDS:5432 in the VPC and S3:443 outside it', () => {
    const env = loadEnvironment('prod');
    const p = policies(env);
    expect(p['mlops-platform/oauth2-proxy'].ingress[0]).toEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
      ports: [{ protocol: 'TCP', port: 4180 }],
    });
    const tracking = p['mlops-platform/tracking'];
    expect(tracking.ingress[0].from[0]).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'oauth2-proxy', 'app.kubernetes.io/instance': 'prod' } },
    });
    expect(tracking.egress).toEqual([
      { to: [{ ipBlock: { cidr: '10.30.0.0/16' } }], ports: [{ protocol: 'TCP', port: 5432 }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.30.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ]);
    expect(p['mlops-platform/postgres']).toBeUndefined();
    expect(p['mlops-platform/minio']).toBeUndefined();
  });

  it('training and inference pods reach the tracking server, and only it; the controller reaches inference:8080 (REST) and :8081 (gRPC)', () => {
    for (const name of ENVIRONMENT_NAMES) {
      const env = loadEnvironment(name);
      const objects = all(env);
      const p = policies(env);
      const trackingPeers = p[`${env.namespaces.platform}/tracking`].ingress[0].from;
      const toTracking = [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env.namespaces.platform } },
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tracking', 'app.kubernetes.io/instance': name } },
            },
          ],
          ports: [{ protocol: 'TCP', port: 5000 }],
        },
      ];
      const hasPods = (ns: string, component: string) =>
        podTemplates(objects).some(({ tpl }) => tpl.namespace === ns && tpl.labels['app.kubernetes.io/component'] === component);
      if (hasPods(env.namespaces.training, 'training')) {
        expect(p[`${env.namespaces.training}/training`].egress).toEqual(toTracking);
        expect(trackingPeers).toContainEqual({
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env.namespaces.training } },
          podSelector: { matchLabels: { 'app.kubernetes.io/component': 'training' } },
        });
      } else {
        expect(p[`${env.namespaces.training}/training`]).toBeUndefined();
      }
      if (hasPods(env.namespaces.serving, 'inference')) {
        const inference = p[`${env.namespaces.serving}/inference`];
        expect(inference.egress).toEqual(toTracking);
        expect(inference.ingress[0]).toEqual({
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
          ports: [
            { protocol: 'TCP', port: 8080 },
            { protocol: 'TCP', port: 8081 },
          ],
        });
        expect(trackingPeers).toContainEqual({
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env.namespaces.serving } },
          podSelector: { matchLabels: { 'app.kubernetes.io/component': 'inference' } },
        });
      }
    }
  });
});

describe('gates', () => {
  it('no variant (every environment, both secrets modes) emits a Secret with data', () => {
    for (const { env } of environmentVariants()) {
      const objects = all(env);
      expect(objects.filter((o) => o.kind === 'Secret' && ((o as any).data || (o as any).stringData))).toEqual([]);
    }
  });

  it('schema validation rejects an object its OpenAPI schema does not allow, naming the field', () => {
    const files = synthEnvironment(loadEnvironment('dev'));
    const bad = JSON.parse(JSON.stringify(files)) as typeof files;
    const dep = bad.flatMap((f) => f.objects).find((o) => o.kind === 'Deployment') as any;
    dep.spec.template.spec.containers[0].ports[0].containerPort = 'five thousand';
    expect(() => validateObjects(bad, 'dev')).toThrow(SynthValidationError);
    expect(() => validateObjects(bad, 'dev')).toThrow(/Deployment\/mlops-platform\/tracking: .*containerPort must be integer/);
  });

  it('ExternalSecrets are external-secrets.io/v1 (v1.x serves no v1beta1), and their schema check still rejects a bad one', () => {
    const objects = all(loadEnvironment('staging'));
    const secrets = objects.filter((o) => o.kind === 'ExternalSecret');
    expect(secrets.length).toBeGreaterThan(0);
    expect(new Set(secrets.map((o) => o.apiVersion))).toEqual(new Set([EXTERNAL_SECRETS_API]));
    expect(EXTERNAL_SECRETS_API).toBe('external-secrets.io/v1');
    const bad = JSON.parse(JSON.stringify(secrets[0]));
    bad.spec.data[0].remoteRef = { key: 42 };
    expect(schemaProblems(bad)).toEqual([expect.stringMatching(/remoteRef\/key must be string/)]);
  });

  it('the ClusterSecretStore the ExternalSecrets read is in the output when the environment describes it', () => {
    const objects = all(loadEnvironment('staging'));
    const stores = objects.filter((o) => o.kind === 'ClusterSecretStore') as Array<KubeObject & { spec: any }>;
    expect(stores.map((o) => [o.apiVersion, o.metadata.name, o.spec])).toEqual([
      [EXTERNAL_SECRETS_API, 'aws-secrets-manager', { provider: { aws: { service: 'SecretsManager', region: 'eu-west-1' } } }],
    ]);
    const refs = new Set(objects.filter((o) => o.kind === 'ExternalSecret').map((o) => JSON.stringify((o as any).spec.secretStoreRef)));
    expect([...refs]).toEqual([JSON.stringify({ kind: 'ClusterSecretStore', name: 'aws-secrets-manager' })]);
    // Without secrets.store.aws the store is a prerequisite: nothing is emitted.
    const prereq = loadEnvironment('staging', { secrets: { store: { aws: undefined } } });
    expect(all(prereq).some((o) => o.kind === 'ClusterSecretStore')).toBe(false);
    expect(() => loadEnvironment('staging', { secrets: { store: { kind: 'SecretStore' } } })).toThrow(
      /secrets\.store\.aws: is only emitted as a ClusterSecretStore/,
    );
  });

  it('GitOps output of an Argo CD environment with Pulumi-made Secrets is refused, naming why', () => {
    const staging = loadEnvironment('staging');
    expect(() => renderEnvironment(staging, { secretsMode: 'pulumi' })).toThrow(SynthValidationError);
    expect(() => renderEnvironment(staging, { secretsMode: 'pulumi' })).toThrow(/gitops: an environment synced by Argo CD must be deployable from Git alone/);
    expect(renderEnvironment(staging, { imageLock: testImageLockFile() }).files.some((f) => f.name === ARGOCD_FILE)).toBe(true);
  });

  it('schema validation fails closed on a kind without a published schema', () => {
    expect(schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toEqual([
      'no published schema for example.com/v1 Widget',
    ]);
  });
});
