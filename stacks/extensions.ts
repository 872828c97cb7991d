import type { ConstructExtension } from '../constructs/extensions';
import { kubeRules, type KubeRule, type PolicyException } from '../policies';

/*
 * A team's extension of the platform as every stage takes it: the construct hook (constructs/extensions.ts)
 * plus the policy rules and exceptions its objects are judged by, at synth and at `pulumi up` alike.
 */

/** A team's addition to the platform: its own part, extra policy rules and reasoned exceptions. */
export interface PlatformExtension extends ConstructExtension {
  /** Extra policy rules, checked with the built-in ones at every gate (synth and Pulumi). @default none */
  readonly rules?: readonly KubeRule[];
  /** Reasoned exceptions, each waiving one rule for one object (`Kind/namespace/name`). @default none */
  readonly exceptions?: readonly PolicyException[];
}

/** The policy options of a set of extensions: the built-in rules plus theirs (ids must not clash), and their exceptions. */
export function extensionPolicy(extensions: readonly PlatformExtension[] = []): { rules: KubeRule[]; exceptions: PolicyException[] } {
  const rules = [...kubeRules];
  for (const rule of extensions.flatMap((e) => e.rules ?? [])) {
    if (rules.some((r) => r.id === rule.id)) throw new Error(`policy rule "${rule.id}" is defined twice (rule ids must be unique)`);
    rules.push(rule);
  }
  return { rules, exceptions: extensions.flatMap((e) => e.exceptions ?? []) };
}
