/*
 * Plain Kubernetes objects, as cdk8s synthesizes them (`chart.toJson()`), as a user's YAML parses, or as
 * Pulumi is about to create them: the one object model constructs, policies, stacks and tests share, and
 * the helpers that read workloads out of it (pod templates, containers, label selectors).
 */

/** A plain Kubernetes object. The contract between constructs, policies and stacks. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asRecord(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

/** `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects (and objects without a namespace). */
export function objectRef(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${obj.kind}/${ns}/${obj.metadata.name}` : `${obj.kind}/${obj.metadata.name}`;
}

/** A pod template found inside a workload, with the field path it lives at. */
export interface PodTemplate {
  /** Path of the pod spec, e.g. `spec.template.spec`. */
  path: string;
  spec: Record<string, unknown>;
  labels: Record<string, string>;
  namespace: string | undefined;
  /** Container specs that live outside `containers` (a KServe predictor's `model`), with their paths. */
  extraContainers?: ContainerRef[];
  /**
   * A part of a pod that a controller merges into another object's pods (a KServe ServingRuntime's
   * containers and volumes): its containers are checked, pod-level fields belong to the pod's owner.
   */
  fragment?: boolean;
}

export interface ContainerRef {
  /** Path of the container, e.g. `spec.template.spec.containers[0]`. */
  path: string;
  container: Record<string, unknown>;
  init: boolean;
}

export const WORKLOAD_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']);
/** Workloads that run continuously and may receive traffic (as opposed to Jobs). */
export const LONG_RUNNING_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController']);

export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(asRecord(v))) if (typeof val === 'string') out[k] = val;
  return out;
}

/** The pod template of a workload object, or undefined for other kinds. */
export function podTemplate(obj: KubeObject): PodTemplate | undefined {
  const ns = obj.metadata.namespace;
  const spec = asRecord(obj.spec);
  if (obj.kind === 'Pod') return { path: 'spec', spec, labels: stringMap(obj.metadata.labels), namespace: ns };
  if (obj.kind === 'CronJob') {
    const tpl = asRecord(asRecord(asRecord(spec.jobTemplate).spec).template);
    if (!isRecord(tpl.spec)) return undefined;
    return { path: 'spec.jobTemplate.spec.template.spec', spec: tpl.spec, labels: stringMap(asRecord(tpl.metadata).labels), namespace: ns };
  }
  if (!WORKLOAD_KINDS.has(obj.kind)) return undefined;
  const tpl = asRecord(spec.template);
  if (!isRecord(tpl.spec)) return undefined;
  return { path: 'spec.template.spec', spec: tpl.spec, labels: stringMap(asRecord(tpl.metadata).labels), namespace: ns };
}

/**
 * The pod templates of the Kubeflow kinds the platform renders: one per PyTorchJob replica type
 * (`spec.pytorchReplicaSpecs.<Master|Worker>.template`), and those of a Katib Experiment's trial object
 * (`spec.trialTemplate.trialSpec`, a Job or a PyTorchJob), with paths from the owner's root.
 */
function kubeflowPodTemplates(obj: KubeObject, prefix = ''): PodTemplate[] {
  const ns = obj.metadata.namespace;
  const spec = asRecord(obj.spec);
  if (obj.kind === 'PyTorchJob') {
    return Object.entries(asRecord(spec.pytorchReplicaSpecs)).flatMap(([type, r]) => {
      const tpl = asRecord(asRecord(r).template);
      if (!isRecord(tpl.spec)) return [];
      return [
        { path: `${prefix}spec.pytorchReplicaSpecs.${type}.template.spec`, spec: tpl.spec, labels: stringMap(asRecord(tpl.metadata).labels), namespace: ns },
      ];
    });
  }
  if (obj.kind === 'Experiment' && obj.apiVersion.startsWith('kubeflow.org/')) {
    const trial = asRecord(asRecord(spec.trialTemplate).trialSpec);
    if (typeof trial.kind !== 'string' || typeof trial.apiVersion !== 'string') return [];
    const owned: KubeObject = {
      ...trial,
      kind: trial.kind,
      apiVersion: trial.apiVersion,
      metadata: { name: 'trial', ...asRecord(trial.metadata), namespace: ns },
    };
    const path = `${prefix}spec.trialTemplate.trialSpec.`;
    const single = podTemplate(owned);
    return single ? [{ ...single, path: `${path}${single.path}` }] : kubeflowPodTemplates(owned, path);
  }
  return [];
}

/** KServe's API group; its InferenceService and ServingRuntime carry pod specs. */
const KSERVE_API = 'serving.kserve.io/';
/** Predictor fields holding a container spec KServe merges into the serving container (`model`, and the older per-framework ones). */
const KSERVE_MODEL_FIELDS = ['model', 'sklearn', 'xgboost', 'tensorflow', 'pytorch', 'triton', 'onnx', 'huggingface', 'pmml', 'lightgbm', 'paddle'];

/** One KServe predictor (a PodSpec with the model inline) as a pod template, with the labels KServe gives its pods. */
function kservePredictor(obj: KubeObject, path: string, predictor: Record<string, unknown>): PodTemplate {
  const component =
    typeof predictor.name === 'string' && predictor.name ? `${obj.metadata.name}-${predictor.name}-predictor` : `${obj.metadata.name}-predictor`;
  const labels = {
    ...stringMap(obj.metadata.labels),
    ...stringMap(predictor.labels),
    'serving.kserve.io/inferenceservice': obj.metadata.name,
    component: 'predictor',
    app: `isvc.${component}`,
  };
  const extraContainers = KSERVE_MODEL_FIELDS.flatMap((f) => (isRecord(predictor[f]) ? [{ path: `${path}.${f}`, container: predictor[f], init: false }] : []));
  return { path, spec: predictor, labels, namespace: obj.metadata.namespace, extraContainers };
}

/**
 * The pods of a KServe InferenceService: its predictor (`spec.predictor`) and each canary's
 * (`spec.canary[i].predictor`), the predictor's model container included. Other kinds: none.
 */
export function kservePodTemplates(obj: KubeObject): PodTemplate[] {
  if (obj.kind !== 'InferenceService' || !obj.apiVersion.startsWith(KSERVE_API)) return [];
  const spec = asRecord(obj.spec);
  const predictors: Array<[string, unknown]> = [
    ['spec.predictor', spec.predictor],
    ...asArray(spec.canary).map((c, i): [string, unknown] => [`spec.canary[${i}].predictor`, asRecord(c).predictor]),
  ];
  return predictors.flatMap(([path, p]) => (isRecord(p) ? [kservePredictor(obj, path, p)] : []));
}

/** The first container ports of the ServingRuntime a predictor's model names, when the set has it. */
function runtimePorts(objects: readonly KubeObject[], isvc: KubeObject, predictor: Record<string, unknown>): Record<string, unknown>[] {
  const runtime = asRecord(predictor.model).runtime;
  const rt = objects.find((o) => o.kind === 'ServingRuntime' && o.metadata.name === runtime && o.metadata.namespace === isvc.metadata.namespace);
  return asArray(asRecord(asArray(asRecord(rt?.spec).containers)[0]).ports).map(asRecord);
}

/**
 * The Services the KServe controller creates for the InferenceServices in the set (RawDeployment): one per
 * predictor, named `<isvc>-predictor` (a canary's `<isvc>-<name>-predictor`), its first port 80 (named
 * after the container's first port, else `http`) and the container's other ports under their own numbers.
 */
export function kserveServices(objects: readonly KubeObject[]): KubeObject[] {
  return objects.flatMap((obj) =>
    kservePodTemplates(obj).map(({ spec, labels }) => {
      const containerPorts = runtimePorts(objects, obj, spec);
      const firstName = containerPorts.at(0)?.name;
      const rest = containerPorts.slice(1).map((p) => ({ name: p.name, port: p.containerPort }));
      const ports = [{ name: typeof firstName === 'string' ? firstName : 'http', port: 80 }, ...rest];
      const name = labels.app.replace(/^isvc\./, '');
      return {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: obj.metadata.namespace, labels },
        spec: { selector: { app: labels.app }, ports },
      };
    }),
  );
}

/** A KServe ServingRuntime's pod fragment: the containers and volumes it adds to the pods of the InferenceServices it serves. */
export function servingRuntimeFragment(obj: KubeObject): PodTemplate | undefined {
  if ((obj.kind !== 'ServingRuntime' && obj.kind !== 'ClusterServingRuntime') || !obj.apiVersion.startsWith(KSERVE_API)) return undefined;
  const spec = asRecord(obj.spec);
  return { path: 'spec', spec, labels: stringMap(spec.labels), namespace: obj.metadata.namespace, fragment: true };
}

/**
 * Every pod spec an object carries, for checks on one object: a workload's pod template, else the replicas of a
 * PyTorchJob, a Katib Experiment's trial pods, the pods of a KServe InferenceService and the fragment of a ServingRuntime.
 */
export function objectPodTemplates(obj: KubeObject): PodTemplate[] {
  const tpl = podTemplate(obj);
  if (tpl) return [tpl];
  const runtime = servingRuntimeFragment(obj);
  return runtime ? [runtime] : [...kubeflowPodTemplates(obj), ...kservePodTemplates(obj)];
}

/** Every pod template in the set (pods that will run: no ServingRuntime fragment), paired with its owner object. */
export function podTemplates(objects: readonly KubeObject[]): Array<{ obj: KubeObject; tpl: PodTemplate }> {
  const out: Array<{ obj: KubeObject; tpl: PodTemplate }> = [];
  for (const obj of objects) {
    const tpl = podTemplate(obj);
    if (tpl) out.push({ obj, tpl });
    for (const t of [...kubeflowPodTemplates(obj), ...kservePodTemplates(obj)]) out.push({ obj, tpl: t });
  }
  return out;
}

/** Every container and init container of a pod spec, with their paths. */
export function containers(tpl: PodTemplate): ContainerRef[] {
  const out: ContainerRef[] = [];
  for (const [key, init] of [
    ['initContainers', true],
    ['containers', false],
  ] as const) {
    asArray(tpl.spec[key]).forEach((c, i) => {
      if (isRecord(c)) out.push({ path: `${tpl.path}.${key}[${i}]`, container: c, init });
    });
  }
  return [...out, ...(tpl.extraContainers ?? [])];
}

export function containerName(c: ContainerRef): string {
  return typeof c.container.name === 'string' ? c.container.name : c.path;
}

/** Kubernetes label-selector semantics (matchLabels + matchExpressions) against a label set. */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  const sel = asRecord(selector);
  for (const [k, v] of Object.entries(stringMap(sel.matchLabels))) if (labels[k] !== v) return false;
  for (const e of asArray(sel.matchExpressions)) {
    const expr = asRecord(e);
    const key = String(expr.key);
    const values = asArray(expr.values).map(String);
    const has = key in labels;
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(labels[key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service-style selector: a plain label map, all of which must match. Empty selects nothing here. */
export function mapSelectorMatches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** The object named `kind/name` in a namespace, if the set has it. */
export function findObject(objects: readonly KubeObject[], kind: string, name: string, namespace: string | undefined): KubeObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? undefined) === namespace);
}
