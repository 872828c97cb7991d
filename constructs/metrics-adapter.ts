import { Construct } from 'constructs';
import { stringify } from 'yaml';
import type { EnvironmentConfig } from '../environments';
import { k8s, standardLabels } from './common';

/** The custom metrics API the HPA controller reads `Pods`/`Object` metrics from. */
export const CUSTOM_METRICS_GROUP = 'custom.metrics.k8s.io';
export const CUSTOM_METRICS_VERSION = 'v1beta2';
/** prometheus-adapter's Service (its chart's default name), in the Prometheus namespace. */
export const METRICS_ADAPTER_SERVICE = 'prometheus-adapter';
/** The adapter's rules: mount this ConfigMap as its `--config` (chart value `rules.existing`). */
export const METRICS_ADAPTER_RULES = 'mlops-prometheus-adapter-rules';

/** Whether any model scales on requests in flight, which only a custom-metrics adapter can serve. */
export function needsCustomMetrics(env: EnvironmentConfig): boolean {
  return env.inference.models.some((m) => m.autoscaling.targetRequestsInFlight !== undefined);
}

/**
 * The prometheus-adapter rule behind `mlops_inference_requests_in_flight`: by Little's law the mean number of
 * requests in flight is the rate of the latency histogram's sum, per pod.
 */
export function adapterRules(): Record<string, unknown> {
  return {
    rules: [
      {
        seriesQuery: 'mlops_inference_request_duration_seconds_sum{namespace!="",pod!=""}',
        resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
        name: { matches: '^(.*)_request_duration_seconds_sum$', as: '${1}_requests_in_flight' },
        metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)',
      },
    ],
  };
}

export interface CustomMetricsAdapterProps {
  readonly env: EnvironmentConfig;
}

/**
 * What makes the requests-in-flight HPA metric exist: the adapter's rules (a ConfigMap prometheus-adapter
 * loads) and the APIService that registers `custom.metrics.k8s.io/v1beta2` with the aggregator, pointing at
 * the adapter's Service. The adapter Deployment itself (prometheus-adapter ≥ v0.12, in the Prometheus
 * namespace) is a declared prerequisite, like Prometheus. Emitted only when a model uses the metric.
 */
export class CustomMetricsAdapter extends Construct {
  constructor(scope: Construct, id: string, props: CustomMetricsAdapterProps) {
    super(scope, id);
    const { env } = props;
    const ns = env.monitoring.prometheusNamespace;
    const rules = adapterRules();
    new k8s.KubeConfigMap(this, 'rules', {
      metadata: { name: METRICS_ADAPTER_RULES, namespace: ns, labels: standardLabels(env, METRICS_ADAPTER_RULES, 'metrics-adapter') },
      data: { 'config.yaml': stringify(rules) },
    });
    const name = `${CUSTOM_METRICS_VERSION}.${CUSTOM_METRICS_GROUP}`;
    new k8s.KubeApiService(this, 'api-service', {
      metadata: { name, labels: standardLabels(env, METRICS_ADAPTER_SERVICE, 'metrics-adapter') },
      spec: {
        group: CUSTOM_METRICS_GROUP,
        version: CUSTOM_METRICS_VERSION,
        service: { name: METRICS_ADAPTER_SERVICE, namespace: ns, port: 443 },
        groupPriorityMinimum: 100,
        versionPriority: 200,
        // The adapter serves a self-signed certificate it makes at start (its chart's default); the aggregator
        // still authenticates to it with the front-proxy client certificate.
        insecureSkipTlsVerify: true,
      },
    });
  }
}
