import { Construct } from 'constructs';
import type { EnvOnlySecrets } from './deviations';
import type { EnvironmentConfig } from '../environments';
import {
  emptyDir,
  imageVersion,
  k8s,
  MINIO_NAME,
  RUNTIME_UID,
  resources,
  secretEnv,
  selectorLabels,
  serviceAccount,
  standardLabels,
  type PlatformContext,
} from './common';
import { httpProbe, podMetadata, restricted } from './platform-pods';
import { StatefulWorkload } from './serving-workload';
import { podGroup, type PodGroup } from './facts';
import { hasPipelines, PLATFORM_SECRETS } from './secrets';

type MinioStore = Extract<EnvironmentConfig['artifactStore'], { kind: 'minio' }>;

export const MINIO_PORT = 9000;
/** Name of the Job (and of its pods' `app.kubernetes.io/name`) that creates the bucket and the tracking user. */
export const MINIO_BUCKET_JOB = 'minio-bucket';
/** MinIO policy granting the tracking user its bucket only. */
export const MINIO_TRACKING_POLICY = 'tracking-artifacts';

export interface MinioProps {
  readonly ctx: PlatformContext;
  /** Seconds a finished bucket Job is kept (for its logs) before it is garbage-collected. @default 86400 */
  readonly jobTtlSeconds?: number;
}

const MINIO_ROOT_ENV_ONLY =
  "MinIO's MINIO_ROOT_*_FILE variants fall back to the default minioadmin login when the file is missing, where a missing Secret key stops the pod; the bucket Job hands them to mc on its command line anyway (dev only).";
const MC_ENV_ONLY =
  'the bucket Job hands the tracking user to mc admin user add on its command line, so a file would not keep it out of the process arguments (dev only).';

/** The MinIO pods' Secret env vars and why each stays an env var. */
export const MINIO_ENV_ONLY: EnvOnlySecrets = {
  MINIO_ROOT_USER: MINIO_ROOT_ENV_ONLY,
  MINIO_ROOT_PASSWORD: MINIO_ROOT_ENV_ONLY,
  TRACKING_ACCESS_KEY: MC_ENV_ONLY,
  TRACKING_SECRET_KEY: MC_ENV_ONLY,
  PIPELINES_ACCESS_KEY: MC_ENV_ONLY,
  PIPELINES_SECRET_KEY: MC_ENV_ONLY,
};

/** The in-cluster S3 endpoint the tracking server uses (MLFLOW_S3_ENDPOINT_URL). */
export function minioEndpoint(env: EnvironmentConfig): string {
  return `http://${MINIO_NAME}.${env.namespaces.platform}.svc:${MINIO_PORT}`;
}

/**
 * The shell script of the bucket Job: idempotent, so a re-run (a GitOps re-sync) is harmless. The bucket
 * is created private (`mc anonymous set none`: no anonymous policy at all, unlike charts that make it
 * downloadable), and the tracking server gets its own user whose policy covers that bucket only.
 */
export function bucketScript(bucket: string, opts: { pipelines?: boolean } = {}): string {
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: [`arn:aws:s3:::${bucket}`] },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  });
  return [
    'set -eu',
    `until mc alias set platform "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null; do echo "waiting for MinIO"; sleep 5; done`,
    `mc mb --ignore-existing "platform/${bucket}"`,
    `mc anonymous set none "platform/${bucket}"`,
    `cat > /tmp/policy.json <<'EOF'\n${policy}\nEOF`,
    `mc admin policy create platform ${MINIO_TRACKING_POLICY} /tmp/policy.json`,
    'mc admin user add platform "$TRACKING_ACCESS_KEY" "$TRACKING_SECRET_KEY"',
    // Attaching an already attached policy is an error in mc; check first so a re-run succeeds.
    `mc admin user info platform "$TRACKING_ACCESS_KEY" | grep -q "${MINIO_TRACKING_POLICY}" || mc admin policy attach platform ${MINIO_TRACKING_POLICY} --user "$TRACKING_ACCESS_KEY"`,
    ...(opts.pipelines ? pipelinesUserScript(bucket) : []),
    `echo "bucket ${bucket} ready (private), user attached to ${MINIO_TRACKING_POLICY}"`,
  ].join('\n');
}

