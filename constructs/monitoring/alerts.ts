import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../environments';
import { customObject, standardLabels } from '../common';
import { platformRuleGroups } from './rules';

export const MONITORING_COMPONENT = 'monitoring';

export interface PlatformAlertsProps {
  readonly env: EnvironmentConfig;
}

/**
 * The platform's alerting and recording rules as prometheus-operator PrometheusRules, one per area
 * (`mlops-<area>`), in the platform namespace, with the environment's `monitoring.alerts.ruleLabels`
 * for the Prometheus `ruleSelector`. Thresholds come from `monitoring.alerts` and `driftPsiThreshold`.
 */
export class PlatformAlerts extends Construct {
  /** Names of the PrometheusRules made. */
  readonly names: string[] = [];

  constructor(scope: Construct, id: string, props: PlatformAlertsProps) {
    super(scope, id);
    const { env } = props;
    for (const { area, groups } of platformRuleGroups(env)) {
      const name = `mlops-${area}`;
      customObject(this, area, {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: {
          name,
          namespace: env.namespaces.platform,
          labels: { ...standardLabels(env, name, MONITORING_COMPONENT), ...env.monitoring.alerts.ruleLabels },
        },
        spec: { groups: groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r })) })) },
      });
      this.names.push(name);
    }
  }
}
