import type { EnvironmentConfig } from '../../environments';
import type { DashboardSpec } from './grafana';

/*
 * The platform's Grafana dashboards, over the recording rules (constructs/monitoring/rules/recording.ts),
 * our servers' own metrics, and kube-state-metrics / kubelet / cert-manager by their documented names.
 * Each is scoped to the environment's namespaces.
 */

const ns = (n: string) => `namespace="${n}"`;

export function trackingDashboard(env: EnvironmentConfig): DashboardSpec {
  const p = ns(env.namespaces.platform);
  return {
    uid: `mlops-tracking-${env.name}`,
    title: `MLOps tracking (${env.name})`,
    tags: ['mlops', 'tracking'],
    rows: [
      [
        {
          title: 'Requests by route',
          unit: 'reqps',
          queries: [{ expr: `sum by (route) (namespace_route_status:mlflow_http_requests:rate5m{${p}})`, legend: '{{route}}' }],
        },
        {
          title: 'Errors by route (4xx, 5xx)',
          unit: 'reqps',
          queries: [
            { expr: `sum by (route, status) (namespace_route_status:mlflow_http_requests:rate5m{${p}, status=~"[45].."})`, legend: '{{status}} {{route}}' },
          ],
        },
      ],
      [
        {
          title: 'Latency p99 by route',
          unit: 's',
          queries: [{ expr: `namespace_route:mlflow_http_request_duration_seconds:p99_5m{${p}}`, legend: '{{route}}' }],
        },
        {
          title: 'Write latency p99 and 5xx / 503 ratios',
          unit: 'short',
          queries: [
            { expr: `namespace:mlflow_http_write_duration_seconds:p99_5m{${p}}`, legend: 'write p99 (s)' },
            { expr: `namespace:mlflow_http_error_ratio:rate5m{${p}}`, legend: '5xx ratio' },
            { expr: `namespace:mlflow_http_unavailable_ratio:rate5m{${p}}`, legend: '503 ratio' },
          ],
        },
      ],
      [
        {
          title: 'DB pool',
          unit: 'short',
          queries: [
            { expr: `sum by (state) (mlflow_db_pool_connections{${p}})`, legend: '{{state}}' },
            { expr: `sum(mlflow_db_pool_waiting_queries{${p}})`, legend: 'waiting' },
            { expr: `sum(mlflow_db_pool_max_connections{${p}})`, legend: 'max' },
          ],
        },
        { title: 'Event loop lag p99', unit: 's', queries: [{ expr: `max by (pod) (nodejs_eventloop_lag_p99_seconds{${p}})`, legend: '{{pod}}' }] },
        { title: 'Resident memory', unit: 'bytes', queries: [{ expr: `sum by (pod) (process_resident_memory_bytes{${p}})`, legend: '{{pod}}' }] },
      ],
    ],
  };
}

export function inferenceDashboard(env: EnvironmentConfig): DashboardSpec {
  const s = `${ns(env.namespaces.serving)}, model=~"$model"`;
  return {
    uid: `mlops-inference-${env.name}`,
    title: `MLOps inference (${env.name})`,
    tags: ['mlops', 'inference'],
    variables: [{ name: 'model', query: `label_values(mlops_inference_requests_total{${ns(env.namespaces.serving)}}, model)` }],
    rows: [
      [
        {
          title: 'Requests by model and code',
          unit: 'reqps',
          queries: [{ expr: `sum by (model, code) (namespace_model_code:mlops_inference_requests:rate5m{${s}})`, legend: '{{model}} {{code}}' }],
        },
        {
          title: 'Latency p50 / p99',
          unit: 's',
          queries: [
            { expr: `namespace_model:mlops_inference_request_duration_seconds:p50_5m{${s}}`, legend: '{{model}} p50' },
            { expr: `namespace_model:mlops_inference_request_duration_seconds:p99_5m{${s}}`, legend: '{{model}} p99' },
          ],
        },
      ],
      [
        {
          title: 'Batch size (rows per run, mean)',
          unit: 'short',
          queries: [{ expr: `namespace_model:mlops_inference_batch_size:mean5m{${s}}`, legend: '{{model}}' }],
        },
        {
          title: 'Queue depth',
          unit: 'short',
          queries: [{ expr: `max by (service) (mlops_inference_queue_depth{${ns(env.namespaces.serving)}})`, legend: '{{service}}' }],
        },
        {
          title: 'Versions serving (pods)',
          unit: 'short',
          queries: [{ expr: `count by (model, version) (mlops_inference_model_loaded{${s}})`, legend: '{{model}} v{{version}}' }],
        },
      ],
      [
        {
          title: 'Drift PSI per feature',
          unit: 'short',
          queries: [
            { expr: `max by (model, version, feature) (mlops_feature_psi{${s}})`, legend: '{{model}} v{{version}} {{feature}}' },
            { expr: `max(mlops_drift_psi_threshold{${ns(env.namespaces.serving)}})`, legend: 'threshold' },
          ],
        },
        {
          title: 'Model swaps and swap failures (1h)',
          unit: 'short',
          queries: [
            { expr: `sum by (model) (increase(mlops_inference_model_swaps_total{${s}}[1h]))`, legend: '{{model}} swaps' },
            { expr: `sum by (model) (increase(mlops_inference_model_swap_failures_total{${s}}[1h]))`, legend: '{{model}} failures' },
          ],
        },
      ],
    ],
  };
}

