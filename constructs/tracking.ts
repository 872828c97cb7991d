import { Construct } from 'constructs';
import type { EnvOnlySecrets } from './deviations';
import type { EnvironmentConfig } from '../environments';
import {
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
} from './common';
import { minioEndpoint } from './minio';
import { dnsLabelFrom, httpProbe, podMetadata, restricted, serviceMonitor, spreadTopologyKeys } from './platform-pods';
import { ServingWorkload } from './serving-workload';
import { IRSA_ANNOTATION, podGroup, type IdentityBinding, type PodGroup } from './facts';
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
    if (cloud.trackingRoleArn) serviceAccountAnnotations[IRSA_ANNOTATION] = cloud.trackingRoleArn;
  }
  return { backendStoreUri, artifactsDestination, dbEnv, artifactEnv, serviceAccountAnnotations };
}

const PG_ENV_ONLY =
  'node-postgres in the tracking server and its migration Job takes the database login from libpq variables (PGHOST is the RDS address only the cloud stack knows, expanded into --backend-store-uri by the kubelet, which expands env vars only); a pgpass file would need a key neither Pulumi nor the secret stores hold.';
const SERVICE_USER_ENV_ONLY =
  'the tracking server provisions the in-cluster service users from MLOPS_AUTH_USER_<ID>_USERNAME/_PASSWORD pairs only (runtime/tracking/cli.ts has no file form yet).';

/** The tracking pods' Secret env vars and why each stays an env var (the admin password is a file). */
export const TRACKING_ENV_ONLY: EnvOnlySecrets = {
  PGHOST: PG_ENV_ONLY,
  PGUSER: PG_ENV_ONLY,
  PGPASSWORD: PG_ENV_ONLY,
  AWS_ACCESS_KEY_ID: 'the AWS SDK takes static keys from env (dev MinIO only; on EKS the tracking server uses IRSA and holds no keys).',
  AWS_SECRET_ACCESS_KEY: 'the AWS SDK takes static keys from env (dev MinIO only; on EKS the tracking server uses IRSA and holds no keys).',
  ...Object.fromEntries(
    ['TRAINING', 'SERVING'].flatMap((id) => [`MLOPS_AUTH_USER_${id}_USERNAME`, `MLOPS_AUTH_USER_${id}_PASSWORD`].map((n) => [n, SERVICE_USER_ENV_ONLY])),
  ),
};

/** Every Host header the tracking server is reached by: its Service's DNS names, the public host, and `kubectl port-forward`'s. */
export function trackingHostNames(env: EnvironmentConfig): string[] {
  const ns = env.namespaces.platform;
  return [
    'localhost',
    '127.0.0.1',
    TRACKING_NAME,
    `${TRACKING_NAME}.${ns}`,
    `${TRACKING_NAME}.${ns}.svc`,
    `${TRACKING_NAME}.${ns}.svc.cluster.local`,
    env.ingress.host,
  ];
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

export interface TrackingServerProps {
  readonly ctx: PlatformContext;
  /**
   * Scale with an HPA between tracking.replicas.min and max. Every environment's stores are shared (the schema only
   * has PostgreSQL and object-storage kinds), so replicas are interchangeable. @default true
   */
  readonly autoscale?: boolean;
  /** Target average CPU utilization of the HPA, percent of requests. @default 70 */
  readonly targetCPUUtilization?: number;
  /** Run the server with its own users and permissions (`--app-name basic-auth`). @default true (every cluster environment) */
  readonly basicAuthApp?: boolean;
  /** Seconds a finished migration Job is kept before garbage collection. @default 86400 */
  readonly migrationTtlSeconds?: number;
}

/** The tracking server's admin password as a file (`--auth-admin-password-file`), not an env var. */
function adminPasswordFile(): ReturnType<typeof secretFiles> {
  return secretFiles(PLATFORM_SECRETS.trackingAdmin.name, ['password']);
}

/** `mlops tracking serve` with the stores by reference and, with the basic-auth app, the admin password file. */
function serveArgs(wiring: StoreWiring, basicAuth: boolean): string[] {
  return [
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
    ...(basicAuth ? ['--app-name', 'basic-auth', '--auth-admin-password-file', adminPasswordFile().path('password')] : []),
  ];
}

/** The server container: stores wired by reference, probes on /health, /tmp and the admin password mounted. */
function serverContainer(env: EnvironmentConfig, wiring: StoreWiring, basicAuth: boolean): k8s.Container {
  const admin = adminPasswordFile();
  return {
    name: 'tracking',
    image: env.tracking.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['mlops'],
    args: serveArgs(wiring, basicAuth),
    ports: [{ name: 'http', containerPort: TRACKING_PORT, protocol: 'TCP' }],
    env: [
      ...wiring.dbEnv,
      ...wiring.artifactEnv,
      // The in-cluster clients' logins: the server creates these users at start (and follows a rotated password).
      ...(basicAuth ? serviceUserEnv('TRAINING', PLATFORM_SECRETS.trackingUserTraining.name) : []),
      ...(basicAuth && env.inference.models.length > 0 ? serviceUserEnv('SERVING', PLATFORM_SECRETS.trackingUserServing.name) : []),
      // DNS-rebinding guard: the names in-cluster clients and the ingress use (an explicit list replaces the loopback/private defaults).
      { name: 'MLFLOW_SERVER_ALLOWED_HOSTS', value: trackingHostNames(env).join(',') },
      ...trustedProxyEnv(env),
      { name: 'HOME', value: '/tmp' },
    ],
    securityContext: restricted(RUNTIME_UID).container,
    resources: resources(env.tracking.resources),
    startupProbe: httpProbe('/health', 'http', { period: 5, failureThreshold: 60 }),
    readinessProbe: httpProbe('/health', 'http', { period: 10, failureThreshold: 3 }),
    livenessProbe: httpProbe('/health', TRACKING_PORT, { period: 20, failureThreshold: 6, timeout: 5 }),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(basicAuth ? [admin.mount] : [])],
  };
}

