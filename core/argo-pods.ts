import { parse } from 'yaml';
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
  return workflowTemplates(objects).flatMap(({ owner, spec, tpl, index }) => (isRecord(tpl.container) ? [stepPod(owner, spec, tpl, index)] : []));
}

/**
 * The objects the resource templates of a WorkflowTemplate (or CronWorkflow, Workflow) create (`resource.action:
 * create`, the manifest parsed, in the owner's namespace, named after the template since the real name is generated):
 * a distributed step's PyTorchJob, whose replica pods the policies then check like any other.
 */
export function workflowCreatedObjects(objects: readonly KubeObject[]): KubeObject[] {
  return workflowTemplates(objects).flatMap(({ owner, tpl, index }) => {
    const resource = asRecord(tpl.resource);
    if (resource.action !== 'create' || typeof resource.manifest !== 'string') return [];
    const obj = parseManifest(resource.manifest);
    if (typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string') return [];
    const meta = asRecord(obj.metadata);
    const from = `${owner.kind}/${owner.metadata.name} templates[${index}]`;
    return [
      {
        ...obj,
        kind: obj.kind,
        apiVersion: obj.apiVersion,
        metadata: {
          ...meta,
          name: `${owner.metadata.name}-${String(tpl.name)}`,
          ...(owner.metadata.namespace ? { namespace: owner.metadata.namespace } : {}),
          annotations: { ...stringMap(meta.annotations), [RENDERED_FROM_ANNOTATION]: from },
        },
      },
    ];
  });
}

/** A resource template's manifest as an object; anything else (bad YAML, a list, a scalar) is none: the schema check reports it. */
function parseManifest(text: string): Record<string, unknown> {
  try {
    return asRecord(parse(text) as unknown);
  } catch {
    return {};
  }
}

/** Every template of the Argo objects in the set, with its owner and the workflow spec it belongs to. */
function workflowTemplates(objects: readonly KubeObject[]) {
  const out: Array<{ owner: KubeObject; spec: Record<string, unknown>; tpl: Record<string, unknown>; index: number }> = [];
  for (const owner of objects) {
    if (!owner.apiVersion.startsWith('argoproj.io/')) continue;
    const spec =
      owner.kind === 'WorkflowTemplate' || owner.kind === 'Workflow'
        ? asRecord(owner.spec)
        : owner.kind === 'CronWorkflow'
          ? asRecord(asRecord(owner.spec).workflowSpec)
          : undefined;
    if (spec) asArray(spec.templates).forEach((t, index) => out.push({ owner, spec, tpl: asRecord(t), index }));
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
