import type { EnvironmentConfig } from '../../../environments';
import { driftAlerts, inferenceAlerts } from './inference';
import { platformAlerts } from './platform';
import { INFERENCE_RECORDS, TRACKING_RECORDS } from './recording';
import { trackingAlerts } from './tracking';
import { trainingAlerts } from './training';
import { ruleContext, type RuleGroup } from './types';

export * from './types';
export { INFERENCE_RECORDS, TRACKING_RECORDS } from './recording';

/** The environment's rule groups by area: what each PrometheusRule holds. Inference groups only when models are served. */
export function platformRuleGroups(env: EnvironmentConfig): Array<{ area: string; groups: RuleGroup[] }> {
  const ctx = ruleContext(env);
  const serving = env.inference.models.length > 0;
  return [
    ...(serving ? [{ area: 'inference', groups: [INFERENCE_RECORDS, inferenceAlerts(ctx), driftAlerts(ctx)] }] : []),
    { area: 'tracking', groups: [TRACKING_RECORDS, trackingAlerts(ctx)] },
    { area: 'training', groups: [trainingAlerts(ctx)] },
    { area: 'platform', groups: [platformAlerts(ctx)] },
  ];
}
