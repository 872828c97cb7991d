import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { loadEnvironment, type EnvironmentConfig } from '../../environments';
import { MlopsPlatform } from '../../constructs/platform';
import { isAlert, platformRuleGroups, runbookAnchor, type AlertRule, type RuleGroup } from '../../constructs/monitoring/rules';
import type { KubeObject } from '../../policies/types';
import { describeWithTool } from '../helpers/tools';
import { pinnedEnvironment } from '../helpers/image-lock';
import { ALERT_CASES, type AlertCase } from './alert-cases';
import { promtool, promtoolAvailability, yamlDir } from './promtool';

/** The PrometheusRules an environment synthesizes (what Prometheus would load), from the whole platform. */
function renderedRules(env: EnvironmentConfig): KubeObject[] {
  const platform = new MlopsPlatform(new App(), 'platform', { env });
  return platform.charts.flatMap((c) => c.chart.toJson() as KubeObject[]).filter((o) => o.kind === 'PrometheusRule');
}

const prod = pinnedEnvironment('prod');
const groups: RuleGroup[] = platformRuleGroups(prod).flatMap((a) => a.groups);
const alerts = groups.flatMap((g) => g.rules).filter(isAlert);
const alertNames = [...new Set(alerts.map((a) => a.alert))];

/** A promtool unit test for one case: the firing series must raise exactly the expected alert, the healthy ones none. */
function unitTests(c: AlertCase, rule: AlertRule): unknown[] {
  const series = (s: Record<string, string>) => Object.entries(s).map(([name, values]) => ({ series: name, values }));
  const exp = {
    exp_labels: c.labels,
    exp_annotations: { summary: rule.annotations.summary, description: c.description, runbook_url: rule.annotations.runbook_url },
  };
  const interval = c.interval ?? '1m';
  return [
    { name: `${c.alert} fires`, interval, input_series: series(c.firing), alert_rule_test: [{ eval_time: c.evalTime, alertname: c.alert, exp_alerts: [exp] }] },
    {
      name: `${c.alert} stays quiet`,
      interval,
      input_series: series(c.healthy),
      alert_rule_test: [{ eval_time: c.evalTime, alertname: c.alert, exp_alerts: [] }],
    },
  ];
}

