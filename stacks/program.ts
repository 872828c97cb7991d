import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { deepMerge, loadEnvironment, validateEnvironment, type EnvironmentConfig } from '../environments';
import { DEFAULT_IMAGE_LOCK, readImageLock, resolveImages } from '../environments/image-lock';
import type { KubeObject } from '../core/kube-objects';
import { assertPolicyClean } from '../policies/synth-gate';
import { requiredSecrets } from '../constructs/secrets';
import type { IdentityBinding } from '../constructs/facts';
import { synthPlatform, type CloudOutputs, type SynthesizedFile } from './gitops';
import { CloudStack, defaultBucketName, type ServiceAccountRef, type WorkloadIdentity } from './cluster';
import { PlatformCredentials } from './credentials';
import { Platform, deployedByPulumi, generatedSecretMetadata } from './platform';
import { extensionPolicy, type PlatformExtension } from './extensions';

/** The annotation EKS reads to give a ServiceAccount's pods an IAM role (the constructs write it). */
export { IRSA_ANNOTATION } from '../constructs/facts';

/**
 * Stand-ins for values only the cloud knows, used to synthesize the chart before they exist. Each is a
 * syntactically valid value (the constructs may validate them) that cannot occur otherwise.
 */
export const PLACEHOLDERS = {
  trackingRoleArn: 'arn:aws:iam::000000000000:role/pulumi-pending-tracking-role',
  trainingRoleArn: 'arn:aws:iam::000000000000:role/pulumi-pending-training-role',
  inferenceRoleArn: 'arn:aws:iam::000000000000:role/pulumi-pending-inference-role',
  databaseHost: 'pulumi-pending-database-host.invalid',
} as const;

const ROLE_PLACEHOLDER: Record<WorkloadIdentity, string> = {
  tracking: PLACEHOLDERS.trackingRoleArn,
  training: PLACEHOLDERS.trainingRoleArn,
  inference: PLACEHOLDERS.inferenceRoleArn,
};

/**
 * Stack configuration (namespace `mlops`), all optional:
 * - `environment`: built-in environment to start from. Default: the stack name.
 * - `overrides`: object deep-merged into the environment before validation (any documented field).
 * - `trackingImage`, `inferenceImage`, `trainingImage`: image references (training defaults to the tracking image).
 * - `region`: AWS region (EKS environments). `artifactBucket`: S3 bucket name (globally unique).
 * - `kubeContext`: kubeconfig context of a local cluster. `kubeconfig`: kubeconfig contents or path
 *   (local clusters, or an existing EKS cluster reached through other credentials).
 * - `secretsMode`: `pulumi` (default; Pulumi generates every credential) or `external-secrets`.
 * - `adminUser`: basic-auth user. Default: `admin`.
 * - `oidcClientSecret` (secret): the identity provider's client secret, required with OIDC auth.
 * - `imageLock`: image lock file pinning the images by digest. Default: environments/images.lock.json.
 * - `credentialSource`: `generate` (default; `@pulumi/random` makes every value) or `config`: every
 *   Secret's values come from `credentials` (secret object: PlatformSecretId → key → value), for
 *   operators who bring their own credentials and where the random provider is not available.
 */
export interface StackSettings {
  environment: string;
  overrides: Record<string, unknown>;
  secretsMode: 'pulumi' | 'external-secrets';
  kubeconfig?: string;
  adminUser?: string;
  oidcClientSecret?: pulumi.Output<string>;
  imageLock?: string;
  /** Set when `credentialSource` is `config`: the supplied values of every Secret. */
  credentials?: pulumi.Output<Record<string, Record<string, string>>>;
}

