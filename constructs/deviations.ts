import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { EXCEPTIONS_ANNOTATION, KUBE_SCORE_IGNORE } from '../core/annotations';
import { asArray, asRecord, containers, objectPodTemplates, type KubeObject } from '../core/kube-objects';
import { workflowCreatedObjects, workflowStepPods } from '../core/argo-pods';

/*
 * The platform's deliberate departures from scanner defaults, written into the objects themselves so
 * anyone scanning the output sees why: the project's exceptions annotation (its policies honour it), and
 * the native per-object skips of checkov (`checkov.io/skip<N>: <CHECK_ID>=<reason>`) and kube-score
 * (`kube-score/ignore: <check>,…`), so their users need no allowlist of ours.
 */

/** One deliberate departure, with the reason, in each scanner's vocabulary. */
export interface Deviation {
  /** The project policy rule waived (`policies.mlops-blueprint.io/exceptions`). */
  readonly rule?: string;
  /** checkov check ids skipped. */
  readonly checkov?: readonly string[];
  /** kube-score check ids ignored (kube-score's granularity: a whole check). */
  readonly kubeScore?: readonly string[];
  readonly reason: string;
}

/** Secret env vars a program can only read from its environment, each with why (keyed by variable name). */
export type EnvOnlySecrets = Readonly<Record<string, string>>;

const CHECKOV_SKIP = /^checkov\.io\/skip\d+$/;

/** No CPU limits anywhere, on purpose. kube-score can only ignore its whole resources check (memory included). */
export const NO_CPU_LIMIT: Deviation = {
  rule: 'cpu-limit',
  checkov: ['CKV_K8S_11'],
  kubeScore: ['container-resources'],
  reason:
    'No CPU limit on purpose: CFS quota throttling stalls serving and training even when the node has idle CPU; CPU requests reserve capacity and drive the HPA. Memory and ephemeral-storage limits and all requests are set (project policies memory-limit and resource-requests enforce them).',
};

/** IfNotPresent instead of Always. */
export const CACHED_PULLS: Deviation = {
  checkov: ['CKV_K8S_15'],
  kubeScore: ['container-image-pull-policy'],
  reason:
    'imagePullPolicy IfNotPresent: images are pinned by digest (staging, prod) or by a release tag that is never re-pushed (ECR tags are immutable; a new local build gets a new tag), so a cached image is the same bytes; Always adds a registry round-trip to every pod start and makes restarts fail while the registry is unreachable.',
};

/** Spread by topology constraints rather than hard anti-affinity (kube-score has one check per kind). */
export function hostnameSpread(kind: 'Deployment' | 'StatefulSet'): Deviation {
  return {
    kubeScore: [`${kind.toLowerCase()}-has-host-podantiaffinity`],
    reason:
      'Replicas spread with topologySpreadConstraints over kubernetes.io/hostname (whenUnsatisfiable ScheduleAnyway); hard pod anti-affinity would stop the HPA from scaling past the node count.',
  };
}

function checkReason(d: Deviation): void {
  // checkov splits `ID=reason` on every "=": a reason holding one breaks its parser.
  if (!d.reason.trim() || d.reason.includes('=')) throw new Error(`deviation reasons must be non-empty and free of "=": ${d.reason}`);
}

/**
 * The annotations for `deviations`, merged into `existing` (earlier exceptions, kube-score ignores and
 * checkov skips kept; checkov skips renumbered in check-id order, so output is stable).
 */
