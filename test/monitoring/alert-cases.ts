/*
 * One promtool case per alert, for the prod environment's thresholds (driftPsiThreshold 0.2 and the
 * `monitoring.alerts` defaults): synthetic series on which the alert must fire, with the labels and the
 * description it must carry, and healthy series (often a near miss) on which it must stay quiet.
 * Series use promtool's expanding notation (`0+10x30`: 0, 10, 20… for 31 samples; `_` is a gap).
 */

export interface AlertCase {
  alert: string;
  /** Sample interval of the series (default 1m). */
  interval?: string;
  evalTime: string;
  firing: Record<string, string>;
  healthy: Record<string, string>;
  labels: Record<string, string>;
  description: string;
}

const S = 'namespace="ml-serving"';
const P = 'namespace="mlops-platform"';
const T = 'namespace="ml-training"';
const M = 'model="churn-predictor"';
const req = (code: string, labels = `${S},${M},protocol="v2",pod="churn-predictor-a"`) => `mlops_inference_requests_total{${labels},code="${code}"}`;
const http = (status: string, method = 'POST') =>
  `mlflow_http_requests_total{${P},method="${method}",route="/api/2.0/mlflow/runs/create",status="${status}",pod="tracking-a"}`;
const latency = (le: string) => `mlops_inference_request_duration_seconds_bucket{${S},${M},protocol="v2",pod="churn-predictor-a",le="${le}"}`;
const writes = (le: string, method = 'POST') =>
  `mlflow_http_request_duration_seconds_bucket{${P},method="${method}",route="/api/2.0/mlflow/runs/log-batch",pod="tracking-a",le="${le}"}`;
const owner = (kind: string) => `kube_pod_owner{${T},pod="wf-abc-train",owner_kind="${kind}",owner_name="wf-abc",owner_is_controller="true"}`;
const phase = (p: string) => `kube_pod_status_phase{${T},pod="wf-abc-train",phase="${p}"}`;

