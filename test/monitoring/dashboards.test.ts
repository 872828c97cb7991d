import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { MlopsPlatform } from '../../constructs/platform';
import { platformRuleGroups } from '../../constructs/monitoring/rules';
import { DASHBOARD_SCHEMA_VERSION, type DashboardJson } from '../../constructs/monitoring/grafana';
import { GRAFANA_DASHBOARD_LABEL, GRAFANA_FOLDER_ANNOTATION } from '../../constructs/monitoring/dashboard-configmaps';
import { startLocalPlatform, type RunningLocalPlatform } from '../../runtime/local/platform';
import type { KubeObject } from '../../policies/types';
import { describeWithTool } from '../helpers/tools';
import { pinnedEnvironment } from '../helpers/image-lock';
import { postgresAvailability } from '../helpers/postgres';
import { startTestServer, type TestServer } from '../tracking/helpers';
import { promtool, promtoolAvailability, yamlDir } from './promtool';
import { exportedNames, metricNames } from './promql-names';

/**
 * Metrics of components we do not run here, by their documented names:
 * kube-state-metrics v2 https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics (workload/job-metrics.md,
 * pod-metrics.md, deployment-metrics.md, cronjob-metrics.md); kubelet volume stats
 * https://kubernetes.io/docs/reference/instrumentation/metrics/; cert-manager
 * https://cert-manager.io/docs/devops-tips/prometheus-metrics/; Prometheus's own ALERTS series
 * https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/#inspecting-alerts-during-runtime
 */
const DOCUMENTED = new Set([
  'kube_job_status_failed',
  'kube_job_status_active',
  'kube_job_status_succeeded',
  'kube_job_status_start_time',
  'kube_job_status_completion_time',
  'kube_pod_status_phase',
  'kube_pod_owner',
  'kube_pod_created',
  'kube_pod_container_status_waiting_reason',
  'kube_pod_container_status_restarts_total',
  'kube_deployment_spec_replicas',
  'kube_deployment_status_replicas_available',
  'kube_cronjob_status_last_successful_time',
  'kubelet_volume_stats_used_bytes',
  'kubelet_volume_stats_capacity_bytes',
  'certmanager_certificate_expiration_timestamp_seconds',
  'certmanager_certificate_ready_status',
  'ALERTS',
]);

const prod = pinnedEnvironment('prod');
const objects = (() => {
  const platform = new MlopsPlatform(new App(), 'platform', { env: prod });
  return platform.charts.flatMap((c) => c.chart.toJson() as KubeObject[]);
})();
const configMaps = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.[GRAFANA_DASHBOARD_LABEL] === '1');
const dashboards = configMaps.flatMap((c) => Object.values((c as unknown as { data: Record<string, string> }).data).map((j) => JSON.parse(j) as DashboardJson));
const panelExprs = dashboards.flatMap((d) => d.panels.flatMap((p) => p.targets.map((t) => ({ where: `${d.uid} / ${p.title}`, expr: t.expr }))));
const variableQueries = dashboards.flatMap((d) => d.templating.list.map((v) => (v as { definition?: string }).definition).filter((q): q is string => !!q));
const recording = platformRuleGroups(prod)
  .flatMap((a) => a.groups)
  .flatMap((g) => g.rules)
  .flatMap((r) => ('record' in r ? [r] : []));
const ruleExprs = platformRuleGroups(prod)
  .flatMap((a) => a.groups)
  .flatMap((g) => g.rules)
  .map((r) => r.expr);

/** Raw metric names behind an expression: recording rules resolved to what they are recorded from. */
function rawNames(expr: string): string[] {
  return metricNames(expr).flatMap((n) => {
    const rec = recording.find((r) => r.record === n);
    return rec ? rawNames(rec.expr) : [n];
  });
}

