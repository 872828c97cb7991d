import type { EnforcementLevel, PolicyResource, ReportViolation, StackValidationPolicy } from '@pulumi/policy';
import { awsRules, checkAwsResources, checkManifests, kubeRules, type AwsRule, type KubeObject, type KubeRule, type PolicyContext } from '../index';
import { builtInEnvironment, loadEnvironment } from '../../environments';
import { pulumiToKubeObject, stackFromUrn } from './convert';

/*
 * The CrossGuard policies: the same rules `mlops synth` and `mlops policy check` run, applied to the
 * resources of a `pulumi preview/up`. Every rule is a stack policy because many rules are cross-object
 * (a Service's pods, an S3 bucket's separate encryption resource). This module does not start the
 * policy pack server (index.ts does), so tests call `validateStack` directly.
 */

function enforcement(severity: 'error' | 'warning'): EnforcementLevel {
  return severity === 'error' ? 'mandatory' : 'advisory';
}

/** The environment of the stack (stack name = environment name), for its allowances (LoadBalancer, plain HTTP locally). */
function contextFor(resources: PolicyResource[]): PolicyContext {
  const stack = resources.map((r) => stackFromUrn(r.urn)).find(Boolean);
  return { mode: 'pulumi', environment: stack && builtInEnvironment(stack) ? loadEnvironment(stack) : undefined };
}

interface Converted {
  objects: KubeObject[];
  urnOf: Map<string, string>;
}

function kubeObjects(resources: PolicyResource[]): Converted {
  const objects: KubeObject[] = [];
  const urnOf = new Map<string, string>();
  for (const r of resources) {
    const obj = pulumiToKubeObject(r.type, r.props, r.name);
    if (!obj) continue;
    objects.push(obj);
    const ns = obj.metadata.namespace;
    urnOf.set(ns ? `${obj.kind}/${ns}/${obj.metadata.name}` : `${obj.kind}/${obj.metadata.name}`, r.urn);
  }
  return { objects, urnOf };
}

/**
 * One CrossGuard policy per rule. A rule whose severity depends on the environment (`severityIn`) becomes
 * two, because an enforcement level is fixed per policy: `<id>` (mandatory) reports where the stack's
 * environment makes it an error, `<id>-advisory` where it is a warning.
 */
function kubePolicies(rule: KubeRule): StackValidationPolicy[] {
  const levels: Array<['error' | 'warning', string]> = rule.severityIn
    ? [
        ['error', rule.id],
        ['warning', `${rule.id}-advisory`],
      ]
    : [[rule.severity, rule.id]];
  return levels.map(([severity, name]) => ({
    name,
    description: rule.description,
    enforcementLevel: enforcement(severity),
    remediationSteps: rule.remediation,
    validateStack: (args, report: ReportViolation) => {
      const { objects, urnOf } = kubeObjects(args.resources);
      if (objects.length === 0) return;
      for (const v of checkManifests(objects, contextFor(args.resources), { rules: [rule] })) {
        if (v.exception || v.severity !== severity) continue;
        report(`${v.object}${v.field ? ` ${v.field}` : ''}: ${v.message}. Fix: ${v.remediation}`, urnOf.get(v.object));
      }
    },
  }));
}

function awsPolicy(rule: AwsRule): StackValidationPolicy {
  return {
    name: rule.id,
    description: rule.description,
    enforcementLevel: enforcement(rule.severity),
    remediationSteps: rule.remediation,
    validateStack: (args, report: ReportViolation) => {
      const aws = args.resources.filter((r) => r.type.startsWith('aws:'));
      if (aws.length === 0) return;
      const urnOf = new Map(aws.map((r) => [`${r.type}/${r.name}`, r.urn]));
      for (const v of checkAwsResources(
        aws.map((r) => ({ type: r.type, name: r.name, props: r.props })),
        contextFor(args.resources),
        { rules: [rule] },
      )) {
        report(`${v.object}${v.field ? ` ${v.field}` : ''}: ${v.message}. Fix: ${v.remediation}`, urnOf.get(v.object));
      }
    },
  };
}

/** The CrossGuard policies, named by rule id. */
export const crossGuardPolicies: StackValidationPolicy[] = [...kubeRules.flatMap(kubePolicies), ...awsRules.map(awsPolicy)];