export function deviationAnnotations(deviations: readonly Deviation[], existing: Readonly<Record<string, string>> = {}): Record<string, string> {
  deviations.forEach(checkReason);
  const out: Record<string, string> = Object.fromEntries(Object.entries(existing).filter(([k]) => !CHECKOV_SKIP.test(k)));
  const exceptions: Record<string, string> = existing[EXCEPTIONS_ANNOTATION] ? (JSON.parse(existing[EXCEPTIONS_ANNOTATION]) as Record<string, string>) : {};
  const ignores = new Set(
    (existing[KUBE_SCORE_IGNORE] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const skips = new Map(
    Object.entries(existing)
      .filter(([k]) => CHECKOV_SKIP.test(k))
      .map(([, v]) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]),
  );
  for (const d of deviations) {
    if (d.rule) exceptions[d.rule] = exceptions[d.rule] && exceptions[d.rule] !== d.reason ? `${exceptions[d.rule]} ${d.reason}` : d.reason;
    for (const id of d.kubeScore ?? []) ignores.add(id);
    for (const id of d.checkov ?? []) skips.set(id, skips.has(id) && skips.get(id) !== d.reason ? `${skips.get(id)} ${d.reason}` : d.reason);
  }
  if (Object.keys(exceptions).length)
    out[EXCEPTIONS_ANNOTATION] = JSON.stringify(Object.fromEntries(Object.entries(exceptions).sort(([a], [b]) => a.localeCompare(b))));
  if (ignores.size) out[KUBE_SCORE_IGNORE] = [...ignores].sort().join(',');
  [...skips].sort(([a], [b]) => a.localeCompare(b)).forEach(([id, why], i) => (out[`checkov.io/skip${i + 1}`] = `${id}=${why}`));
  return out;
}

/** Names of the Secret values a workload's containers take from env (`secretKeyRef`, or `envFrom` a Secret). */
function secretEnvNames(obj: KubeObject): string[] {
  return objectPodTemplates(obj)
    .flatMap(containers)
    .flatMap((c) => [
      ...asArray(c.container.env)
        .filter((e) => asRecord(asRecord(e).valueFrom).secretKeyRef)
        .map((e) => String(asRecord(e).name)),
      ...asArray(c.container.envFrom)
        .filter((e) => asRecord(e).secretRef)
        .map((e) => `envFrom:${String(asRecord(asRecord(e).secretRef).name)}`),
    ]);
}

/**
 * The platform-wide deviations that apply to one workload, read off what it is: no CPU limit, a pull
 * policy other than Always, hostname spread without anti-affinity, and Secret env vars — the last only
 * for variables `envOnly` gives a reason for (any other stays a finding: mount it with `secretFiles`).
 */
export function workloadDeviations(obj: KubeObject, envOnly: EnvOnlySecrets): Deviation[] {
  // An Argo WorkflowTemplate deviates where the pods (and PyTorchJobs) it makes do (written once on the template).
  const stepPods = [...workflowStepPods([obj]), ...workflowCreatedObjects([obj])];
  if (stepPods.length) {
    const all = stepPods.flatMap((p) => workloadDeviations(p, envOnly));
    return all.filter((d, i) => all.findIndex((o) => JSON.stringify(o) === JSON.stringify(d)) === i);
  }
  // A workload's pod template, or a KServe InferenceService's predictors and a ServingRuntime's containers.
  const tpls = objectPodTemplates(obj);
  if (tpls.length === 0) return [];
  const tpl = tpls[0];
  const cs = tpls.flatMap(containers);
  const out: Deviation[] = [];
  if (cs.some((c) => asRecord(asRecord(c.container.resources).limits).cpu === undefined)) out.push(NO_CPU_LIMIT);
  if (cs.some((c) => c.container.imagePullPolicy !== 'Always')) out.push(CACHED_PULLS);
  const spread = asArray(tpl.spec.topologySpreadConstraints).some((t) => asRecord(t).topologyKey === 'kubernetes.io/hostname');
  if (
    (obj.kind === 'Deployment' || obj.kind === 'StatefulSet') &&
    spread &&
    !asRecord(asRecord(tpl.spec.affinity).podAntiAffinity).requiredDuringSchedulingIgnoredDuringExecution
  )
    out.push(hostnameSpread(obj.kind));
  const names = [...new Set(secretEnvNames(obj))];
  if (names.length && names.every((n) => envOnly[n])) {
    const byReason = new Map<string, string[]>();
    for (const n of names) byReason.set(envOnly[n], [...(byReason.get(envOnly[n]) ?? []), n]);
    const reason = [...byReason].map(([why, vars]) => `${vars.join(', ')}: ${why}`).join(' ');
    out.push({ rule: 'secrets-as-files', checkov: ['CKV_K8S_35'], reason: `Secrets in env only where the program reading them has no file option. ${reason}` });
  }
  return out;
}

/** Writes the platform-wide deviations onto every workload under `scope` (after the objects are complete). */
export function recordDeviations(scope: Construct, envOnly: EnvOnlySecrets): void {
  for (const node of scope.node.findAll()) {
    if (!(node instanceof ApiObject)) continue;
    const obj = node.toJson() as KubeObject;
    const deviations = workloadDeviations(obj, envOnly);
    if (deviations.length === 0) continue;
    for (const [k, v] of Object.entries(deviationAnnotations(deviations, obj.metadata.annotations ?? {}))) node.metadata.addAnnotation(k, v);
  }
}
