import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { EnvironmentConfig, GpuPool, ResourceRequirements } from '../environments';

export { k8s };

/** The blueprint's own version, for `app.kubernetes.io/version` on objects that are not tied to one image. */
export const BLUEPRINT_VERSION = '0.1.0';

/** What every construct of one environment shares: the validated environment and synth options. */
export interface PlatformContext {
  readonly env: EnvironmentConfig;
  /** Where Secrets come from: Pulumi creates them, or ExternalSecret objects pull them from a store. */
  readonly secretsMode: 'pulumi' | 'external-secrets';
  /** Values only the cloud stack knows; GitOps synth leaves them to defaults. */
  readonly cloud: {
    artifactBucket?: string;
    trackingRoleArn?: string;
    inferenceRoleArn?: string;
    trainingRoleArn?: string;
    databaseHost?: string;
  };
}

/** The version part of an image reference (tag, else the first 12 hex digits of the digest): a label-safe string. */
export function imageVersion(image: string): string {
  const [withoutDigest, digest] = image.split('@sha256:');
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : undefined;
  const v = (tag ?? digest?.slice(0, 12) ?? BLUEPRINT_VERSION).slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
  return v || BLUEPRINT_VERSION;
}

/** The recommended `app.kubernetes.io/*` labels (all six) for an object of one component. */
export function standardLabels(env: EnvironmentConfig, name: string, component: string, version = BLUEPRINT_VERSION): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': env.name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': env.partOf,
    'app.kubernetes.io/managed-by': 'mlops-blueprint',
    'app.kubernetes.io/version': version,
  };
}

/** The stable subset used in selectors: never the version, so a release does not orphan pods. */
export function selectorLabels(env: EnvironmentConfig, name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': env.name };
}

/** Serving Deployments roll one extra pod in before taking one out: capacity never drops during a rollout. */
export function zeroDowntimeRollout(): k8s.DeploymentStrategy {
  return { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) } };
}

/** Pod-level security context meeting Pod Security Standards "restricted". */
export function restrictedPodSecurity(uid: number, gid = uid): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security context meeting "restricted", with a read-only root filesystem. */
export function restrictedContainerSecurity(): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The runtime images (tracking, inference, training) run as this uid/gid. */
export const RUNTIME_UID = 10001;

/**
 * Container resources from the environment, plus ephemeral-storage bounds (emptyDirs and logs count
 * against them; without a limit one pod filling /tmp can evict its node's neighbours).
 */
export function resources(
  r: ResourceRequirements,
  extraLimits: Record<string, string> = {},
  ephemeral: { request: string; limit: string } = DEFAULT_EPHEMERAL_STORAGE,
): k8s.ResourceRequirements {
  const q = k8s.Quantity.fromString;
  const limits: Record<string, k8s.Quantity> = { memory: q(r.limits.memory) };
  if (r.limits.cpu) limits.cpu = q(r.limits.cpu);
  limits['ephemeral-storage'] = q(ephemeral.limit);
  for (const [k, v] of Object.entries(extraLimits)) limits[k] = q(v);
  return { requests: { cpu: q(r.requests.cpu), memory: q(r.requests.memory), 'ephemeral-storage': q(ephemeral.request) }, limits };
}

/** Default ephemeral-storage request/limit per container: room for logs and the emptyDirs' default size limits. */
export const DEFAULT_EPHEMERAL_STORAGE = { request: '128Mi', limit: '1Gi' } as const;

/** An env var from one key of a Secret. */
export function secretEnv(name: string, secret: string, key: string): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

/** Where containers find mounted Secrets: `/run/secrets/<secret>/<key>` (the Docker secrets convention). */
export const SECRET_FILES_DIR = '/run/secrets';

/**
 * Keys of a Secret as read-only files instead of env vars (env leaks into child processes, crash dumps and
 * `/proc/<pid>/environ`). Mode 0440: root-owned, readable by the pod's fsGroup (the runtime's own group)
 * and nobody else — the kubelet adds group read for fsGroup anyway, so 0400 would end up the same. A
 * volume mount, so it works with a read-only root filesystem.
 */
