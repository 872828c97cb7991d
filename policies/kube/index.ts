import type { KubeRule } from '../rule';
import { availabilityRules } from './availability';
import { identityRules } from './identity';
import { imageRules } from './images';
import { jobRules } from './jobs';
import { metadataRules } from './metadata';
import { networkingRules } from './networking';
import { podSecurityRules } from './pod-security';
import { rbacRules } from './rbac';
import { resourceRules } from './resources';

/** Every Kubernetes rule, grouped by theme. */
export const kubeRules: readonly KubeRule[] = [
  ...podSecurityRules,
  ...identityRules,
  ...imageRules,
  ...resourceRules,
  ...availabilityRules,
  ...networkingRules,
  ...rbacRules,
  ...jobRules,
  ...metadataRules,
];
