import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import { customObject, standardLabels, type PlatformContext } from './common';

/** Which namespace of the environment a Secret lives in. */
export type SecretNamespace = 'platform' | 'training' | 'serving';

/** One Secret the platform references by name, and the keys it must hold. */
export interface PlatformSecret {
  readonly name: string;
  readonly namespace: SecretNamespace;
  readonly keys: readonly string[];
  /** What it is for, and how the values must be generated. */
  readonly description: string;
  /** External-secrets mode: the remote entry it is read from (`<remoteKeyPrefix>/<remoteName>`), when it copies another Secret. @default name */
  readonly remoteName?: string;
}

/**
 * Every Secret the constructs may reference, by name, with its keys. The Pulumi stack creates exactly
 * `requiredSecrets(env)` of these (generated values); in external-secrets mode the platform emits one
 * ExternalSecret per entry, reading `<remoteKeyPrefix>/<name>` with one property per key.
 */
export const PLATFORM_SECRETS = {
  trackingDb: {
    name: 'tracking-db',
    namespace: 'platform',
    keys: ['username', 'password'],
    description: 'PostgreSQL login of the tracking server (PGUSER/PGPASSWORD); also the in-cluster PostgreSQL superuser.',
  },
  trackingDbHost: {
    name: 'tracking-db-host',
    namespace: 'platform',
    keys: ['host'],
    description: 'Host of an RDS database whose address only the cloud stack knows (GitOps mode without a host in the environment).',
  },
  minioRoot: {
    name: 'minio-root',
    namespace: 'platform',
    keys: ['root-user', 'root-password'],
    description: 'MinIO root credentials; used only by MinIO and the bucket setup Job. Password ≥ 8 characters.',
  },
  minioTracking: {
    name: 'minio-tracking',
    namespace: 'platform',
    keys: ['access-key', 'secret-key'],
    description: "The tracking server's own MinIO user, limited by policy to the artifact bucket (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).",
  },
  basicAuth: {
    name: 'ingress-basic-auth',
    namespace: 'platform',
    keys: ['auth'],
    description: 'htpasswd file (bcrypt entries) for nginx basic auth in front of the tracking server.',
  },
  basicAuthServing: {
    name: 'ingress-basic-auth',
    namespace: 'serving',
    keys: ['auth'],
    description: 'The same htpasswd file, for the inference Ingresses (nginx reads auth Secrets from the Ingress namespace).',
  },
  trackingAdmin: {
    name: 'tracking-admin',
    namespace: 'platform',
    keys: ['password'],
    description: "Password of the tracking server's `admin` user (`--app-name basic-auth`, MLFLOW_AUTH_ADMIN_PASSWORD); random, ≥ 16 characters.",
  },
  trackingClientTraining: {
    name: 'tracking-client',
    namespace: 'training',
    keys: ['username', 'password'],
    description:
      'Tracking-server login of the training and retraining pods (MLFLOW_TRACKING_USERNAME/PASSWORD); the user must exist on the tracking server with EDIT on the experiments and models they write.',
  },
  trackingClientServing: {
    name: 'tracking-client',
    namespace: 'serving',
    keys: ['username', 'password'],
    description: 'Tracking-server login of the inference pods (model download, alias polling; READ is enough).',
  },
  trackingUserTraining: {
    name: 'tracking-user-training',
    namespace: 'platform',
    keys: ['username', 'password'],
    remoteName: 'tracking-client',
    description:
      "The training pods' login (the same values as tracking-client in the training namespace), for the tracking server to create that user at start (MLOPS_AUTH_USER_TRAINING_*).",
  },
  trackingUserServing: {
    name: 'tracking-user-serving',
    namespace: 'platform',
    keys: ['username', 'password'],
    remoteName: 'tracking-client',
    description:
      "The inference pods' login (the same values as tracking-client in the serving namespace), for the tracking server to create that user at start (MLOPS_AUTH_USER_SERVING_*).",
  },
  pipelineArtifacts: {
    name: 'pipeline-artifacts',
    namespace: 'training',
    keys: ['access-key', 'secret-key'],
    description: "MinIO login of the pipeline step pods (Argo's artifact repository), limited by policy to the bucket's pipelines/ prefix.",
  },
  minioPipelines: {
    name: 'minio-pipelines',
    namespace: 'platform',
    keys: ['access-key', 'secret-key'],
    remoteName: 'pipeline-artifacts',
    description: 'The same MinIO login as pipeline-artifacts, for the bucket Job to create that user and attach its policy.',
  },
  oauth2Proxy: {
    name: 'oauth2-proxy',
    namespace: 'platform',
    keys: ['client-secret', 'cookie-secret'],
    description: 'OIDC client secret and the 32-byte cookie secret of oauth2-proxy.',
  },
} as const satisfies Record<string, PlatformSecret>;