export function readSettings(stack: string, cfg = new pulumi.Config('mlops')): StackSettings {
  const overrides = deepMerge<Record<string, unknown>>({}, cfg.getObject<Record<string, unknown>>('overrides') ?? {});
  const set = (path: string[], value: unknown) => {
    let o = overrides;
    for (const k of path.slice(0, -1)) o = (o[k] = typeof o[k] === 'object' && o[k] !== null ? o[k] : {}) as Record<string, unknown>;
    o[path[path.length - 1]] = value;
  };
  const tracking = cfg.get('trackingImage');
  if (tracking) set(['tracking', 'image'], tracking);
  const inference = cfg.get('inferenceImage');
  if (inference) set(['inference', 'image'], inference);
  // Training runs `mlops train` from the tracking image unless given its own.
  const training = cfg.get('trainingImage') ?? tracking;
  if (training) set(['training', 'image'], training);
  const region = cfg.get('region');
  if (region) set(['cluster', 'region'], region);
  const kubeContext = cfg.get('kubeContext');
  if (kubeContext) set(['cluster', 'kubeContext'], kubeContext);
  const bucket = cfg.get('artifactBucket');
  if (bucket) set(['artifactStore', 'bucket'], bucket);
  const secretsMode = cfg.get('secretsMode') ?? 'pulumi';
  const credentialSource = cfg.get('credentialSource') ?? 'generate';
  if (credentialSource !== 'generate' && credentialSource !== 'config')
    throw new Error(`mlops:credentialSource must be "generate" or "config", got "${credentialSource}"`);
  if (secretsMode !== 'pulumi' && secretsMode !== 'external-secrets')
    throw new Error(`mlops:secretsMode must be "pulumi" or "external-secrets", got "${secretsMode}"`);
  return {
    environment: cfg.get('environment') ?? stack,
    overrides,
    secretsMode,
    kubeconfig: cfg.get('kubeconfig'),
    adminUser: cfg.get('adminUser'),
    oidcClientSecret: cfg.getSecret('oidcClientSecret'),
    imageLock: cfg.get('imageLock'),
    credentials: credentialSource === 'config' ? cfg.requireSecretObject<Record<string, Record<string, string>>>('credentials') : undefined,
  };
}

/** The environment of a stack: the built-in one named by the stack (or `mlops:environment`), with config overrides, validated. */
export function stackEnvironment(settings: StackSettings): EnvironmentConfig {
  return loadEnvironment(settings.environment, Object.keys(settings.overrides).length ? settings.overrides : undefined);
}

/** The stack's environment as deployed: images pinned by the lock, refused when it requires digests and one is unpinned. */
export function deployedEnvironment(settings: StackSettings): EnvironmentConfig {
  const lockFile = settings.imageLock ?? DEFAULT_IMAGE_LOCK;
  return resolveImages(stackEnvironment(settings), readImageLock(lockFile, { missingOk: settings.imageLock === undefined }), lockFile);
}

/** A team's own environment and extensions, for a Pulumi program in the team's repository. */
export interface DefineStackOptions {
  /**
   * The environment to deploy (a team's own, from `defineEnvironment`); stack config `mlops:overrides` and the
   * image settings still apply on top. @default the built-in environment named by the stack (or `mlops:environment`)
   */
  environment?: EnvironmentConfig;
  /** A team's own parts, rules and exceptions (stacks/extensions.ts). @default none */
  extensions?: readonly PlatformExtension[];
}

/** A given environment with the stack's overrides merged and its images pinned by the lock, as `deployedEnvironment` does for a built-in one. */
function resolveImagesOf(base: EnvironmentConfig, settings: StackSettings): EnvironmentConfig {
  const merged = Object.keys(settings.overrides).length
    ? validateEnvironment(deepMerge(base, settings.overrides), `"${base.name}" with mlops:overrides`)
    : base;
  const lockFile = settings.imageLock ?? DEFAULT_IMAGE_LOCK;
  return resolveImages(merged, readImageLock(lockFile, { missingOk: settings.imageLock === undefined }), lockFile);
}

/** The ServiceAccounts each cloud identity's role must trust, from the constructs' identity bindings. */
export function identityServiceAccounts(identities: readonly IdentityBinding[]): Record<WorkloadIdentity, ServiceAccountRef[]> {
  const of = (identity: WorkloadIdentity) => identities.filter((i) => i.identity === identity).map((i) => ({ namespace: i.namespace, name: i.serviceAccount }));
  return { tracking: of('tracking'), training: of('training'), inference: of('inference') };
}

/** Cloud values as the chart sees them at synth time: real where known now, placeholders otherwise. */
function plannedCloud(env: EnvironmentConfig, project: string): CloudOutputs {
  const planned: CloudOutputs = {};
  if (env.cluster.kind !== 'eks') return planned;
  if (env.artifactStore.kind === 's3') {
    planned.artifactBucket = env.artifactStore.bucket ?? defaultBucketName(project, env);
    planned.trackingRoleArn = PLACEHOLDERS.trackingRoleArn;
    planned.trainingRoleArn = PLACEHOLDERS.trainingRoleArn;
    planned.inferenceRoleArn = PLACEHOLDERS.inferenceRoleArn;
  }
  if (env.metadataStore.kind === 'external-postgres' && env.metadataStore.rds) planned.databaseHost = PLACEHOLDERS.databaseHost;
  return planned;
}

/** A Secret as the policies see it before Pulumi fills it (the values never leave Pulumi). */
function secretStub(env: EnvironmentConfig, s: { name: string; namespace: string; keys: readonly string[] }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: generatedSecretMetadata(env, s),
    type: 'Opaque',
    stringData: Object.fromEntries(s.keys.map((k) => [k, '(generated by Pulumi)'])),
  };
}

