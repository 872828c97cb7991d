import type { KubeObject, PolicyContext, Violation } from './types';
import type { KubeRule, ObjectSet } from './rule';
import { severityOf } from './rule';
import { objectRef } from '../core/kube-objects';
import { workflowCreatedObjects, workflowStepPods } from '../core/argo-pods';
import { kubeRules } from './kube';
import { annotationExceptions, applyExceptions, type PolicyException } from './exceptions';
import { s3Rules } from './aws/s3';
import { awsServiceRules } from './aws/services';
import type { AwsContext, AwsResource, AwsRule } from './aws/resources';

export * from './types';
export type { KubeRule, ObjectSet, Finding } from './rule';
export type { AwsResource, AwsRule, AwsContext } from './aws/resources';
export { severityOf } from './rule';
export { objectRef } from '../core/kube-objects';
export { kubeRules } from './kube';
export { EXCEPTIONS_ANNOTATION, type PolicyException } from './exceptions';
export { formatViolations, type OutputFormat } from './format';

export const awsRules: readonly AwsRule[] = [...s3Rules, ...awsServiceRules];

export interface CheckOptions {
  /** Exceptions from a file, in addition to the objects' own annotations. */
  exceptions?: PolicyException[];
  /** Restrict to these rules (the CrossGuard pack runs each rule as its own policy). */
  rules?: readonly KubeRule[];
}

/**
 * Checks Kubernetes objects as one set (cross-object rules see them all). Every violation is returned;
 * those an exception covers carry `exception.reason` and do not count as failures.
 */
export function checkManifests(manifests: KubeObject[], ctx: PolicyContext, opts: CheckOptions = {}): Violation[] {
  // Argo step pods are checked as the Pods the workflow controller creates from their templates, and a resource
  // template's object (a distributed step's PyTorchJob) as itself.
  const objects = [...manifests, ...workflowStepPods(manifests), ...workflowCreatedObjects(manifests)];
  const set: ObjectSet = { objects, ctx };
  const violations: Violation[] = [];
  const exceptions: PolicyException[] = [...(opts.exceptions ?? [])];
  for (const obj of objects) {
    const fromAnnotation = annotationExceptions(obj);
    exceptions.push(...fromAnnotation.exceptions);
    if (fromAnnotation.problem) violations.push(fromAnnotation.problem);
    for (const rule of opts.rules ?? kubeRules) {
      for (const f of rule.check(obj, set)) {
        violations.push({
          ruleId: rule.id,
          severity: severityOf(rule, ctx),
          object: objectRef(obj),
          field: f.field,
          message: f.message,
          remediation: rule.remediation,
        });
      }
    }
  }
  return applyExceptions(violations, exceptions);
}

/** Checks the cloud resources of one stack together (S3 companions are separate resources in AWS provider v7). */
export function checkAwsResources(
  resources: AwsResource[],
  ctx: AwsContext = { mode: 'pulumi' },
  opts: { exceptions?: PolicyException[]; rules?: readonly AwsRule[] } = {},
): Violation[] {
  const violations: Violation[] = [];
  for (const r of resources) {
    for (const rule of opts.rules ?? awsRules) {
      if (!rule.types.includes(r.type)) continue;
      for (const f of rule.check(r, resources, ctx)) {
        violations.push({
          ruleId: rule.id,
          severity: rule.severity,
          object: `${r.type}/${r.name}`,
          field: f.field,
          message: f.message,
          remediation: rule.remediation,
        });
      }
    }
  }
  return applyExceptions(violations, opts.exceptions ?? []);
}

/** One cloud resource on its own (an S3 bucket checked alone has no companion resources). */
export function checkAwsResource(type: string, props: Record<string, unknown>, ctx?: AwsContext, name = 'resource'): Violation[] {
  return checkAwsResources([{ type, name, props }], ctx);
}

/** Whether any error-level violation is not covered by an exception: what fails a check. */
export function hasErrors(violations: readonly Violation[]): boolean {
  return violations.some((v) => v.severity === 'error' && !v.exception);
}
