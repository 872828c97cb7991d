import type { KubeObject } from '../core/kube-objects';
import type { PolicyContext, Severity } from './types';

/** What a rule reports: the field it is about and a message naming the object and that field. */
export interface Finding {
  field?: string;
  message: string;
}

/** A rule over Kubernetes objects. `check` sees one object plus the whole set, for cross-object rules. */
export interface KubeRule {
  id: string;
  /** The severity where `severityIn` does not decide (and the one the README table lists first). */
  severity: Severity;
  /** Severity for one target, when the environment raises (or lowers) it; e.g. digests required in production. */
  severityIn?(ctx: PolicyContext): Severity;
  /** One line for the README table and the CrossGuard pack. */
  description: string;
  /** One line telling how to fix a violation. */
  remediation: string;
  check(obj: KubeObject, set: ObjectSet): Finding[];
}

/** The severity a rule's violations have for this target. */
export function severityOf(rule: Pick<KubeRule, 'severity' | 'severityIn'>, ctx: PolicyContext): Severity {
  return rule.severityIn?.(ctx) ?? rule.severity;
}

/** Every object being checked together, indexed for the cross-object rules, and where they are going. */
export interface ObjectSet {
  objects: readonly KubeObject[];
  ctx: PolicyContext;
}

// The object helpers live in core/kube-objects.ts; re-exported for the tests and the policies' public API.
export { asArray, asRecord, isRecord, objectRef } from '../core/kube-objects';