export type PlatformSecretId = keyof typeof PLATFORM_SECRETS;

/**
 * The external-secrets API the platform emits: `external-secrets.io/v1`, served since external-secrets
 * v0.16.0 (the declared minimum); the v1.x releases no longer serve `v1beta1`.
 */
export const EXTERNAL_SECRETS_API = 'external-secrets.io/v1';

/** The Secrets this environment's objects reference (what Pulumi must create, or ExternalSecrets provide). */
export function requiredSecrets(env: EnvironmentConfig, cloud: PlatformContext['cloud'] = {}): PlatformSecretId[] {
  // Every cluster environment runs the tracking server with its own users (basic-auth app): an admin password.
  const ids: PlatformSecretId[] = ['trackingDb', 'trackingAdmin'];
  // In-cluster tracking clients log in too: training pods always (Jobs run there on demand), inference pods when there are models.
  // The tracking server (another namespace) gets a copy of each login so it can create those users itself.
  ids.push('trackingClientTraining', 'trackingUserTraining');
  if (env.inference.models.length > 0) ids.push('trackingClientServing', 'trackingUserServing');
  if (needsDbHostSecret(env, cloud)) ids.push('trackingDbHost');
  if (env.artifactStore.kind === 'minio') ids.push('minioRoot', 'minioTracking');
  if (env.artifactStore.kind === 'minio' && hasPipelines(env)) ids.push('pipelineArtifacts', 'minioPipelines');
  if (env.ingress.auth.mode === 'basic-auth') {
    ids.push('basicAuth');
    if (env.inference.models.length > 0) ids.push('basicAuthServing');
  } else ids.push('oauth2Proxy');
  return ids;
}

/** The environment runs pipelines on Argo Workflows. */
export function hasPipelines(env: EnvironmentConfig): boolean {
  return Object.keys(env.pipelines ?? {}).length > 0;
}

/** An RDS database whose host neither the environment nor the cloud outputs give: read it from a Secret. */
export function needsDbHostSecret(env: EnvironmentConfig, cloud: PlatformContext['cloud']): boolean {
  return env.metadataStore.kind === 'external-postgres' && !env.metadataStore.host && !cloud.databaseHost;
}

export function secretNamespace(env: EnvironmentConfig, s: PlatformSecret): string {
  return env.namespaces[s.namespace];
}

export interface PlatformSecretsProps {
  readonly ctx: PlatformContext;
}

/**
 * In external-secrets mode: one ExternalSecret per required Secret, pulling each key from
 * `<remoteKeyPrefix>/<secret name>` (property = key) in the environment's store — and that store, a
 * ClusterSecretStore, when the environment describes it (`secrets.store.aws`). In pulumi mode it emits
 * nothing: Pulumi creates the Secrets with generated values, and nothing secret reaches Git either way.
 */
export class PlatformSecrets extends Construct {
  constructor(scope: Construct, id: string, props: PlatformSecretsProps) {
    super(scope, id);
    const { ctx } = props;
    const { env } = ctx;
    if (ctx.secretsMode !== 'external-secrets') return;
    if (env.secrets.mode !== 'external-secrets') {
      throw new Error(`environment "${env.name}": secrets mode external-secrets needs secrets.store and secrets.remoteKeyPrefix in the environment`);
    }
    const { store, remoteKeyPrefix, refreshInterval } = env.secrets;
    if (store.aws) {
      customObject(this, 'store', {
        apiVersion: EXTERNAL_SECRETS_API,
        kind: 'ClusterSecretStore',
        metadata: { name: store.name, labels: standardLabels(env, store.name, 'secret-store') },
        spec: { provider: { aws: { service: store.aws.service, region: store.aws.region, ...(store.aws.role ? { role: store.aws.role } : {}) } } },
      });
    }
    for (const sid of requiredSecrets(env, ctx.cloud)) {
      const s: PlatformSecret = PLATFORM_SECRETS[sid];
      customObject(this, sid, {
        apiVersion: EXTERNAL_SECRETS_API,
        kind: 'ExternalSecret',
        metadata: { name: s.name, namespace: secretNamespace(env, s), labels: standardLabels(env, s.name, 'secret') },
        spec: {
          refreshInterval,
          secretStoreRef: { kind: store.kind, name: store.name },
          target: { name: s.name, creationPolicy: 'Owner', deletionPolicy: 'Retain' },
          data: s.keys.map((key) => ({ secretKey: key, remoteRef: { key: `${remoteKeyPrefix}/${s.remoteName ?? s.name}`, property: key } })),
        },
      });
    }
  }
}
