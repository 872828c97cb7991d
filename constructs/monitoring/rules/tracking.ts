import type { RuleContext, RuleGroup } from './types';

/** Tracking server: 5xx ratio, 503s (its answer when the backend store is unavailable), p99 of writes. */
export function trackingAlerts(ctx: RuleContext): RuleGroup {
  const t = ctx.env.monitoring.alerts.tracking;
  const ns = `namespace="${ctx.env.namespaces.platform}"`;
  return {
    name: 'mlops-tracking',
    rules: [
      ctx.alert({
        alert: 'TrackingErrorRatioHigh',
        expr: `namespace:mlflow_http_error_ratio:rate5m{${ns}} > ${t.errorRatio}`,
        for: '10m',
        labels: { severity: 'critical' },
        summary: 'Tracking server requests failing',
        description: `{{ $value | humanizePercentage }} of tracking requests in namespace {{ $labels.namespace }} get a 5xx answer other than 503 (threshold ${t.errorRatio * 100}%).`,
      }),
      ctx.alert({
        alert: 'TrackingDatabaseUnavailable',
        expr: `namespace:mlflow_http_unavailable_ratio:rate5m{${ns}} > ${t.unavailableRatio}`,
        for: '5m',
        labels: { severity: 'critical' },
        summary: 'Tracking server answering 503: backend store unavailable',
        description: `{{ $value | humanizePercentage }} of tracking requests in namespace {{ $labels.namespace }} get 503 TEMPORARILY_UNAVAILABLE (the database is unreachable or its pool exhausted; threshold ${t.unavailableRatio * 100}%).`,
      }),
      ctx.alert({
        alert: 'TrackingWriteLatencyHigh',
        expr: `namespace:mlflow_http_write_duration_seconds:p99_5m{${ns}} > ${t.writeP99Seconds}`,
        for: '15m',
        labels: { severity: 'warning' },
        summary: 'Tracking writes slow',
        description: `p99 latency of tracking writes (POST, PUT, PATCH, DELETE) in namespace {{ $labels.namespace }} is {{ $value | humanizeDuration }} (objective ${t.writeP99Seconds} s).`,
      }),
    ],
  };
}