describe('alert rules (constructs/monitoring/rules), without promtool', () => {
  test('every alert has a severity, a summary, a description and a runbook_url to its own section of docs/runbook.md', () => {
    const runbook = fs.readFileSync(path.join(__dirname, '../../docs/runbook.md'), 'utf8');
    const headings = new Set([...runbook.matchAll(/^## (\S+)$/gm)].map((m) => runbookAnchor(m[1])));
    for (const a of alerts) {
      expect({ alert: a.alert, severity: ['critical', 'warning', 'info'].includes(a.labels.severity), summary: a.annotations.summary.length > 0 }).toEqual({
        alert: a.alert,
        severity: true,
        summary: true,
      });
      expect(a.annotations.runbook_url).toBe(`${prod.monitoring.alerts.runbookUrl}#${a.alert.toLowerCase()}`);
      expect({ alert: a.alert, section: headings.has(runbookAnchor(a.alert)) }).toEqual({ alert: a.alert, section: true });
    }
  });

  test('every alert has a promtool case, and every case an alert', () => {
    expect(ALERT_CASES.map((c) => c.alert).sort()).toEqual([...alertNames].sort());
  });

  test('thresholds follow the environment: drift PSI, SLOs and windows from monitoring, queue limits from each model', () => {
    const custom = pinnedEnvironment('prod', { monitoring: { driftPsiThreshold: 0.35, alerts: { driftFor: '1h', inference: { p99Seconds: 0.25 } } } });
    const byName = (env: EnvironmentConfig, name: string) =>
      platformRuleGroups(env)
        .flatMap((a) => a.groups)
        .flatMap((g) => g.rules)
        .filter(isAlert)
        .filter((r) => r.alert === name);
    const [drift] = byName(custom, 'ModelFeatureDrift');
    expect([drift.expr.endsWith('> 0.35'), drift.for]).toEqual([true, '1h']);
    expect(byName(custom, 'InferenceLatencyP99OverSlo')[0].expr).toMatch(/> 0\.25$/);
    // One queue alert per served model, at 80% of its batching.maxQueue.
    expect(byName(prod, 'InferenceQueueSaturated').map((r) => [r.labels.model, r.expr.split('>= ')[1]])).toEqual(
      prod.inference.models.map((m) => [m.name, String(Math.floor(0.8 * m.batching.maxQueue))]),
    );
    expect(() => pinnedEnvironment('prod', { monitoring: { alerts: { driftFor: '30 minutes' } } })).toThrow(/monitoring\.alerts\.driftFor/);
    expect(() => pinnedEnvironment('prod', { monitoring: { alerts: { inference: { errorRatio: 2 } } } })).toThrow(/monitoring\.alerts\.inference\.errorRatio/);
  });

  test('an environment without retraining has no retrain alerts; one with alerts disabled renders no PrometheusRule', () => {
    const noRetrain = pinnedEnvironment('prod', { training: { retrainSchedule: undefined } });
    const names = platformRuleGroups(noRetrain)
      .flatMap((a) => a.groups)
      .flatMap((g) => g.rules)
      .filter(isAlert)
      .map((r) => r.alert);
    expect(names.filter((n) => n.startsWith('Retrain'))).toEqual([]);
    expect(renderedRules(loadEnvironment('dev'))).toEqual([]);
    expect(renderedRules(prod).map((o) => o.metadata.name)).toEqual(['mlops-inference', 'mlops-tracking', 'mlops-training', 'mlops-platform']);
  });
});

describeWithTool('alert rules under promtool (Prometheus 3.16)', promtoolAvailability(), () => {
  test.each(['staging', 'prod'])('%s: `promtool check rules` accepts every rendered PrometheusRule (lint: duplicates)', (name) => {
    const rules = renderedRules(pinnedEnvironment(name));
    expect(rules.length).toBeGreaterThan(0);
    const files = Object.fromEntries(rules.map((r) => [`${r.metadata.name}.yaml`, { groups: (r.spec as { groups: unknown }).groups }]));
    const dir = yamlDir(files);
    const r = promtool(['check', 'rules', '--lint=duplicate-rules', '--lint-fatal', ...Object.keys(files)], dir);
    expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('`promtool test rules`: every alert fires on its synthetic series and stays quiet on the healthy ones', () => {
    // One file per sample interval, evaluated at that interval: the two-day cases would take minutes at 1m.
    const byInterval = new Map<string, AlertCase[]>();
    for (const c of ALERT_CASES) byInterval.set(c.interval ?? '1m', [...(byInterval.get(c.interval ?? '1m') ?? []), c]);
    const files = Object.fromEntries(
      [...byInterval].map(([interval, cases]) => [
        `tests-${interval}.yaml`,
        {
          rule_files: ['rules.yaml'],
          evaluation_interval: interval,
          tests: cases.flatMap((c) =>
            unitTests(
              c,
              alerts.find((a) => a.alert === c.alert)!,
            ),
          ),
        },
      ]),
    );
    const dir = yamlDir({ 'rules.yaml': { groups }, ...files });
    const r = promtool(['test', 'rules', ...Object.keys(files)], dir);
    expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
    expect(r.output).not.toContain('FAILED');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the unit tests can fail: a wrong description, and an alert firing on the "healthy" series, are reported', () => {
    const c = { ...ALERT_CASES[0], description: 'something else', healthy: ALERT_CASES[0].firing };
    const dir = yamlDir({
      'rules.yaml': { groups },
      'tests.yaml': {
        rule_files: ['rules.yaml'],
        evaluation_interval: '1m',
        tests: unitTests(
          c,
          alerts.find((a) => a.alert === c.alert)!,
        ),
      },
    });
    const r = promtool(['test', 'rules', 'tests.yaml'], dir);
    expect(r.status).toBe(1);
    expect(r.output).toContain('something else');
    expect(r.output).toContain(`${c.alert} stays quiet`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
