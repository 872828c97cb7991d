import { PolicyPack } from '@pulumi/policy';
import { crossGuardPolicies } from './policies';

// `pulumi preview --policy-pack policies/pack`: the project's rules as a CrossGuard policy pack.
new PolicyPack('mlops-blueprint', { policies: crossGuardPolicies });
