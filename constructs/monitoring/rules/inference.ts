import type { InferenceModel } from '../../../environments';
import { trackName } from '../../inference';
import type { AlertRule, RuleContext, RuleGroup } from './types';

/** Drift: a feature's PSI against the training data above the environment's threshold for `driftFor`. */
export function driftAlerts(ctx: RuleContext): RuleGroup {
  const { driftPsiThreshold, alerts } = ctx.env.monitoring;
  return {
    name: 'mlops-drift',
    rules: [
      ctx.alert({
        alert: 'ModelFeatureDrift',
        expr: `max by (namespace, model, version, feature) (mlops_feature_psi{namespace="${ctx.env.namespaces.serving}"}) > ${driftPsiThreshold}`,
        for: alerts.driftFor,
        labels: { severity: 'warning' },
        summary: 'Model input drifted from the training data',
        description: `Feature {{ $labels.feature }} of model {{ $labels.model }} version {{ $labels.version }} in namespace {{ $labels.namespace }} has PSI {{ $value | printf "%.3f" }} (threshold ${driftPsiThreshold}) for ${alerts.driftFor}.`,
      }),
    ],
  };
}

/** The Deployments of a model's tracks, as a regex over kube-state-metrics' `deployment` label. */
const deployments = (m: InferenceModel) => [trackName(m, 'stable'), ...(m.canary ? [trackName(m, 'canary')] : [])].join('|');

/** Per model: the queue saturation threshold comes from its own `batching.maxQueue`. */
function perModelAlerts(ctx: RuleContext, m: InferenceModel): AlertRule[] {
  const ns = ctx.env.namespaces.serving;
  const limit = Math.max(1, Math.floor(ctx.env.monitoring.alerts.inference.queueSaturation * m.batching.maxQueue));
  return [
    ctx.alert({
      alert: 'InferenceQueueSaturated',
      expr: `max by (namespace, pod) (mlops_inference_queue_depth{namespace="${ns}", service=~"${deployments(m)}"}) >= ${limit}`,
      for: '5m',
      labels: { severity: 'warning', model: m.name },
      summary: 'Inference queue near its limit',
      description: `Pod {{ $labels.pod }} of model ${m.name} in namespace {{ $labels.namespace }} has {{ $value }} requests queued (limit ${m.batching.maxQueue}; alert at ${limit}); requests beyond the limit get 503.`,
    }),
    ctx.alert({
      alert: 'InferenceNoReadyReplicas',
      expr: `max by (namespace, deployment) (kube_deployment_spec_replicas{namespace="${ns}", deployment=~"${deployments(m)}"}) > 0 and on (namespace, deployment) max by (namespace, deployment) (kube_deployment_status_replicas_available{namespace="${ns}", deployment=~"${deployments(m)}"}) == 0`,
      for: '5m',
      labels: { severity: 'critical', model: m.name },
      summary: 'A model has no available replica',
      description: `Deployment {{ $labels.deployment }} of model ${m.name} in namespace {{ $labels.namespace }} has no available replica: its predictions fail.`,
    }),
  ];
}

/** Inference: error ratio, p99 over the SLO, refusals (503), swap failures; queue and replicas per model. */
export function inferenceAlerts(ctx: RuleContext): RuleGroup {
  const t = ctx.env.monitoring.alerts.inference;
  const ns = ctx.env.namespaces.serving;
  return {
    name: 'mlops-inference',
    rules: [
      ctx.alert({
        alert: 'InferenceErrorRatioHigh',
        expr: `namespace_model:mlops_inference_error_ratio:rate5m{namespace="${ns}"} > ${t.errorRatio}`,
        for: '10m',
        labels: { severity: 'critical' },
        summary: 'Inference requests failing',
        description: `{{ $value | humanizePercentage }} of requests to model {{ $labels.model }} in namespace {{ $labels.namespace }} get a 5xx answer (threshold ${t.errorRatio * 100}%).`,
      }),
      ctx.alert({
        alert: 'InferenceLatencyP99OverSlo',
        expr: `namespace_model:mlops_inference_request_duration_seconds:p99_5m{namespace="${ns}"} > ${t.p99Seconds}`,
        for: '10m',
        labels: { severity: 'warning' },
        summary: 'Inference p99 latency over the SLO',
        description: `p99 latency of model {{ $labels.model }} in namespace {{ $labels.namespace }} is {{ $value | humanizeDuration }} (SLO ${t.p99Seconds} s).`,
      }),
      ctx.alert({
        alert: 'InferenceRequestsRefused',
        expr: `namespace_model:mlops_inference_unavailable_ratio:rate5m{namespace="${ns}"} > ${t.unavailableRatio}`,
        for: '5m',
        labels: { severity: 'warning' },
        summary: 'Inference refusing requests (503)',
        description: `{{ $value | humanizePercentage }} of requests to model {{ $labels.model }} in namespace {{ $labels.namespace }} are refused with 503 (queue full or draining; threshold ${t.unavailableRatio * 100}%).`,
      }),
      ctx.alert({
        alert: 'InferenceModelSwapFailing',
        expr: `sum by (namespace, model) (increase(mlops_inference_model_swap_failures_total{namespace="${ns}"}[15m])) > 0`,
        for: '15m',
        labels: { severity: 'warning' },
        summary: 'New model versions fail to load',
        description: `Model {{ $labels.model }} in namespace {{ $labels.namespace }}: registry polls or loads of a new version keep failing ({{ $value | printf "%.0f" }} in 15 min); the previous version keeps serving.`,
      }),
      ...ctx.env.inference.models.flatMap((m) => perModelAlerts(ctx, m)),
    ],
  };
}
