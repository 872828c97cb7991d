import type { EnvironmentConfig } from '../environments';
import type { PolicyMode, Violation } from './types';
import { checkManifests, hasErrors, type CheckOptions } from './index';
import { formatViolations } from './format';
import type { KubeObject } from '../core/kube-objects';

/** Synthesized output that fails the policies; `message` lists every violation, one per line with its fix. */
export class PolicyViolationError extends Error {
  constructor(
    readonly environment: string,
    readonly violations: Violation[],
  ) {
    super(`environment "${environment}": synthesized objects violate the policies; nothing was written:\n${formatViolations(violations)}`.trimEnd());
    this.name = 'PolicyViolationError';
  }
}

/**
 * The gate `mlops synth` (and the Pulumi program) runs before writing or deploying: checks every object
 * of one environment as a set and throws `PolicyViolationError` on any error-level violation not covered
 * by an exception. Returns the violations (warnings, exceptions) otherwise, for printing. `opts` adds a team's
 * rules and exceptions (stacks/extensions.ts).
 */
export function assertPolicyClean(objects: KubeObject[], environment: EnvironmentConfig, mode: PolicyMode = 'gitops', opts: CheckOptions = {}): Violation[] {
  const violations = checkManifests(objects, { mode, environment }, opts);
  if (hasErrors(violations)) throw new PolicyViolationError(environment.name, violations);
  return violations;
}
