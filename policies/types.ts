import type { EnvironmentConfig } from '../environments';

/** A plain Kubernetes object (core/kube-objects.ts), re-exported for the policies' public API. */
export type { KubeObject } from '../core/kube-objects';

/** Where the objects are going: GitOps output must hold no Secret data; Pulumi creates secrets itself. */
export type PolicyMode = 'gitops' | 'pulumi' | 'user';

export interface PolicyContext {
  mode: PolicyMode;
  /** The environment the objects were synthesized for (absent for users' own manifests). */
  environment?: EnvironmentConfig;
}

export type Severity = 'error' | 'warning';

export interface Violation {
  ruleId: string;
  severity: Severity;
  /** `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects). */
  object: string;
  /** Field path inside the object, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
  field?: string;
  message: string;
  /** One line telling how to fix it. */
  remediation: string;
  /** Set when an explicit, reasoned exception covers this violation; it then does not fail a check. */
  exception?: { reason: string };
}
