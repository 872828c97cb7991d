import type { KubeRule, ObjectSet } from '../rule';
import { type KubeObject, asArray, asRecord, isRecord, containers, podTemplate, selectorMatches, stringMap } from '../../core/kube-objects';

const SCALABLE_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);
const SELECTOR_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** The HorizontalPodAutoscaler scaling this workload, if any. */
export function hpaFor(obj: KubeObject, set: ObjectSet): KubeObject | undefined {
  return set.objects.find((o) => {
    if (o.kind !== 'HorizontalPodAutoscaler' || o.metadata.namespace !== obj.metadata.namespace) return false;
    const ref = asRecord(asRecord(o.spec).scaleTargetRef);
    return ref.kind === obj.kind && ref.name === obj.metadata.name;
  });
}

/**
 * A stateless workload serving traffic: a Deployment with a container that declares a port. (A
 * single-replica StatefulSet, such as an in-cluster database, is a deliberate single writer.)
 */
function isServing(obj: KubeObject): boolean {
  if (obj.kind !== 'Deployment') return false;
  const tpl = podTemplate(obj);
  return !!tpl && containers(tpl).some((c) => !c.init && asArray(c.container.ports).length > 0);
}

/** The fewest replicas the workload runs with (HPA minReplicas when scaled), and the most. */
function replicaRange(obj: KubeObject, set: ObjectSet): { min: number; max: number } {
  const hpa = hpaFor(obj, set);
  if (hpa) {
    const spec = asRecord(hpa.spec);
    return { min: typeof spec.minReplicas === 'number' ? spec.minReplicas : 1, max: Number(spec.maxReplicas ?? 1) };
  }
  const r = asRecord(obj.spec).replicas;
  const n = typeof r === 'number' ? r : 1;
  return { min: n, max: n };
}

function isReplicated(obj: KubeObject, set: ObjectSet): boolean {
  return SCALABLE_KINDS.has(obj.kind) && replicaRange(obj, set).max >= 2;
}

function pdbsFor(obj: KubeObject, set: ObjectSet): KubeObject[] {
  const tpl = podTemplate(obj);
  if (!tpl) return [];
  return set.objects.filter(
    (o) =>
      o.kind === 'PodDisruptionBudget' &&
      o.metadata.namespace === obj.metadata.namespace &&
      isRecord(asRecord(o.spec).selector) &&
      selectorMatches(asRecord(o.spec).selector, tpl.labels),
  );
}

/** Whether a PDB lets at least one pod of a workload with `replicas` pods be evicted. */
function allowsDisruption(pdb: KubeObject, replicas: number): boolean {
  const spec = asRecord(pdb.spec);
  const resolve = (v: unknown): number => (typeof v === 'string' && v.endsWith('%') ? Math.ceil((parseFloat(v) / 100) * replicas) : Number(v));
  if (spec.maxUnavailable !== undefined) {
    const v = spec.maxUnavailable;
    return typeof v === 'string' && v.endsWith('%') ? parseFloat(v) > 0 : Number(v) > 0;
  }
  if (spec.minAvailable !== undefined) return resolve(spec.minAvailable) < replicas;
  return true;
}

