/**
 * For a team's own CI (jest, vitest, node:test): synthesize an environment in memory, snapshot the whole
 * output in a stable order, and check the properties this project holds its own output to.
 *
 * @example
 * ```ts
 * import { synthesize, snapshot, platformProperties } from 'mlops-blueprint/testing';
 * const out = synthesize(teamProd, { extensions });
 * expect(snapshot(out.files)).toMatchSnapshot();
 * expect(platformProperties(out.objects, out.env, { extensions })).toEqual({ networkPolicies: [], services: [], hpaTargets: [], secretData: [], podSecurity: [], policies: [] });
 * ```
 *
 * @module testing
 */
export { synthesize, type Synthesized, type SynthesizeOptions } from '../testing/synth';
export { snapshot, stableObjects } from '../testing/snapshot';
export {
  assertPlatformProperties,
  hpaTargetProblems,
  platformProperties,
  podSecurityProblems,
  POLICY_CLEAN,
  policyReport,
  secretsWithData,
  servicesWithoutPods,
  unselectedPods,
  type NetworkPolicyCheckOptions,
  type PropertyCheckOptions,
} from '../testing/properties';
