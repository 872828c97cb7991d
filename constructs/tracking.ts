import { Construct } from 'constructs';
import type { EnvOnlySecrets } from './deviations';
import type { EnvironmentConfig } from '../environments';
import {
  customObject,
  emptyDir,
  imageVersion,
  k8s,
  RUNTIME_UID,
  resources,
  secretEnv,
  secretFiles,
  selectorLabels,
  serviceAccount,
  standardLabels,
  TRACKING_NAME,
  TRACKING_PORT,
  type PlatformContext,
  zeroDowntimeRollout,
} from './common';
import { minioEndpoint } from './minio';
import { disruptionBudget, dnsLabelFrom, httpProbe, KUBE_SCORE_IGNORE, podMetadata, restricted, spreadConstraints } from './platform-pods';
import { postgresHost, POSTGRES_PORT } from './postgres';
import { needsDbHostSecret, PLATFORM_SECRETS } from './secrets';

/** `app.kubernetes.io/name` of the per-release migration Job's pods (NetworkPolicies select them). */
export const TRACKING_MIGRATE_NAME = 'tracking-db-upgrade';

/** How the tracking server reaches its two stores: URIs, env vars and the ServiceAccount annotations (IRSA). */
export interface StoreWiring {
  /** `--backend-store-uri`: no credentials in it (PGUSER/PGPASSWORD come from the Secret). */
  backendStoreUri: string;
  /** `--artifacts-destination`: `s3://bucket[/prefix]`. */
  artifactsDestination: string;
  /** Env vars for the database connection (credentials by Secret reference). */
  dbEnv: k8s.EnvVar[];
  /** Env vars for the artifact store (endpoint, region, credentials or nothing under IRSA). */
  artifactEnv: k8s.EnvVar[];
  serviceAccountAnnotations: Record<string, string>;
}

/** The S3 bucket of an `s3` artifact store: the environment's, the cloud stack's, or the stack's default name. */
export function artifactBucket(env: EnvironmentConfig, cloud: PlatformContext['cloud']): string {
  if (env.artifactStore.kind === 'minio') return env.artifactStore.bucket;
  return env.artifactStore.bucket ?? cloud.artifactBucket ?? `${env.partOf}-${env.name}-artifacts`;
}

export function storeWiring(ctx: PlatformContext): StoreWiring {
  const { env, cloud } = ctx;
  const db = PLATFORM_SECRETS.trackingDb.name;
  const dbEnv: k8s.EnvVar[] = [secretEnv('PGUSER', db, 'username'), secretEnv('PGPASSWORD', db, 'password')];
  let backendStoreUri: string;
  const ms = env.metadataStore;
  if (ms.kind === 'in-cluster-postgres') {
    backendStoreUri = `postgresql://${postgresHost(env)}:${POSTGRES_PORT}/${ms.database}`;
  } else {
    let host = ms.host ?? cloud.databaseHost;
    if (needsDbHostSecret(env, cloud)) {
      // Only the cloud stack knows the RDS address: read it from a Secret, expanded by the kubelet in args.
      dbEnv.unshift(secretEnv('PGHOST', PLATFORM_SECRETS.trackingDbHost.name, 'host'));
      host = '$(PGHOST)';
    }
    backendStoreUri = `postgresql://${host}:${ms.port}/${ms.database}?sslmode=${ms.sslMode}`;
  }

  const bucket = artifactBucket(env, cloud);
  const as = env.artifactStore;
  const artifactEnv: k8s.EnvVar[] = [];
  const serviceAccountAnnotations: Record<string, string> = {};
  let artifactsDestination: string;
  if (as.kind === 'minio') {
    artifactsDestination = `s3://${bucket}`;
    const creds = PLATFORM_SECRETS.minioTracking.name;
    artifactEnv.push(
      { name: 'MLFLOW_S3_ENDPOINT_URL', value: minioEndpoint(env) },
      { name: 'AWS_REGION', value: 'us-east-1' },
      secretEnv('AWS_ACCESS_KEY_ID', creds, 'access-key'),
      secretEnv('AWS_SECRET_ACCESS_KEY', creds, 'secret-key'),
    );
  } else {
    artifactsDestination = `s3://${bucket}${as.prefix ? `/${as.prefix.replace(/^\/+|\/+$/g, '')}` : ''}`;
    if (env.cluster.kind === 'eks') artifactEnv.push({ name: 'AWS_REGION', value: env.cluster.region });
    // IRSA: the EKS webhook injects a web-identity token for this role; no static keys anywhere.
    if (cloud.trackingRoleArn) serviceAccountAnnotations['eks.amazonaws.com/role-arn'] = cloud.trackingRoleArn;
  }
  return { backendStoreUri, artifactsDestination, dbEnv, artifactEnv, serviceAccountAnnotations };
}

const PG_ENV_ONLY =
  'node-postgres in the tracking server and its migration Job takes the database login from libpq variables (PGHOST is the RDS address only the cloud stack knows, expanded into --backend-store-uri by the kubelet, which expands env vars only); a pgpass file would need a key neither Pulumi nor the secret stores hold.';
