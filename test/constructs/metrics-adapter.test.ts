import { parse } from 'yaml';
import { loadEnvironment } from '../../environments';
import { synthEnvironment } from '../../stacks/gitops';
import { REQUESTS_IN_FLIGHT_METRIC } from '../../constructs/inference';
import { CUSTOM_METRICS_GROUP, CUSTOM_METRICS_VERSION, METRICS_ADAPTER_RULES, METRICS_ADAPTER_SERVICE } from '../../constructs/metrics-adapter';
import { InferenceMetrics } from '../../runtime/inference/metrics';
import type { KubeObject } from '../../policies/types';

const objects = (name: string) => synthEnvironment(loadEnvironment(name)).flatMap((f) => f.objects) as Array<KubeObject & { spec?: any; data?: any }>;

describe('custom-metrics adapter configuration', () => {
  test('shipped exactly where an HPA scales on requests in flight (prod), and nowhere else', () => {
    for (const name of ['dev', 'staging', 'prod']) {
      const all = objects(name);
      const usesMetric = all.some((o) => o.kind === 'HorizontalPodAutoscaler' && JSON.stringify(o.spec.metrics).includes(REQUESTS_IN_FLIGHT_METRIC));
      const shipped = all.filter(
        (o) => (o.kind === 'APIService' || o.kind === 'ConfigMap') && o.metadata.labels?.['app.kubernetes.io/component'] === 'metrics-adapter',
      );
      expect({ name, shipped: shipped.map((o) => o.kind) }).toEqual({ name, shipped: usesMetric ? ['ConfigMap', 'APIService'] : [] });
    }
  });

  test('the APIService registers the custom metrics API the HPA controller reads, served by the adapter in the Prometheus namespace', () => {
    const env = loadEnvironment('prod');
    const api = objects('prod').find((o) => o.kind === 'APIService')!;
    expect(api.metadata.name).toBe(`${CUSTOM_METRICS_VERSION}.${CUSTOM_METRICS_GROUP}`);
    expect(api.spec).toMatchObject({
      group: 'custom.metrics.k8s.io',
      version: 'v1beta2',
      service: { name: METRICS_ADAPTER_SERVICE, namespace: env.monitoring.prometheusNamespace, port: 443 },
    });
  });

  test("the adapter rule turns the inference server's own latency series into the HPA's metric name", async () => {
    const cm = objects('prod').find((o) => o.kind === 'ConfigMap' && o.metadata.name === METRICS_ADAPTER_RULES)!;
    const [rule] = (parse(cm.data['config.yaml']) as { rules: Array<{ seriesQuery: string; name: { matches: string; as: string } }> }).rules;
    // The series the runtime exports (a histogram's _sum), as prometheus-adapter discovers it.
    const metrics = new InferenceMetrics(() => 0, { defaultMetrics: false });
    const exported = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    const series = `${exported.find((n) => n === 'mlops_inference_request_duration_seconds')}_sum`;
    expect(rule.seriesQuery.startsWith(`${series}{`)).toBe(true);
    expect(series.replace(new RegExp(rule.name.matches), rule.name.as.replace('${1}', '$1'))).toBe(REQUESTS_IN_FLIGHT_METRIC);
  });
});
