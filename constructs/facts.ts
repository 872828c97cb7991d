import type { EnvironmentConfig } from '../environments';

/*
 * Typed facts the constructs expose about what they build, so their readers — MlopsPlatform deciding
 * NetworkPolicies, the Pulumi program binding IAM roles and reporting URLs — never read the synthesized
 * objects back (as pulumi-eks components expose typed outputs instead of their resources' YAML).
 */

type Labels = Readonly<Record<string, string>>;

/** Pods a construct runs (a Deployment's, a StatefulSet's, a Job's): their namespace and template labels. */
export interface PodGroup {
  readonly namespace: string;
  readonly labels: Labels;
}

/** The cloud identities the platform's workloads assume (an IAM role each under IRSA). */
export type WorkloadIdentity = 'tracking' | 'training' | 'inference';

/** A ServiceAccount bound to a cloud identity: its pods run as the role `roleArn` (the IRSA annotation's value). */
export interface IdentityBinding {
  readonly identity: WorkloadIdentity;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly roleArn: string;
}

/** The platform's public endpoints: the tracking server (and UI), and each model's inference URL. */
export interface PlatformEndpoints {
  readonly tracking: string;
  /** Model name → `http(s)://<servingHost>/<model>` (the stable track; a canary shares the URL). */
  readonly inference: Readonly<Record<string, string>>;
}

/** The annotation EKS reads to give a ServiceAccount's pods an IAM role. */
export const IRSA_ANNOTATION = 'eks.amazonaws.com/role-arn';

/** `http` without TLS at the edge, else `https`. */
export function edgeScheme(env: EnvironmentConfig): 'http' | 'https' {
  return env.ingress.tls.mode === 'none' ? 'http' : 'https';
}

/** The pods of a pod template in a namespace (the labels copied: a fact, not a handle on the template). */
export function podGroup(namespace: string, templateLabels: Labels | undefined): PodGroup {
  return { namespace, labels: { ...(templateLabels ?? {}) } };
}

/** Whether any of the pods is in the namespace and carries every label of the selector. */
export function runsPods(pods: readonly PodGroup[], namespace: string, selector: Labels = {}): boolean {
  return pods.some((p) => p.namespace === namespace && Object.entries(selector).every(([k, v]) => p.labels[k] === v));
}
