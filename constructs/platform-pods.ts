import type { EnvironmentConfig } from '../environments';
import { k8s, restrictedContainerSecurity, restrictedPodSecurity, selectorLabels, standardLabels } from './common';

/*
 * Small pieces the platform-namespace workloads (PostgreSQL, MinIO, tracking, oauth2-proxy and their
 * Jobs) share: pod metadata, spread constraints, PDBs, probes and annotations for kube-score.
 */

/** The pod template metadata of one workload: every recommended label (the selector is a subset). */
export function podMetadata(env: EnvironmentConfig, name: string, component: string, version?: string): k8s.ObjectMeta {
  return { labels: standardLabels(env, name, component, version) };
}

/** Spread replicas over nodes (and zones on EKS) without blocking scale-up when there are fewer nodes than pods. */
export function spreadConstraints(env: EnvironmentConfig, name: string): k8s.TopologySpreadConstraint[] {
  const keys = env.cluster.kind === 'eks' ? ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'] : ['kubernetes.io/hostname'];
  return keys.map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: selectorLabels(env, name) },
  }));
}

/** A PodDisruptionBudget letting one pod go at a time: drains proceed, never two at once. */
export function disruptionBudget(scope: import('constructs').Construct, env: EnvironmentConfig, name: string, namespace: string, component: string): k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(scope, `pdb-${name}`, {
    metadata: { name, namespace, labels: standardLabels(env, name, component) },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selectorLabels(env, name) } },
  });
}

/** An HTTP GET probe. Readiness and liveness use different settings (and kube-score rejects identical ones). */
export function httpProbe(path: string, port: number | string, opts: { period?: number; failureThreshold?: number; timeout?: number; initialDelay?: number } = {}): k8s.Probe {
  return {
    httpGet: { path, port: typeof port === 'number' ? k8s.IntOrString.fromNumber(port) : k8s.IntOrString.fromString(port) },
    periodSeconds: opts.period ?? 10,
    timeoutSeconds: opts.timeout ?? 3,
    failureThreshold: opts.failureThreshold ?? 3,
    ...(opts.initialDelay ? { initialDelaySeconds: opts.initialDelay } : {}),
  };
}

/** The pod and container security contexts of the restricted profile for a given uid. */
export function restricted(uid: number, gid = uid): { pod: k8s.PodSecurityContext; container: k8s.SecurityContext } {
  return { pod: restrictedPodSecurity(uid, gid), container: restrictedContainerSecurity() };
}

/** `kube-score/ignore` (comma-separated check ids) for a deliberate, documented deviation on one object. */
export const KUBE_SCORE_IGNORE = 'kube-score/ignore';

/** A DNS-1123 label made from arbitrary text (image versions in Job names): lowercase, `-` for the rest, ≤ max chars. */
export function dnsLabelFrom(text: string, max = 63): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
  return s || 'x';
}