export const ALERT_CASES: AlertCase[] = [
  {
    alert: 'ModelFeatureDrift',
    evalTime: '45m',
    firing: { [`mlops_feature_psi{${S},${M},version="3",feature="tenure",pod="churn-predictor-a"}`]: '0.5x60' },
    healthy: { [`mlops_feature_psi{${S},${M},version="3",feature="tenure",pod="churn-predictor-a"}`]: '0.15x60' },
    labels: { severity: 'warning', namespace: 'ml-serving', model: 'churn-predictor', version: '3', feature: 'tenure' },
    description: 'Feature tenure of model churn-predictor version 3 in namespace ml-serving has PSI 0.500 (threshold 0.2) for 30m.',
  },
  {
    alert: 'InferenceErrorRatioHigh',
    evalTime: '20m',
    firing: { [req('200')]: '0+90x30', [req('500')]: '0+10x30' },
    // Refusals (503) are not errors here: they have InferenceRequestsRefused.
    healthy: { [req('200')]: '0+50x30', [req('503')]: '0+50x30', [req('500')]: '0+0x30' },
    labels: { severity: 'critical', namespace: 'ml-serving', model: 'churn-predictor' },
    description: '10% of requests to model churn-predictor in namespace ml-serving get a 5xx answer (threshold 5%).',
  },
  {
    alert: 'InferenceLatencyP99OverSlo',
    evalTime: '20m',
    firing: { [latency('0.1')]: '0+0x30', [latency('0.5')]: '0+0x30', [latency('1')]: '0+10x30', [latency('+Inf')]: '0+10x30' },
    healthy: { [latency('0.1')]: '0+10x30', [latency('0.5')]: '0+10x30', [latency('1')]: '0+10x30', [latency('+Inf')]: '0+10x30' },
    labels: { severity: 'warning', namespace: 'ml-serving', model: 'churn-predictor' },
    description: 'p99 latency of model churn-predictor in namespace ml-serving is 995ms (SLO 0.5 s).',
  },
  {
    alert: 'InferenceRequestsRefused',
    evalTime: '20m',
    firing: { [req('200')]: '0+95x30', [req('503')]: '0+5x30' },
    healthy: { [req('200')]: '0+100x30', [req('503')]: '0+0x30' },
    labels: { severity: 'warning', namespace: 'ml-serving', model: 'churn-predictor' },
    description: '5% of requests to model churn-predictor in namespace ml-serving are refused with 503 (queue full or draining; threshold 1%).',
  },
  {
    alert: 'InferenceModelSwapFailing',
    evalTime: '40m',
    firing: { [`mlops_inference_model_swap_failures_total{${S},${M},pod="churn-predictor-a"}`]: '0+1x60' },
    // Two failures long ago, none since: the counter is flat.
    healthy: { [`mlops_inference_model_swap_failures_total{${S},${M},pod="churn-predictor-a"}`]: '2x60' },
    labels: { severity: 'warning', namespace: 'ml-serving', model: 'churn-predictor' },
    description:
      'Model churn-predictor in namespace ml-serving: registry polls or loads of a new version keep failing (15 in 15 min); the previous version keeps serving.',
  },
  {
    alert: 'InferenceQueueSaturated',
    evalTime: '10m',
    firing: { [`mlops_inference_queue_depth{${S},service="churn-predictor-canary",pod="churn-predictor-canary-a"}`]: '250x30' },
    healthy: { [`mlops_inference_queue_depth{${S},service="churn-predictor-canary",pod="churn-predictor-canary-a"}`]: '200x30' },
    labels: { severity: 'warning', namespace: 'ml-serving', model: 'churn-predictor', pod: 'churn-predictor-canary-a' },
    description:
      'Pod churn-predictor-canary-a of model churn-predictor in namespace ml-serving has 250 requests queued (limit 256; alert at 204); requests beyond the limit get 503.',
  },
  {
    alert: 'InferenceNoReadyReplicas',
    evalTime: '10m',
    firing: {
      [`kube_deployment_spec_replicas{${S},deployment="churn-predictor-gpu"}`]: '2x30',
      [`kube_deployment_status_replicas_available{${S},deployment="churn-predictor-gpu"}`]: '0x30',
    },
    healthy: {
      [`kube_deployment_spec_replicas{${S},deployment="churn-predictor-gpu"}`]: '2x30',
      [`kube_deployment_status_replicas_available{${S},deployment="churn-predictor-gpu"}`]: '1x30',
    },
    labels: { severity: 'critical', namespace: 'ml-serving', model: 'churn-predictor-gpu', deployment: 'churn-predictor-gpu' },
    description: 'Deployment churn-predictor-gpu of model churn-predictor-gpu in namespace ml-serving has no available replica: its predictions fail.',
  },
  {
    alert: 'TrackingErrorRatioHigh',
    evalTime: '20m',
    firing: { [http('200')]: '0+90x30', [http('500')]: '0+10x30' },
    healthy: { [http('200')]: '0+50x30', [http('503')]: '0+50x30' },
    labels: { severity: 'critical', namespace: 'mlops-platform' },
    description: '10% of tracking requests in namespace mlops-platform get a 5xx answer other than 503 (threshold 5%).',
  },
  {
    alert: 'TrackingDatabaseUnavailable',
    evalTime: '20m',
    firing: { [http('200')]: '0+95x30', [http('503')]: '0+5x30' },
    healthy: { [http('200')]: '0+95x30', [http('500')]: '0+5x30' },
    labels: { severity: 'critical', namespace: 'mlops-platform' },
    description:
      '5% of tracking requests in namespace mlops-platform get 503 TEMPORARILY_UNAVAILABLE (the database is unreachable or its pool exhausted; threshold 1%).',
  },
  {
    alert: 'TrackingWriteLatencyHigh',
    evalTime: '30m',
    firing: { [writes('0.5')]: '0+0x40', [writes('1')]: '0+0x40', [writes('2.5')]: '0+10x40', [writes('+Inf')]: '0+10x40' },
    // Slow reads do not count: only writes.
    healthy: {
      [writes('0.5')]: '0+10x40',
      [writes('1')]: '0+10x40',
      [writes('2.5')]: '0+10x40',
      [writes('+Inf')]: '0+10x40',
      [writes('0.5', 'GET')]: '0+0x40',
      [writes('1', 'GET')]: '0+0x40',
      [writes('2.5', 'GET')]: '0+10x40',
      [writes('+Inf', 'GET')]: '0+10x40',
    },
    labels: { severity: 'warning', namespace: 'mlops-platform' },
    description: 'p99 latency of tracking writes (POST, PUT, PATCH, DELETE) in namespace mlops-platform is 2.485s (objective 1 s).',
  },
  {
    alert: 'TrainingJobFailed',
    evalTime: '5m',
    firing: { [`kube_job_status_failed{${T},job_name="train-churn-x1",reason="BackoffLimitExceeded"}`]: '1x10' },
    healthy: { [`kube_job_status_failed{${T},job_name="train-churn-x1"}`]: '0x10' },
    labels: { severity: 'warning', namespace: 'ml-training', job_name: 'train-churn-x1' },
    description: 'Job train-churn-x1 in namespace ml-training has 1 failed pod(s).',
  },
  {
    alert: 'TrainingJobStuck',
    evalTime: '7h',
    firing: { [`kube_job_status_start_time{${T},job_name="train-churn-x2"}`]: '0x500', [`kube_job_status_active{${T},job_name="train-churn-x2"}`]: '1x500' },
    // As long, but finished.
    healthy: { [`kube_job_status_start_time{${T},job_name="train-churn-x2"}`]: '0x500', [`kube_job_status_active{${T},job_name="train-churn-x2"}`]: '0x500' },
    labels: { severity: 'warning', namespace: 'ml-training', job_name: 'train-churn-x2' },
    description: 'Job train-churn-x2 in namespace ml-training has been running for 7h 0m 0s (limit 6h).',
  },
  {
    alert: 'PipelineStepFailed',
    evalTime: '5m',
    firing: { [phase('Failed')]: '1x10', [owner('Workflow')]: '1x10' },
    // A failed pod of a Job is TrainingJobFailed's, not a pipeline step.
    healthy: { [phase('Failed')]: '1x10', [owner('Job')]: '1x10' },
    labels: { severity: 'warning', namespace: 'ml-training', pod: 'wf-abc-train', owner_name: 'wf-abc' },
    description: 'Step pod wf-abc-train of workflow wf-abc in namespace ml-training failed.',
  },
  {
    alert: 'PipelineStepStuck',
    evalTime: '7h',
    firing: {
      [`kube_pod_created{${T},pod="wf-abc-train"}`]: '0x500',
      [owner('Workflow')]: '1x500',
      [phase('Pending')]: '1x500',
      [phase('Succeeded')]: '0x500',
    },
    healthy: {
      [`kube_pod_created{${T},pod="wf-abc-train"}`]: '0x500',
      [owner('Workflow')]: '1x500',
      [phase('Pending')]: '0x500',
      [phase('Succeeded')]: '1x500',
    },
    labels: { severity: 'warning', namespace: 'ml-training', pod: 'wf-abc-train', owner_name: 'wf-abc' },
    description: 'Step pod wf-abc-train of workflow wf-abc in namespace ml-training has existed for 7h 0m 0s without finishing (limit 6h).',
  },
  {
    alert: 'RetrainProducedNoNewVersion',
    interval: '10m',
    evalTime: '50h',
    firing: { [`mlops_drift_detected{${S},${M},version="3",pod="churn-predictor-a"}`]: '1x400' },
    // Version 3 drifted for a day, then retraining's version 4 replaced it.
    healthy: {
      [`mlops_drift_detected{${S},${M},version="3",pod="churn-predictor-a"}`]: '1x144 _x256',
      [`mlops_drift_detected{${S},${M},version="4",pod="churn-predictor-a"}`]: '_x144 0x256',
    },
    labels: { severity: 'warning', namespace: 'ml-serving', model: 'churn-predictor', version: '3' },
    description:
      'Model churn-predictor version 3 in namespace ml-serving has been drifted for 2d and no new version replaced it: the retrain CronJob retrain-churn in ml-training failed, did not register a version, or its version did not pass the promotion gate.',
  },
  {
    alert: 'RetrainCronJobNotSucceeding',
    interval: '10m',
    evalTime: '50h',
    firing: { [`kube_cronjob_status_last_successful_time{${T},cronjob="retrain-churn"}`]: '0x400' },
    healthy: { [`kube_cronjob_status_last_successful_time{${T},cronjob="retrain-churn"}`]: '170000x400' },
    labels: { severity: 'warning', namespace: 'ml-training', cronjob: 'retrain-churn' },
    description: 'CronJob retrain-churn in namespace ml-training last succeeded 2d 2h 0m 0s ago (more than 2d).',
  },
  {
    alert: 'CertificateExpiringSoon',
    evalTime: '2h',
    firing: { [`certmanager_certificate_expiration_timestamp_seconds{${P},name="tracking-tls",issuer_name="letsencrypt-prod"}`]: '871200x200' },
    healthy: { [`certmanager_certificate_expiration_timestamp_seconds{${P},name="tracking-tls",issuer_name="letsencrypt-prod"}`]: '7776000x200' },
    labels: { severity: 'warning', namespace: 'mlops-platform', name: 'tracking-tls' },
    description: 'Certificate tracking-tls in namespace mlops-platform expires in 10d 0h 0m 0s (alert at 14 days): cert-manager has not renewed it.',
  },
  {
    alert: 'CertificateNotReady',
    evalTime: '30m',
    firing: {
      [`certmanager_certificate_ready_status{${S},name="inference-tls",condition="False"}`]: '1x60',
      [`certmanager_certificate_ready_status{${S},name="inference-tls",condition="True"}`]: '0x60',
    },
    healthy: {
      [`certmanager_certificate_ready_status{${S},name="inference-tls",condition="False"}`]: '0x60',
      [`certmanager_certificate_ready_status{${S},name="inference-tls",condition="True"}`]: '1x60',
    },
    labels: { severity: 'warning', namespace: 'ml-serving', name: 'inference-tls' },
    description: 'Certificate inference-tls in namespace ml-serving is not Ready: its issuance or renewal is failing.',
  },
  {
    alert: 'PersistentVolumeClaimNearlyFull',
    evalTime: '30m',
    firing: {
      [`kubelet_volume_stats_used_bytes{${P},persistentvolumeclaim="data-postgres-0"}`]: '9e9x60',
      [`kubelet_volume_stats_capacity_bytes{${P},persistentvolumeclaim="data-postgres-0"}`]: '1e10x60',
    },
    // Full, but not one of the platform's namespaces.
    healthy: {
      [`kubelet_volume_stats_used_bytes{${P},persistentvolumeclaim="data-postgres-0"}`]: '5e9x60',
      [`kubelet_volume_stats_capacity_bytes{${P},persistentvolumeclaim="data-postgres-0"}`]: '1e10x60',
      ['kubelet_volume_stats_used_bytes{namespace="other",persistentvolumeclaim="data"}']: '1e10x60',
      ['kubelet_volume_stats_capacity_bytes{namespace="other",persistentvolumeclaim="data"}']: '1e10x60',
    },
    labels: { severity: 'warning', namespace: 'mlops-platform', persistentvolumeclaim: 'data-postgres-0' },
    description: 'PVC data-postgres-0 in namespace mlops-platform is 90% full (alert at 85%).',
  },
  {
    alert: 'PodCrashLooping',
    evalTime: '45m',
    firing: { [`kube_pod_container_status_waiting_reason{${P},pod="tracking-a",container="server",reason="CrashLoopBackOff"}`]: '1x60' },
    // One restart half an hour ago.
    healthy: { [`kube_pod_container_status_restarts_total{${P},pod="tracking-a",container="server"}`]: '0x10 1x50' },
    labels: { severity: 'warning', namespace: 'mlops-platform', pod: 'tracking-a', container: 'server' },
    description: 'Container server of pod tracking-a in namespace mlops-platform keeps restarting.',
  },
];