export function trainingDashboard(env: EnvironmentConfig): DashboardSpec {
  const t = ns(env.namespaces.training);
  const workflowPods = `* on (namespace, pod) group_left () max by (namespace, pod) (kube_pod_owner{${t}, owner_kind="Workflow"})`;
  return {
    uid: `mlops-training-${env.name}`,
    title: `MLOps training and pipelines (${env.name})`,
    tags: ['mlops', 'training'],
    rows: [
      [
        {
          title: 'Training Jobs: active, succeeded, failed',
          unit: 'short',
          queries: [
            { expr: `sum(kube_job_status_active{${t}})`, legend: 'active' },
            { expr: `sum(kube_job_status_succeeded{${t}})`, legend: 'succeeded' },
            { expr: `sum(kube_job_status_failed{${t}})`, legend: 'failed' },
          ],
        },
        {
          title: 'Job durations',
          unit: 's',
          queries: [{ expr: `max by (job_name) (kube_job_status_completion_time{${t}} - kube_job_status_start_time{${t}})`, legend: '{{job_name}}' }],
        },
      ],
      [
        {
          title: 'Pipeline step pods by phase',
          unit: 'short',
          queries: [{ expr: `sum by (phase) (kube_pod_status_phase{${t}} ${workflowPods})`, legend: '{{phase}}' }],
        },
        {
          title: 'Time since the last successful CronJob run',
          unit: 's',
          queries: [{ expr: `time() - max by (cronjob) (kube_cronjob_status_last_successful_time{${t}})`, legend: '{{cronjob}}' }],
        },
        {
          title: 'Drifted model versions',
          unit: 'short',
          queries: [{ expr: `max by (model, version) (mlops_drift_detected{${ns(env.namespaces.serving)}})`, legend: '{{model}} v{{version}}' }],
        },
      ],
    ],
  };
}

export function platformDashboard(env: EnvironmentConfig): DashboardSpec {
  const { platform, training, serving } = env.namespaces;
  const all = `namespace=~"${[platform, training, serving].join('|')}"`;
  return {
    uid: `mlops-platform-${env.name}`,
    title: `MLOps platform (${env.name})`,
    tags: ['mlops', 'platform'],
    rows: [
      [
        { title: 'Firing alerts', type: 'stat', unit: 'short', queries: [{ expr: `count(ALERTS{alertstate="firing", ${all}}) or vector(0)` }] },
        {
          title: 'Tracking requests',
          type: 'stat',
          unit: 'reqps',
          queries: [{ expr: `sum(namespace_route_status:mlflow_http_requests:rate5m{${ns(platform)}})` }],
        },
        { title: 'Predictions', type: 'stat', unit: 'reqps', queries: [{ expr: `sum(namespace_model_code:mlops_inference_requests:rate5m{${ns(serving)}})` }] },
      ],
      [
        {
          title: 'Deployments: available replicas',
          unit: 'short',
          queries: [{ expr: `sum by (namespace, deployment) (kube_deployment_status_replicas_available{${all}})`, legend: '{{namespace}}/{{deployment}}' }],
        },
        {
          title: 'Container restarts (1h)',
          unit: 'short',
          queries: [{ expr: `sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{${all}}[1h]))`, legend: '{{namespace}}/{{pod}}' }],
        },
      ],
      [
        {
          title: 'Volume usage',
          unit: 'percentunit',
          queries: [
            {
              expr: `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{${all}}) / max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{${all}})`,
              legend: '{{namespace}}/{{persistentvolumeclaim}}',
            },
          ],
        },
        {
          title: 'Certificate days left',
          unit: 'd',
          queries: [
            {
              expr: `(max by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds{${all}}) - time()) / 86400`,
              legend: '{{namespace}}/{{name}}',
            },
          ],
        },
      ],
    ],
  };
}

/** Every dashboard of an environment; inference only where models are served. */
export function platformDashboards(env: EnvironmentConfig): DashboardSpec[] {
  return [trackingDashboard(env), ...(env.inference.models.length > 0 ? [inferenceDashboard(env)] : []), trainingDashboard(env), platformDashboard(env)];
}
