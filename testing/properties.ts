import { asRecord, mapSelectorMatches, objectRef, podTemplates, selectorMatches, stringMap, type KubeObject } from '../core/kube-objects';
import type { EnvironmentConfig } from '../environments/schema';
import { checkManifests, formatViolations } from '../policies/index';
import { podSecurityRules } from '../policies/kube/pod-security';
import type { PolicyMode } from '../policies/types';
import { extensionPolicy, type PlatformExtension } from '../stacks/extensions';

/*
 * The properties this project holds its own output to, as functions over synthesized objects. Each returns
 * the offending objects with what is wrong (the empty list when the property holds), so a test reads
 * `expect(unselectedPods(objects)).toEqual([])` and a failure names every offender at once.
 */

const isEmptySelector = (sel: unknown): boolean => {
  const s = asRecord(sel);
  return Object.keys(asRecord(s.matchLabels)).length === 0 && (Array.isArray(s.matchExpressions) ? s.matchExpressions.length : 0) === 0;
};

export interface NetworkPolicyCheckOptions {
  /**
   * Pods that need no flow of their own, for which a namespace-wide policy (the default deny) suffices —
   * e.g. the GPU device plugin, which talks to no one. @default every pod needs a policy naming it
   */
  readonly namespaceDefaultSuffices?: (workload: KubeObject) => boolean;
}

/**
 * Every pod is selected by a NetworkPolicy of its namespace written for it — one whose podSelector is not
 * empty, so not only the namespace's default deny (unless `namespaceDefaultSuffices` says so for it).
 */
export function unselectedPods(objects: readonly KubeObject[], opts: NetworkPolicyCheckOptions = {}): string[] {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  return podTemplates(objects).flatMap(({ obj, tpl }) => {
    const inNamespace = policies.filter((p) => p.metadata.namespace === tpl.namespace && selectorMatches(asRecord(p.spec).podSelector ?? {}, tpl.labels));
    if (inNamespace.length === 0) return [`${objectRef(obj)}: no NetworkPolicy selects its pods`];
    const specific = inNamespace.some((p) => !isEmptySelector(asRecord(p.spec).podSelector));
    if (!specific && !opts.namespaceDefaultSuffices?.(obj)) return [`${objectRef(obj)}: only a namespace-wide NetworkPolicy selects its pods`];
    return [];
  });
}

/** Every Service with a selector selects a pod template of its namespace. */
export function servicesWithoutPods(objects: readonly KubeObject[]): string[] {
  const templates = podTemplates(objects);
  return objects
    .filter((o) => o.kind === 'Service')
    .flatMap((svc) => {
      const selector = stringMap(asRecord(svc.spec).selector);
      if (Object.keys(selector).length === 0) return [];
      const hit = templates.some(({ tpl }) => tpl.namespace === svc.metadata.namespace && mapSelectorMatches(selector, tpl.labels));
      return hit ? [] : [`${objectRef(svc)}: selects no pod template in its namespace`];
    });
}

/** Every HorizontalPodAutoscaler targets a workload of its namespace, which leaves `replicas` to it. */
export function hpaTargetProblems(objects: readonly KubeObject[]): string[] {
  return objects
    .filter((o) => o.kind === 'HorizontalPodAutoscaler')
    .flatMap((hpa) => {
      const ref = asRecord(asRecord(hpa.spec).scaleTargetRef);
      const target = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === hpa.metadata.namespace);
      if (!target) return [`${objectRef(hpa)}: targets ${String(ref.kind)}/${String(ref.name)}, which is not in the output`];
      if (asRecord(target.spec).replicas !== undefined)
        return [`${objectRef(hpa)}: its target ${objectRef(target)} sets replicas, which every apply would reset`];
      return [];
    });
}

/** No Secret carries data (`data` or `stringData`): Secrets come from Pulumi or External Secrets, never from Git. */
export function secretsWithData(objects: readonly KubeObject[]): string[] {
  return objects.filter((o) => o.kind === 'Secret' && (o.data !== undefined || o.stringData !== undefined)).map((o) => `${objectRef(o)}: carries literal data`);
}

