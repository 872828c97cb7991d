import type { EnvironmentConfig } from '../../../environments';

/** A Prometheus alerting rule, as a PrometheusRule's `spec.groups[].rules[]` holds it. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: 'critical' | 'warning' | 'info'; readonly [name: string]: string };
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
}

/** A Prometheus recording rule: `record` is `level:metric:operations`, as Prometheus's naming guide asks. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export type Rule = AlertRule | RecordingRule;

/** One rule group: evaluated together, at the group's interval (Prometheus's global one when unset). */
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly Rule[];
}

export const isAlert = (r: Rule): r is AlertRule => 'alert' in r;

/** An alert's anchor in docs/runbook.md: its `## <AlertName>` heading, as GitHub and most renderers slug it. */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase();
}

/** What every rule module builds from: the environment, and an alert constructor that fills the runbook link. */
export interface RuleContext {
  readonly env: EnvironmentConfig;
  /** `namespace=~"…"` over the environment's three namespaces. */
  readonly allNamespaces: string;
  alert(rule: Omit<AlertRule, 'annotations'> & { summary: string; description: string }): AlertRule;
}

export function ruleContext(env: EnvironmentConfig): RuleContext {
  const { platform, training, serving } = env.namespaces;
  return {
    env,
    allNamespaces: `namespace=~"${[platform, training, serving].join('|')}"`,
    alert: ({ summary, description, ...rule }) => ({
      ...rule,
      annotations: { summary, description, runbook_url: `${env.monitoring.alerts.runbookUrl}#${runbookAnchor(rule.alert)}` },
    }),
  };
}

/** Seconds in a Prometheus duration of the schema's form (`90s`, `15m`, `6h`, `2d`, `1w`). */
export function durationSeconds(d: string): number {
  const m = /^([1-9][0-9]*)(s|m|h|d|w)$/.exec(d);
  if (!m) throw new Error(`"${d}" is not a Prometheus duration such as "15m"`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