export function secretFiles(secret: string, keys: readonly string[]): { volume: k8s.Volume; mount: k8s.VolumeMount; path: (key: string) => string } {
  const name = `secret-${secret}`.slice(0, 63);
  const dir = `${SECRET_FILES_DIR}/${secret}`;
  return {
    volume: { name, secret: { secretName: secret, items: keys.map((key) => ({ key, path: key })), defaultMode: 0o440 } },
    mount: { name, mountPath: dir, readOnly: true },
    path: (key) => {
      if (!keys.includes(key)) throw new Error(`secret ${secret}: key "${key}" is not mounted`);
      return `${dir}/${key}`;
    },
  };
}

export function emptyDir(name: string, sizeLimit = '256Mi'): k8s.Volume {
  return { name, emptyDir: { sizeLimit: k8s.Quantity.fromString(sizeLimit) } };
}

export function tcp(port: number): k8s.NetworkPolicyPort {
  return { protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) };
}

/** Peer selecting pods of one namespace by its immutable `kubernetes.io/metadata.name` label. */
export function namespacePeer(namespace: string, podLabels?: Record<string, string>): k8s.NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
    ...(podLabels ? { podSelector: { matchLabels: podLabels } } : {}),
  };
}

/** A ServiceAccount that mounts no API token: no platform workload talks to the Kubernetes API. */
export function serviceAccount(scope: Construct, env: EnvironmentConfig, name: string, namespace: string, component: string, annotations?: Record<string, string>): k8s.KubeServiceAccount {
  return new k8s.KubeServiceAccount(scope, `sa-${name}`, {
    metadata: { name, namespace, labels: standardLabels(env, name, component), ...(annotations && Object.keys(annotations).length ? { annotations } : {}) },
    automountServiceAccountToken: false,
  });
}

/** Scheduling onto a GPU pool: its taints tolerated, its nodes selected, `nvidia.com/gpu` requested. */
export function gpuScheduling(pool: GpuPool): { tolerations: k8s.Toleration[]; nodeSelector: Record<string, string> } {
  return {
    tolerations: pool.taints.map((t) => ({ key: t.key, operator: 'Equal', value: t.value, effect: t.effect })),
    nodeSelector: gpuPoolNodeLabels(pool),
  };
}

/**
 * Labels identifying a pool's nodes: the pool's own labels, or `mlops-blueprint.io/gpu-pool: <name>`,
 * which the cloud stack puts on every node group it creates.
 */
export function gpuPoolNodeLabels(pool: GpuPool): Record<string, string> {
  return Object.keys(pool.labels).length ? { ...pool.labels } : { 'mlops-blueprint.io/gpu-pool': pool.name };
}

export function findGpuPool(env: EnvironmentConfig, name: string | undefined): GpuPool | undefined {
  if (!name) return undefined;
  const pool = env.gpu.pools.find((p) => p.name === name);
  if (!pool) throw new Error(`unknown GPU pool "${name}"`);
  return pool;
}

/** A custom resource (CRD kind) with the standard labels; validated against its published schema at synth. */
export function customObject(
  scope: Construct,
  id: string,
  props: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> },
): ApiObject {
  return new ApiObject(scope, id, props);
}

/** `kubernetes.io/metadata.name` is set by the API server on every Namespace; selectors can rely on it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The tracking server's in-cluster URL, which training and inference pods use. */
export function trackingUrl(env: EnvironmentConfig): string {
  return `http://${TRACKING_NAME}.${env.namespaces.platform}.svc:${TRACKING_PORT}`;
}

export const TRACKING_NAME = 'tracking';
export const TRACKING_PORT = 5000;
export const INFERENCE_PORT = 8080;
export const POSTGRES_NAME = 'postgres';
export const MINIO_NAME = 'minio';
export const OAUTH2_PROXY_NAME = 'oauth2-proxy';