describe('Grafana dashboards (constructs/monitoring/dashboards.ts)', () => {
  test('one ConfigMap per dashboard, labelled for the sidecar, with the folder annotation: tracking, inference, training, platform', () => {
    expect(configMaps.map((c) => [c.metadata.name, c.metadata.namespace, c.metadata.annotations?.[GRAFANA_FOLDER_ANNOTATION]])).toEqual(
      ['tracking', 'inference', 'training', 'platform'].map((n) => [`grafana-dashboard-mlops-${n}`, 'mlops-platform', 'MLOps']),
    );
  });

  test('valid dashboard JSON: schemaVersion, unique panel ids, panels inside the 24-column grid and not overlapping', () => {
    for (const d of dashboards) {
      expect([d.schemaVersion, d.uid.length > 0, d.title.length > 0]).toEqual([DASHBOARD_SCHEMA_VERSION, true, true]);
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of d.panels) {
        const g = p.gridPos;
        expect(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0).toBe(true);
        for (let x = g.x; x < g.x + g.w; x++)
          for (let y = g.y; y < g.y + g.h; y++) {
            expect(cells.has(`${x},${y}`)).toBe(false);
            cells.add(`${x},${y}`);
          }
        expect(p.targets.length).toBeGreaterThan(0);
      }
    }
  });

  test('the metric-name extraction finds names and skips labels, functions and clauses', () => {
    expect(metricNames('sum by (model, le) (rate(a_b_bucket{code=~"5..", x="sum"}[5m])) / on (namespace) group_left (owner) b:c:rate5m > 0.5')).toEqual([
      'a_b_bucket',
      'b:c:rate5m',
    ]);
  });
});

describeWithTool('dashboard queries under promtool', promtoolAvailability(), () => {
  test('every panel query parses as PromQL (`promtool check rules` over a rule file of the expressions)', () => {
    // Grafana substitutes $model before querying; `.*` is what "All" sends.
    const rules = panelExprs.map((p, i) => ({ record: `dashboard:query:${i}`, expr: p.expr.replaceAll('$model', '.*') }));
    const dir = yamlDir({ 'queries.yaml': { groups: [{ name: 'dashboard-queries', rules }] } });
    const r = promtool(['check', 'rules', 'queries.yaml'], dir);
    expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describeWithTool('metric names against running servers', postgresAvailability(), () => {
  let local: RunningLocalPlatform | undefined;
  let pgTracking: TestServer | undefined;
  let exported: Set<string>;

  beforeAll(async () => {
    const started = await startLocalPlatform({
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-dash-')),
      trackingPort: 0,
      inferencePort: 0,
      buildWebUi: false,
      pollIntervalMs: 60_000,
    });
    local = started;
    const pg = await startTestServer('postgres');
    pgTracking = pg;
    const body = JSON.stringify({ dataframe_split: started.exampleRequest });
    for (let i = 0; i < 60; i++) await fetch(`${started.inferenceUrl}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await fetch(`${pg.url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'dash' }),
    });
    const scrapes = await Promise.all([started.inferenceUrl, started.trackingUrl, pg.url].map(async (u) => (await fetch(`${u}/metrics`)).text()));
    exported = new Set(scrapes.flatMap((s) => [...exportedNames(s)]));
  }, 240_000);
  afterAll(async () => {
    await local?.close();
    await pgTracking?.stop();
  });

  test('every metric a panel, a variable or a rule uses is exported by our servers or documented for kube-state-metrics, kubelet, cert-manager', () => {
    const used = new Set(
      [...panelExprs.map((p) => p.expr), ...variableQueries.map((q) => q.replace(/^label_values\((.*), *\w+\)$/, '$1')), ...ruleExprs].flatMap(rawNames),
    );
    const ours = [...used].filter((n) => !DOCUMENTED.has(n));
    expect(ours.filter((n) => !exported.has(n))).toEqual([]);
    // The check can fail: the servers export our names and none of the documented third-party ones.
    expect(ours.length).toBeGreaterThan(15);
    expect([...DOCUMENTED].filter((n) => exported.has(n))).toEqual([]);
    expect([...DOCUMENTED].filter((n) => !used.has(n))).toEqual([]);
  });
});