export const availabilityRules: KubeRule[] = [
  {
    id: 'serving-replicas',
    severity: 'error',
    description: 'Serving Deployments run ≥ 2 replicas or are scaled by an HPA',
    remediation: 'Set spec.replicas ≥ 2 or add a HorizontalPodAutoscaler targeting the workload.',
    check: (obj, set) => {
      if (!isServing(obj) || hpaFor(obj, set)) return [];
      const r = asRecord(obj.spec).replicas;
      const n = typeof r === 'number' ? r : 1;
      return n >= 2 ? [] : [{ field: 'spec.replicas', message: `serving workload runs ${n} replica and has no HorizontalPodAutoscaler` }];
    },
  },
  {
    id: 'hpa-no-fixed-replicas',
    severity: 'error',
    description: 'A workload under an HPA does not also fix spec.replicas',
    remediation: 'Remove spec.replicas; the HorizontalPodAutoscaler owns it (a GitOps sync would otherwise reset it).',
    check: (obj, set) => {
      if (!SCALABLE_KINDS.has(obj.kind) || asRecord(obj.spec).replicas === undefined) return [];
      const hpa = hpaFor(obj, set);
      return hpa
        ? [{ field: 'spec.replicas', message: `spec.replicas is fixed although HorizontalPodAutoscaler "${hpa.metadata.name}" scales the workload` }]
        : [];
    },
  },
  {
    id: 'pdb-exists',
    severity: 'error',
    description: 'Replicated workloads have a PodDisruptionBudget',
    remediation: 'Add a PodDisruptionBudget selecting the pods (e.g. maxUnavailable: 1).',
    check: (obj, set) =>
      isReplicated(obj, set) && pdbsFor(obj, set).length === 0
        ? [{ field: 'spec.template.metadata.labels', message: 'replicated workload has no PodDisruptionBudget selecting its pods' }]
        : [],
  },
  {
    id: 'pdb-allows-disruption',
    severity: 'error',
    description: 'PodDisruptionBudgets allow at least one disruption',
    remediation: 'Use maxUnavailable: 1 (or minAvailable below the replica count) so nodes can be drained.',
    check: (obj, set) => {
      if (!SCALABLE_KINDS.has(obj.kind)) return [];
      const { min } = replicaRange(obj, set);
      return pdbsFor(obj, set)
        .filter((pdb) => !allowsDisruption(pdb, min))
        .map((pdb) => ({
          field: 'spec.replicas',
          message: `PodDisruptionBudget "${pdb.metadata.name}" allows no disruption at ${min} replica(s), so node drains block`,
        }));
    },
  },
  {
    id: 'pod-spread',
    severity: 'warning',
    description: 'Replicated workloads spread pods (anti-affinity or topology spread)',
    remediation: 'Add topologySpreadConstraints (or podAntiAffinity) over kubernetes.io/hostname.',
    check: (obj, set) => {
      if (!isReplicated(obj, set)) return [];
      const tpl = podTemplate(obj);
      if (!tpl) return [];
      const spread = asArray(tpl.spec.topologySpreadConstraints).length > 0 || isRecord(asRecord(tpl.spec.affinity).podAntiAffinity);
      return spread
        ? []
        : [{ field: `${tpl.path}.topologySpreadConstraints`, message: 'replicated workload has neither topologySpreadConstraints nor podAntiAffinity' }];
    },
  },
  {
    id: 'selector-matches-template',
    severity: 'error',
    description: "A workload's selector matches its pod template labels",
    remediation: 'Make spec.selector.matchLabels a subset of spec.template.metadata.labels.',
    check: (obj) => {
      if (!SELECTOR_KINDS.has(obj.kind)) return [];
      const selector = asRecord(obj.spec).selector;
      if (selector === undefined && obj.kind === 'Job') return [];
      const tpl = podTemplate(obj);
      if (!tpl) return [];
      if (!isRecord(selector) || (Object.keys(stringMap(selector.matchLabels)).length === 0 && asArray(selector.matchExpressions).length === 0)) {
        return [{ field: 'spec.selector', message: 'workload has an empty selector' }];
      }
      return selectorMatches(selector, tpl.labels) ? [] : [{ field: 'spec.selector', message: 'spec.selector does not match spec.template.metadata.labels' }];
    },
  },
  {
    id: 'hpa-target-exists',
    severity: 'error',
    description: "An HPA's scaleTargetRef exists",
    remediation: 'Point scaleTargetRef at a workload in the same namespace, or remove the HPA.',
    check: (obj, set) => {
      if (obj.kind !== 'HorizontalPodAutoscaler') return [];
      const ref = asRecord(asRecord(obj.spec).scaleTargetRef);
      const found = set.objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === obj.metadata.namespace);
      return found ? [] : [{ field: 'spec.scaleTargetRef', message: `scaleTargetRef ${String(ref.kind)}/${String(ref.name)} does not exist` }];
    },
  },
];