const SERVICE_USER_ENV_ONLY = 'the tracking server provisions the in-cluster service users from MLOPS_AUTH_USER_<ID>_USERNAME/_PASSWORD pairs only (runtime/tracking/cli.ts has no file form yet).';

/** The tracking pods' Secret env vars and why each stays an env var (the admin password is a file). */
export const TRACKING_ENV_ONLY: EnvOnlySecrets = {
  PGHOST: PG_ENV_ONLY,
  PGUSER: PG_ENV_ONLY,
  PGPASSWORD: PG_ENV_ONLY,
  AWS_ACCESS_KEY_ID: 'the AWS SDK takes static keys from env (dev MinIO only; on EKS the tracking server uses IRSA and holds no keys).',
  AWS_SECRET_ACCESS_KEY: 'the AWS SDK takes static keys from env (dev MinIO only; on EKS the tracking server uses IRSA and holds no keys).',
  ...Object.fromEntries(['TRAINING', 'SERVING'].flatMap((id) => [`MLOPS_AUTH_USER_${id}_USERNAME`, `MLOPS_AUTH_USER_${id}_PASSWORD`].map((n) => [n, SERVICE_USER_ENV_ONLY]))),
};

/** Every Host header the tracking server is reached by: its Service's DNS names, the public host, and `kubectl port-forward`'s. */
export function trackingHostNames(env: EnvironmentConfig): string[] {
  const ns = env.namespaces.platform;
  return ['localhost', '127.0.0.1', TRACKING_NAME, `${TRACKING_NAME}.${ns}`, `${TRACKING_NAME}.${ns}.svc`, `${TRACKING_NAME}.${ns}.svc.cluster.local`, env.ingress.host];
}

/** FORWARDED_ALLOW_IPS from `ingress.trustedProxies` (default: the VPC CIDR on EKS). */
function trustedProxyEnv(env: EnvironmentConfig): k8s.EnvVar[] {
  const proxies = env.ingress.trustedProxies ?? (env.cluster.kind === 'eks' ? [env.cluster.vpcCidr] : []);
  return proxies.length ? [{ name: 'FORWARDED_ALLOW_IPS', value: proxies.join(',') }] : [];
}

/** `MLOPS_AUTH_USER_<ID>_USERNAME` / `_PASSWORD` from a login Secret: a user `mlops tracking serve --app-name basic-auth` provisions. */
export function serviceUserEnv(id: string, secret: string): k8s.EnvVar[] {
  return [secretEnv(`MLOPS_AUTH_USER_${id}_USERNAME`, secret, 'username'), secretEnv(`MLOPS_AUTH_USER_${id}_PASSWORD`, secret, 'password')];
}

/** Postgres + object storage: state lives outside the pods, so replicas are interchangeable and may scale. */
export function hasSharedStore(env: EnvironmentConfig): boolean {
  const pg = env.metadataStore.kind === 'in-cluster-postgres' || env.metadataStore.kind === 'external-postgres';
  return pg && (env.artifactStore.kind === 'minio' || env.artifactStore.kind === 's3');
}

export interface TrackingServerProps {
  readonly ctx: PlatformContext;
  /** Scale with an HPA between tracking.replicas.min and max. @default true when the store is shared (Postgres + S3/MinIO) */
  readonly autoscale?: boolean;
  /** Target average CPU utilization of the HPA, percent of requests. @default 70 */
  readonly targetCPUUtilization?: number;
  /** Run the server with its own users and permissions (`--app-name basic-auth`). @default true (every cluster environment) */
  readonly basicAuthApp?: boolean;
  /** Seconds a finished migration Job is kept before garbage collection. @default 86400 */
  readonly migrationTtlSeconds?: number;
}

/**
 * The project's tracking server: Deployment + Service on port 5000, stores wired by reference (no
 * credential in any URI), probes on /health, a migration Job per release (`mlops tracking db upgrade`,
 * named after the image version so each release migrates once and pods never race on the schema), an
 * HPA and a PDB when the store is shared, and a ServiceMonitor for /metrics.
 */
