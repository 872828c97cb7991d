import type { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import { customObject, k8s, restrictedContainerSecurity, restrictedPodSecurity, selectorLabels, standardLabels } from './common';

/*
 * Small pieces the platform-namespace workloads (PostgreSQL, MinIO, tracking, oauth2-proxy and their
 * Jobs) share: pod metadata, spread topology keys, ServiceMonitors, probes and annotations for kube-score.
 */

/** The pod template metadata of one workload: every recommended label (the selector is a subset). */
export function podMetadata(env: EnvironmentConfig, name: string, component: string, version?: string): k8s.ObjectMeta {
  return { labels: standardLabels(env, name, component, version) };
}

/**
 * The topology keys serving replicas spread over: nodes, and zones on EKS (a local cluster's nodes carry no
 * zone label).
 */
export function spreadTopologyKeys(env: EnvironmentConfig): string[] {
  return env.cluster.kind === 'eks' ? ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'] : ['kubernetes.io/hostname'];
}

/** A ServiceMonitor for Prometheus (prometheus-operator) scraping one workload's Service. */
export function serviceMonitor(
  scope: Construct,
  env: EnvironmentConfig,
  target: { name: string; namespace: string; component: string; version: string },
  endpoint: { port: string; path: string; interval: string; scrapeTimeout?: string },
): ApiObject {
  return customObject(scope, 'service-monitor', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: target.name, namespace: target.namespace, labels: standardLabels(env, target.name, target.component, target.version) },
    spec: { selector: { matchLabels: selectorLabels(env, target.name) }, endpoints: [endpoint] },
  });
}

/** An HTTP GET probe. Readiness and liveness use different settings (and kube-score rejects identical ones). */
export function httpProbe(
  path: string,
  port: number | string,
  opts: { period?: number; failureThreshold?: number; timeout?: number; initialDelay?: number } = {},
): k8s.Probe {
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