export interface StackResult {
  env: EnvironmentConfig;
  /** Cloud values the chart was synthesized with (placeholders where the cloud decides). */
  planned: CloudOutputs;
  files: SynthesizedFile[];
  cloud?: CloudStack;
  credentials: PlatformCredentials;
  platform: Platform;
  outputs: {
    environment: string;
    trackingUrl: string;
    inferenceUrls: Record<string, string>;
    artifactBucket?: pulumi.Output<string> | string;
    clusterName: pulumi.Output<string> | string;
    kubeconfig?: pulumi.Output<string>;
    databaseHost?: pulumi.Output<string>;
    repositoryUrls?: Record<string, pulumi.Output<string>>;
    adminUser: string;
    adminPassword?: pulumi.Output<string>;
  };
}

/**
 * The whole program for one stack: environment from the stack name and config, the chart synthesized
 * once (placeholders for cloud values), the AWS side for EKS environments, generated credentials, and
 * the chart deployed with the cloud values substituted.
 */
export function defineStack(stack = pulumi.getStack(), cfg = new pulumi.Config('mlops'), opts: DefineStackOptions = {}): StackResult {
  const settings = readSettings(stack, cfg);
  const env = opts.environment ? resolveImagesOf(opts.environment, settings) : deployedEnvironment(settings);
  const eks = env.cluster.kind === 'eks' ? env.cluster : undefined;
  const project = pulumi.getProject();
  const rds = env.metadataStore.kind === 'external-postgres' && env.metadataStore.rds;
  const planned = plannedCloud(env, project);
  const { files, facts } = synthPlatform(env, { secretsMode: settings.secretsMode, cloud: planned, extensions: opts.extensions });
  const objects = files.filter(deployedByPulumi).flatMap((f) => f.objects);

  const credentials = new PlatformCredentials('credentials', {
    env,
    secretIds: settings.secretsMode === 'pulumi' ? requiredSecrets(env, planned) : [],
    adminUser: settings.adminUser,
    oidcClientSecret: settings.oidcClientSecret,
    supplied: settings.credentials,
  });
  // The policies see exactly what is about to be deployed: the chart plus the Secrets Pulumi creates.
  assertPolicyClean([...objects, ...credentials.secrets.map((s) => secretStub(env, s))], env, 'pulumi', extensionPolicy(opts.extensions));

  let cloud: CloudStack | undefined;
  const substitutions: Record<string, pulumi.Input<string>> = {};
  if (eks) {
    const awsProvider = new aws.Provider('aws', {
      region: eks.region as aws.Region,
      defaultTags: { tags: { 'mlops-blueprint/environment': env.name, 'mlops-blueprint/stack': stack, 'app.kubernetes.io/managed-by': 'pulumi' } },
    });
    cloud = new CloudStack(
      'cloud',
      {
        env,
        project,
        serviceAccounts: identityServiceAccounts(facts.identities),
        database: rds ? { username: credentials.databaseUsername, password: credentials.databasePassword } : undefined,
      },
      { providers: [awsProvider] },
    );
    for (const [identity, placeholder] of Object.entries(ROLE_PLACEHOLDER) as Array<[WorkloadIdentity, string]>) {
      const role = cloud.roles[identity];
      if (role) substitutions[placeholder] = role.arn;
    }
    if (cloud.databaseHost) substitutions[PLACEHOLDERS.databaseHost] = cloud.databaseHost;
  }

  const platform = new Platform('platform', {
    env,
    files,
    substitutions,
    secrets: credentials.secrets,
    kubeconfig: settings.kubeconfig ?? cloud?.kubeconfig,
    context: env.cluster.kind === 'local' ? env.cluster.kubeContext : undefined,
    dependsOn: cloud?.ready,
  });

  return {
    env,
    planned,
    files,
    cloud,
    credentials,
    platform,
    outputs: {
      environment: env.name,
      trackingUrl: facts.endpoints.tracking,
      inferenceUrls: { ...facts.endpoints.inference },
      artifactBucket: cloud?.artifactBucket ?? env.artifactStore.bucket,
      clusterName: cloud?.clusterName ?? (env.cluster.kind === 'local' ? env.cluster.kubeContext : env.cluster.name),
      kubeconfig: cloud?.kubeconfig ?? (settings.kubeconfig ? pulumi.secret(settings.kubeconfig) : undefined),
      databaseHost: cloud?.databaseHost,
      repositoryUrls: cloud?.repositories?.urls,
      adminUser: credentials.adminUser,
      adminPassword: credentials.adminPassword,
    },
  };
}