export class TrackingServer extends Construct {
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;
  readonly migrationJob: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: TrackingServerProps) {
    super(scope, id);
    const { ctx } = props;
    const { env } = ctx;
    const ns = env.namespaces.platform;
    const name = TRACKING_NAME;
    const version = imageVersion(env.tracking.image);
    const wiring = storeWiring(ctx);
    const autoscale = props.autoscale ?? hasSharedStore(env);
    const basicAuth = props.basicAuthApp ?? true;
    const sec = restricted(RUNTIME_UID);

    serviceAccount(this, env, name, ns, 'tracking', wiring.serviceAccountAnnotations);
    // The admin password as a file (`--auth-admin-password-file`), not an env var.
    const admin = secretFiles(PLATFORM_SECRETS.trackingAdmin.name, ['password']);

    const args = [
      'tracking',
      'serve',
      '--host',
      '0.0.0.0',
      '--port',
      String(TRACKING_PORT),
      '--backend-store-uri',
      wiring.backendStoreUri,
      '--artifacts-destination',
      wiring.artifactsDestination,
      '--serve-artifacts',
      ...(basicAuth ? ['--app-name', 'basic-auth', '--auth-admin-password-file', admin.path('password')] : []),
    ];
    const env_: k8s.EnvVar[] = [
      ...wiring.dbEnv,
      ...wiring.artifactEnv,
      // The in-cluster clients' logins: the server creates these users at start (and follows a rotated password).
      ...(basicAuth ? serviceUserEnv('TRAINING', PLATFORM_SECRETS.trackingUserTraining.name) : []),
      ...(basicAuth && env.inference.models.length > 0 ? serviceUserEnv('SERVING', PLATFORM_SECRETS.trackingUserServing.name) : []),
      // DNS-rebinding guard: the names in-cluster clients and the ingress use (an explicit list replaces the loopback/private defaults).
      { name: 'MLFLOW_SERVER_ALLOWED_HOSTS', value: trackingHostNames(env).join(',') },
      ...trustedProxyEnv(env),
      { name: 'HOME', value: '/tmp' },
    ];

    this.service = new k8s.KubeService(this, 'service', {
      metadata: { name, namespace: ns, labels: standardLabels(env, name, 'tracking', version) },
      spec: { type: 'ClusterIP', selector: selectorLabels(env, name), ports: [{ name: 'http', port: TRACKING_PORT, targetPort: k8s.IntOrString.fromString('http') }] },
    });

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name, namespace: ns, labels: standardLabels(env, name, 'tracking', version) },
      spec: {
        // Under an HPA, spec.replicas is left to it (a GitOps sync would otherwise reset the scale).
        ...(autoscale ? {} : { replicas: Math.max(2, env.tracking.replicas.min) }),
        selector: { matchLabels: selectorLabels(env, name) },
        strategy: zeroDowntimeRollout(),
        template: {
          metadata: podMetadata(env, name, 'tracking', version),
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: sec.pod,
            topologySpreadConstraints: spreadConstraints(env, name),
            containers: [
              {
                name: 'tracking',
                image: env.tracking.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['mlops'],
                args,
                ports: [{ name: 'http', containerPort: TRACKING_PORT, protocol: 'TCP' }],
                env: env_,
                securityContext: sec.container,
                resources: resources(env.tracking.resources),
                startupProbe: httpProbe('/health', 'http', { period: 5, failureThreshold: 60 }),
                readinessProbe: httpProbe('/health', 'http', { period: 10, failureThreshold: 3 }),
                livenessProbe: httpProbe('/health', TRACKING_PORT, { period: 20, failureThreshold: 6, timeout: 5 }),
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(basicAuth ? [admin.mount] : [])],
              },
            ],
            volumes: [emptyDir('tmp', '512Mi'), ...(basicAuth ? [admin.volume] : [])],
          },
        },
      },
    });

    const job = TRACKING_MIGRATE_NAME;
    const jobName = `${job}-${dnsLabelFrom(version, 63 - job.length - 1)}`;
    this.migrationJob = new k8s.KubeJob(this, 'migration', {
      metadata: { name: jobName, namespace: ns, labels: standardLabels(env, job, 'tracking-migration', version) },
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: 1800,
        ttlSecondsAfterFinished: props.migrationTtlSeconds ?? 86400,
        template: {
          metadata: podMetadata(env, job, 'tracking-migration', version),
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            restartPolicy: 'Never',
            securityContext: sec.pod,
            containers: [
              {
                name: 'db-upgrade',
                image: env.tracking.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['mlops'],
                args: ['tracking', 'db', 'upgrade', '--backend-store-uri', wiring.backendStoreUri],
                env: [...wiring.dbEnv, { name: 'HOME', value: '/tmp' }],
                securityContext: sec.container,
                resources: resources({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } }),
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [emptyDir('tmp', '64Mi')],
          },
        },
      },
    });

    if (autoscale) {
      // A one-replica floor is the environment's choice (a laptop cluster); rollouts still surge a new pod first.
      const singleReplicaFloor = env.tracking.replicas.min < 2
        ? { annotations: { [KUBE_SCORE_IGNORE]: 'horizontalpodautoscaler-replicas', 'mlops-blueprint.io/why-one-replica': `environment ${env.name} sets tracking.replicas.min ${env.tracking.replicas.min}` } }
        : {};
      new k8s.KubeHorizontalPodAutoscalerV2(this, 'hpa', {
        metadata: { name, namespace: ns, labels: standardLabels(env, name, 'tracking', version), ...singleReplicaFloor },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
          minReplicas: env.tracking.replicas.min,
          maxReplicas: env.tracking.replicas.max,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: props.targetCPUUtilization ?? 70 } } }],
        },
      });
    }
    disruptionBudget(this, env, name, ns, 'tracking');

    if (env.monitoring.serviceMonitors) {
      customObject(this, 'service-monitor', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name, namespace: ns, labels: standardLabels(env, name, 'tracking', version) },
        spec: { selector: { matchLabels: selectorLabels(env, name) }, endpoints: [{ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }] },
      });
    }
  }
}
