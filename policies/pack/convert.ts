import type { KubeObject } from '../../core/kube-objects';

/** `kubernetes:apps/v1:Deployment` → apiVersion `apps/v1`, kind `Deployment` (`core/v1` → `v1`). */
export function kubeTypeToApiVersionKind(type: string): { apiVersion: string; kind: string } | undefined {
  const m = /^kubernetes:([^:]+\/[^:]+):([A-Za-z0-9]+)$/.exec(type);
  if (!m) return undefined;
  // Pulumi's List/Patch variants (DeploymentList, DeploymentPatch) are not objects to check.
  if (/(List|Patch)$/.test(m[2])) return undefined;
  return { apiVersion: m[1].startsWith('core/') ? m[1].slice('core/'.length) : m[1], kind: m[2] };
}

/**
 * A Pulumi kubernetes resource (type token + props) as the plain object the rules check. Auto-named
 * resources have no metadata.name until created: the logical name stands in for it.
 */
export function pulumiToKubeObject(type: string, props: Record<string, unknown>, logicalName: string): KubeObject | undefined {
  const ak = kubeTypeToApiVersionKind(type);
  if (!ak) return undefined;
  const metadata = { ...((props.metadata as KubeObject['metadata'] | undefined) ?? {}) };
  if (typeof metadata.name !== 'string') metadata.name = logicalName;
  return { ...props, apiVersion: ak.apiVersion, kind: ak.kind, metadata } as KubeObject;
}

/** The stack name in a URN: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackFromUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}
