import { asArray, asRecord, isRecord, stringMap, type KubeObject } from './kube-objects';

/** Annotation on a step pod derived here, naming the template it comes from. */
export const RENDERED_FROM_ANNOTATION = 'mlops-blueprint.io/rendered-from';

/**
 * The pods Argo Workflows creates from a WorkflowTemplate's (or CronWorkflow's inline) container templates,
 * as plain Pod objects: the workflow-level pod fields (ServiceAccount, security context, pod labels) merged
 * with each template's own (container, volumes, scheduling, labels), as the controller builds them. The
 * controller adds its executor containers (init/wait, with Argo's minimal restricted security context), which
 * are not in the manifests. Policies and NetworkPolicy checks see the step pods through these.
 */
export function workflowStepPods(objects: readonly KubeObject[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const obj of objects) {
    if (!obj.apiVersion.startsWith('argoproj.io/')) continue;
    const spec =
      obj.kind === 'WorkflowTemplate' || obj.kind === 'Workflow'
        ? asRecord(obj.spec)
        : obj.kind === 'CronWorkflow'
          ? asRecord(asRecord(obj.spec).workflowSpec)
          : undefined;
    if (!spec) continue;
    asArray(spec.templates).forEach((t, i) => {
      const tpl = asRecord(t);
      if (!isRecord(tpl.container)) return;
      out.push(stepPod(obj, spec, tpl, i));
    });
  }
  return out;
}

function stepPod(owner: KubeObject, spec: Record<string, unknown>, tpl: Record<string, unknown>, index: number): KubeObject {
  const pick = (key: string) => tpl[key] ?? spec[key];
  const fields: Record<string, unknown> = {
    serviceAccountName: pick('serviceAccountName'),
    automountServiceAccountToken: pick('automountServiceAccountToken'),
    securityContext: pick('securityContext'),
    nodeSelector: pick('nodeSelector'),
    tolerations: pick('tolerations'),
    affinity: pick('affinity'),
    restartPolicy: 'Never',
    containers: [tpl.container],
    volumes: [...asArray(spec.volumes), ...asArray(tpl.volumes)],
  };
  const podSpec = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
  const labels = { ...stringMap(asRecord(spec.podMetadata).labels), ...stringMap(asRecord(tpl.metadata).labels) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${owner.metadata.name}-${String(tpl.name)}`,
      ...(owner.metadata.namespace ? { namespace: owner.metadata.namespace } : {}),
      labels,
      annotations: { ...(owner.metadata.annotations ?? {}), [RENDERED_FROM_ANNOTATION]: `${owner.kind}/${owner.metadata.name} templates[${index}]` },
    },
    spec: podSpec,
  };
}