/** MinIO policy granting the pipeline steps (Argo's artifact repository) the bucket's `pipelines/` prefix only. */
export const MINIO_PIPELINES_POLICY = 'pipeline-artifacts';

/** The bucket Job's lines creating the pipelines' user, limited to `pipelines/` of the bucket. */
function pipelinesUserScript(bucket: string): string[] {
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`], Condition: { StringLike: { 's3:prefix': ['pipelines/*'] } } },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: [`arn:aws:s3:::${bucket}/pipelines/*`],
      },
    ],
  });
  return [
    `cat > /tmp/pipelines-policy.json <<'EOF'\n${policy}\nEOF`,
    `mc admin policy create platform ${MINIO_PIPELINES_POLICY} /tmp/pipelines-policy.json`,
    'mc admin user add platform "$PIPELINES_ACCESS_KEY" "$PIPELINES_SECRET_KEY"',
    `mc admin user info platform "$PIPELINES_ACCESS_KEY" | grep -q "${MINIO_PIPELINES_POLICY}" || mc admin policy attach platform ${MINIO_PIPELINES_POLICY} --user "$PIPELINES_ACCESS_KEY"`,
  ];
}

/**
 * MinIO (single node: one StatefulSet replica on a volumeClaimTemplate) with a Service for the S3 API,
 * health probes, root credentials from the `minio-root` Secret, metrics for Prometheus, and the Job that
 * creates the private artifact bucket and the tracking server's restricted user.
 */
export class Minio extends Construct {
  readonly workload: StatefulWorkload;
  readonly service: k8s.KubeService;
  readonly statefulSet: k8s.KubeStatefulSet;
  readonly bucketJob: k8s.KubeJob;
  /** The storage pods and the bucket Job's. */
  readonly pods: readonly PodGroup[];

  constructor(scope: Construct, id: string, props: MinioProps) {
    super(scope, id);
    const { env } = props.ctx;
    if (env.artifactStore.kind !== 'minio') throw new Error(`environment "${env.name}": Minio construct needs artifactStore.kind "minio"`);
    const cfg: MinioStore = env.artifactStore;
    const ns = env.namespaces.platform;
    const name = MINIO_NAME;
    const version = imageVersion(cfg.image);
    const sec = restricted(RUNTIME_UID);
    const root = PLATFORM_SECRETS.minioRoot.name;

    serviceAccount(this, env, name, ns, 'object-storage');

    this.workload = new StatefulWorkload(this, 'storage', {
      name,
      namespace: ns,
      labels: standardLabels(env, name, 'object-storage', version),
      selector: selectorLabels(env, name),
      serviceAccountName: name,
      securityContext: sec.pod,
      containers: [minioContainer(cfg, sec.container, root)],
      volumes: [emptyDir('tmp', '64Mi')],
      governingService: {
        name: `${name}-headless`,
        labels: standardLabels(env, `${name}-headless`, 'object-storage', version),
        ports: [{ name: 's3', port: MINIO_PORT }],
      },
      dataVolume: {
        name: 'data',
        size: cfg.storage.size,
        storageClassName: cfg.storage.storageClassName,
        labels: standardLabels(env, 'data', 'object-storage'),
      },
    });
    this.service = this.workload.exposeViaService({ ports: [{ name: 's3', port: MINIO_PORT }], beforeWorkload: true });
    this.statefulSet = this.workload.apiObject;
    // The PDB carries the blueprint's version label, not the image's (as it always has).
    this.workload.limitDisruptions({ labels: standardLabels(env, name, 'object-storage') });

    serviceAccount(this, env, MINIO_BUCKET_JOB, ns, 'object-storage-setup');
    const bucket = bucketJob(this, env, cfg, props.jobTtlSeconds ?? 86400);
    this.bucketJob = bucket.job;
    this.pods = [this.workload.pods, bucket.pods];
  }
}

/** The Job that creates the private artifact bucket and the tracking server's restricted user (`mc`). */
function bucketJob(scope: Construct, env: EnvironmentConfig, cfg: MinioStore, ttlSecondsAfterFinished: number): { job: k8s.KubeJob; pods: PodGroup } {
  const ns = env.namespaces.platform;
  const job = MINIO_BUCKET_JOB;
  const sec = restricted(RUNTIME_UID);
  const root = PLATFORM_SECRETS.minioRoot.name;
  const tracking = PLATFORM_SECRETS.minioTracking.name;
  const jobPods = podMetadata(env, job, 'object-storage-setup', imageVersion(cfg.clientImage));
  const apiObject = new k8s.KubeJob(scope, 'bucket-job', {
    metadata: { name: job, namespace: ns, labels: standardLabels(env, job, 'object-storage-setup', imageVersion(cfg.clientImage)) },
    spec: {
      backoffLimit: 6,
      activeDeadlineSeconds: 900,
      ttlSecondsAfterFinished,
      template: {
        metadata: jobPods,
        spec: {
          serviceAccountName: job,
          automountServiceAccountToken: false,
          restartPolicy: 'Never',
          securityContext: sec.pod,
          containers: [
            {
              name: 'mc',
              image: cfg.clientImage,
              imagePullPolicy: 'IfNotPresent',
              command: ['/bin/sh', '-c', bucketScript(cfg.bucket, { pipelines: hasPipelines(env) })],
              env: [
                { name: 'MINIO_URL', value: minioEndpoint(env) },
                { name: 'MC_CONFIG_DIR', value: '/tmp/mc' },
                secretEnv('MINIO_ROOT_USER', root, 'root-user'),
                secretEnv('MINIO_ROOT_PASSWORD', root, 'root-password'),
                secretEnv('TRACKING_ACCESS_KEY', tracking, 'access-key'),
                secretEnv('TRACKING_SECRET_KEY', tracking, 'secret-key'),
                ...(hasPipelines(env)
                  ? [
                      secretEnv('PIPELINES_ACCESS_KEY', PLATFORM_SECRETS.minioPipelines.name, 'access-key'),
                      secretEnv('PIPELINES_SECRET_KEY', PLATFORM_SECRETS.minioPipelines.name, 'secret-key'),
                    ]
                  : []),
              ],
              securityContext: sec.container,
              resources: resources({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } }),
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [emptyDir('tmp', '32Mi')],
        },
      },
    },
  });
  return { job: apiObject, pods: podGroup(ns, jobPods.labels) };
}

/** The MinIO server: S3 API on 9000, the console bound to loopback, root login from the Secret, health probes. */
function minioContainer(cfg: MinioStore, securityContext: k8s.SecurityContext, root: string): k8s.Container {
  return {
    name: 'minio',
    image: cfg.image,
    imagePullPolicy: 'IfNotPresent',
    // The console is bound to loopback: nothing outside the pod needs it.
    args: ['server', '/data', '--address', `:${MINIO_PORT}`, '--console-address', '127.0.0.1:9001', '--certs-dir', '/tmp/certs'],
    ports: [{ name: 's3', containerPort: MINIO_PORT, protocol: 'TCP' }],
    env: [
      secretEnv('MINIO_ROOT_USER', root, 'root-user'),
      secretEnv('MINIO_ROOT_PASSWORD', root, 'root-password'),
      // Prometheus scrapes /minio/v2/metrics/cluster without a bearer token; the NetworkPolicy limits who can.
      { name: 'MINIO_PROMETHEUS_AUTH_TYPE', value: 'public' },
      { name: 'HOME', value: '/tmp' },
    ],
    securityContext,
    resources: resources(cfg.resources),
    readinessProbe: httpProbe('/minio/health/ready', 's3', { period: 10 }),
    livenessProbe: httpProbe('/minio/health/live', MINIO_PORT, { period: 20, failureThreshold: 6 }),
    volumeMounts: [
      { name: 'data', mountPath: '/data' },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}
