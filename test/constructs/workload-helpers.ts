import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../environments';
import { pinnedEnvironment } from '../helpers/image-lock';
import type { PlatformContext } from '../../constructs/common';
import { Namespaces } from '../../constructs/namespaces';
import { checkManifests, formatViolations, type KubeObject } from '../../policies';

/*
 * Helpers for the workload construct suites: synthesize constructs into one chart (with the namespaces,
 * whose default-deny policies every pod needs), run the project's policies over the result, and
 * validate each object against its published OpenAPI schema (kubernetes-models).
 */

export function context(env: EnvironmentConfig, cloud: PlatformContext['cloud'] = {}): PlatformContext {
  return { env, secretsMode: env.secrets.mode, cloud };
}

/**
 * An environment with overrides merged into a built-in one (validated like any environment), its images
 * pinned as synth pins them (staging and prod require digests; test digests from the loopback registry).
 */
export function env(name: string, overrides?: Record<string, unknown>): EnvironmentConfig {
  return pinnedEnvironment(name, overrides);
}

/** Synthesizes what `build` adds to a chart; with `namespaces`, the platform namespaces come first. */
export function synth(environment: EnvironmentConfig, build: (scope: Construct) => void, opts: { namespaces?: boolean } = {}): KubeObject[] {
  const app = new App();
  const chart = new Chart(app, 'test', { disableResourceNameHashes: true });
  if (opts.namespaces !== false) new Namespaces(chart, 'namespaces', { env: environment });
  build(chart);
  return chart.toJson() as KubeObject[];
}

/** Error-level violations that no exception covers, formatted (the empty report when clean). */
export function policyErrors(objects: KubeObject[], environment: EnvironmentConfig): string {
  const errors = checkManifests(objects, { mode: 'gitops', environment }).filter((v) => v.severity === 'error' && !v.exception);
  return formatViolations(errors);
}

export const CLEAN = '0 error(s), 0 warning(s), 0 excepted\n';

/* eslint-disable @typescript-eslint/no-require-imports */
const MODELS: Partial<Record<string, () => new (data: unknown) => { validate(): void }>> = {
  'v1/Namespace': () => require('kubernetes-models/v1/Namespace').Namespace,
  'v1/Service': () => require('kubernetes-models/v1/Service').Service,
  'v1/ServiceAccount': () => require('kubernetes-models/v1/ServiceAccount').ServiceAccount,
  'v1/ResourceQuota': () => require('kubernetes-models/v1/ResourceQuota').ResourceQuota,
  'v1/LimitRange': () => require('kubernetes-models/v1/LimitRange').LimitRange,
  'apps/v1/Deployment': () => require('kubernetes-models/apps/v1/Deployment').Deployment,
  'apps/v1/DaemonSet': () => require('kubernetes-models/apps/v1/DaemonSet').DaemonSet,
  'batch/v1/Job': () => require('kubernetes-models/batch/v1/Job').Job,
  'batch/v1/CronJob': () => require('kubernetes-models/batch/v1/CronJob').CronJob,
  'autoscaling/v2/HorizontalPodAutoscaler': () => require('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler').HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': () => require('kubernetes-models/policy/v1/PodDisruptionBudget').PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': () => require('kubernetes-models/networking.k8s.io/v1/Ingress').Ingress,
  'networking.k8s.io/v1/NetworkPolicy': () => require('kubernetes-models/networking.k8s.io/v1/NetworkPolicy').NetworkPolicy,
  'rbac.authorization.k8s.io/v1/Role': () => require('kubernetes-models/rbac.authorization.k8s.io/v1/Role').Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': () => require('kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding').RoleBinding,
  'monitoring.coreos.com/v1/ServiceMonitor': () => require('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor').ServiceMonitor,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Validates every object against its kind's schema; returns `kind/name: problem` for each failure. */
export function schemaProblems(objects: KubeObject[]): string[] {
  return objects.flatMap((o) => {
    const model = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!model) return [`${o.apiVersion}/${o.kind}/${o.metadata.name}: no schema known to the test`];
    try {
      new (model())(o).validate();
      return [];
    } catch (err) {
      return [`${o.kind}/${o.metadata.name}: ${(err as Error).message}`];
    }
  });
}

export function ofKind(objects: KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function named(objects: KubeObject[], kind: string, name: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

/** The pod spec of a workload (Deployment, DaemonSet, Job, CronJob). */

export function podSpec(o: KubeObject): any {
  const spec = o.spec as any;
  return o.kind === 'CronJob' ? spec.jobTemplate.spec.template.spec : spec.template.spec;
}

export function podLabels(o: KubeObject): Record<string, string> {
  const spec = o.spec as any;
  return o.kind === 'CronJob' ? spec.jobTemplate.spec.template.metadata.labels : spec.template.metadata.labels;
}