/** The policy rules that encode the Pod Security Standards' "restricted" profile (read-only root is the project's own, not PSS). */
const PSS_RESTRICTED_RULES = podSecurityRules.filter((r) => r.id !== 'read-only-root-filesystem');

/**
 * Every Namespace enforces Pod Security `restricted` (or names a looser level the `allowed` list grants), and
 * every pod in a namespace that enforces `restricted` meets it. A pod whose namespace is not in the output
 * is held to `restricted`.
 */
export function podSecurityProblems(objects: readonly KubeObject[], opts: { allowedNamespaces?: readonly string[] } = {}): string[] {
  const level = new Map(
    objects.filter((o) => o.kind === 'Namespace').map((ns) => [ns.metadata.name, ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] ?? 'privileged']),
  );
  const problems = [...level]
    .filter(([name, l]) => l !== 'restricted' && !opts.allowedNamespaces?.includes(name))
    .map(([name, l]) => `Namespace/${name}: enforces Pod Security "${l}", not "restricted"`);
  const pods = objects.filter((o) => podTemplates([o]).some(({ tpl }) => (level.get(tpl.namespace ?? 'default') ?? 'restricted') === 'restricted'));
  const set = { objects, ctx: { mode: 'user' as PolicyMode } };
  for (const obj of pods)
    for (const rule of PSS_RESTRICTED_RULES) for (const f of rule.check(obj, set)) problems.push(`${objectRef(obj)}: ${rule.id}: ${f.message}`);
  return problems;
}

/**
 * The project's policies over the objects as one set, with a team's extensions' rules and exceptions:
 * the formatted report of error-level violations no exception covers (`0 error(s), …` when clean).
 */
export function policyReport(
  objects: readonly KubeObject[],
  env: EnvironmentConfig,
  opts: { mode?: PolicyMode; extensions?: readonly PlatformExtension[] } = {},
): string {
  const violations = checkManifests([...objects], { mode: opts.mode ?? 'gitops', environment: env }, extensionPolicy(opts.extensions));
  return formatViolations(violations.filter((v) => v.severity === 'error' && !v.exception));
}

/** The report `policyReport` gives for a clean set. */
export const POLICY_CLEAN = '0 error(s), 0 warning(s), 0 excepted\n';

export interface PropertyCheckOptions extends NetworkPolicyCheckOptions {
  /** The team's extensions, whose rules and exceptions the policy check applies. @default none */
  readonly extensions?: readonly PlatformExtension[];
  /** Namespaces allowed to enforce a looser Pod Security level. @default the GPU device plugin's, which needs privileged */
  readonly allowedNamespaces?: readonly string[];
}

/** Every property at once, by name: each list empty (and `policies` clean) when the output holds them all. */
export function platformProperties(objects: readonly KubeObject[], env: EnvironmentConfig, opts: PropertyCheckOptions = {}): Record<string, string[]> {
  const report = policyReport(objects, env, { extensions: opts.extensions });
  return {
    networkPolicies: unselectedPods(objects, {
      namespaceDefaultSuffices: opts.namespaceDefaultSuffices ?? ((o) => o.kind === 'DaemonSet' && o.metadata.namespace === 'nvidia-device-plugin'),
    }),
    services: servicesWithoutPods(objects),
    hpaTargets: hpaTargetProblems(objects),
    secretData: secretsWithData(objects),
    podSecurity: podSecurityProblems(objects, { allowedNamespaces: opts.allowedNamespaces ?? ['nvidia-device-plugin'] }),
    policies: report === POLICY_CLEAN ? [] : [report],
  };
}

/** Throws an Error listing every broken property (for test runners without `toEqual`). */
export function assertPlatformProperties(objects: readonly KubeObject[], env: EnvironmentConfig, opts: PropertyCheckOptions = {}): void {
  const broken = Object.entries(platformProperties(objects, env, opts)).filter(([, problems]) => problems.length > 0);
  if (broken.length)
    throw new Error(`platform properties broken:\n${broken.map(([name, problems]) => `  ${name}:\n${problems.map((p) => `    ${p}`).join('\n')}`).join('\n')}`);
}