/**
 * The release's schema migration (`mlops tracking db upgrade`) as a Job named after the image version, so
 * each release migrates once and pods never race on the schema.
 */
function migrationJob(
  scope: Construct,
  env: EnvironmentConfig,
  wiring: StoreWiring,
  version: string,
  ttlSecondsAfterFinished: number,
): { job: k8s.KubeJob; pods: PodGroup } {
  const ns = env.namespaces.platform;
  const job = TRACKING_MIGRATE_NAME;
  const sec = restricted(RUNTIME_UID);
  const pods = podMetadata(env, job, 'tracking-migration', version);
  const apiObject = new k8s.KubeJob(scope, 'migration', {
    metadata: { name: `${job}-${dnsLabelFrom(version, 63 - job.length - 1)}`, namespace: ns, labels: standardLabels(env, job, 'tracking-migration', version) },
    spec: {
      backoffLimit: 6,
      activeDeadlineSeconds: 1800,
      ttlSecondsAfterFinished,
      template: {
        metadata: pods,
        spec: {
          serviceAccountName: TRACKING_NAME,
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
  return { job: apiObject, pods: podGroup(ns, pods.labels) };
}

/**
 * The project's tracking server: Deployment + Service on port 5000, stores wired by reference (no
 * credential in any URI), probes on /health, a migration Job per release (`mlops tracking db upgrade`,
 * named after the image version so each release migrates once and pods never race on the schema), an
 * HPA and a PDB when the store is shared, and a ServiceMonitor for /metrics.
 */
export class TrackingServer extends Construct {
  readonly workload: ServingWorkload;
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;
  readonly migrationJob: k8s.KubeJob;
  /** The server's pods and the migration Job's. */
  readonly pods: readonly PodGroup[];
  /** The cloud identity the server's ServiceAccount is bound to (IRSA on EKS with S3), if any. */
  readonly identity?: IdentityBinding;

  constructor(scope: Construct, id: string, props: TrackingServerProps) {
    super(scope, id);
    const { ctx } = props;
    const { env } = ctx;
    const ns = env.namespaces.platform;
    const name = TRACKING_NAME;
    const version = imageVersion(env.tracking.image);
    const wiring = storeWiring(ctx);
    const autoscale = props.autoscale ?? true;
    const basicAuth = props.basicAuthApp ?? true;
    const labels = standardLabels(env, name, 'tracking', version);
    const admin = adminPasswordFile();

    serviceAccount(this, env, name, ns, 'tracking', wiring.serviceAccountAnnotations);
    this.workload = new ServingWorkload(this, 'server', {
      name,
      namespace: ns,
      labels,
      selector: selectorLabels(env, name),
      // Under an HPA, spec.replicas is left to it (a GitOps sync would otherwise reset the scale).
      replicas: autoscale ? undefined : Math.max(2, env.tracking.replicas.min),
      serviceAccountName: name,
      securityContext: restricted(RUNTIME_UID).pod,
      spreadTopologyKeys: spreadTopologyKeys(env),
      containers: [serverContainer(env, wiring, basicAuth)],
      volumes: [emptyDir('tmp', '512Mi'), ...(basicAuth ? [admin.volume] : [])],
    });
    this.deployment = this.workload.apiObject;
    this.service = this.workload.exposeViaService({ ports: [{ name: 'http', port: TRACKING_PORT }], beforeWorkload: true });
    const migration = migrationJob(this, env, wiring, version, props.migrationTtlSeconds ?? 86400);
    this.migrationJob = migration.job;
    this.pods = [this.workload.pods, migration.pods];
    const roleArn = wiring.serviceAccountAnnotations[IRSA_ANNOTATION];
    if (roleArn) this.identity = { identity: 'tracking', namespace: ns, serviceAccount: name, roleArn };

    if (autoscale) {
      this.workload.autoscale({
        minReplicas: env.tracking.replicas.min,
        maxReplicas: env.tracking.replicas.max,
        targetCPUUtilization: props.targetCPUUtilization ?? 70,
        // A one-replica floor is the environment's choice (a laptop cluster); rollouts still surge a new pod first.
        singleReplicaReason: `environment ${env.name} sets tracking.replicas.min ${env.tracking.replicas.min}`,
        singleReplicaReasonAnnotation: 'mlops-blueprint.io/why-one-replica',
      });
    }
    // The PDB carries the blueprint's version label, not the image's (as it always has).
    this.workload.limitDisruptions({ labels: standardLabels(env, name, 'tracking') });

    if (env.monitoring.serviceMonitors) {
      serviceMonitor(
        this,
        env,
        { name, namespace: ns, component: 'tracking', version },
        { port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' },
      );
    }
  }
}
