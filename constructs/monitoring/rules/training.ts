import type { AlertRule, RuleContext, RuleGroup } from './types';
import { durationSeconds } from './types';
import { CHURN } from '../../training';

/** Argo Workflows runs each pipeline step as a pod owned by its Workflow (kube-state-metrics' kube_pod_owner). */
const WORKFLOW_POD = '* on (namespace, pod) group_left (owner_name) max by (namespace, pod, owner_name) (kube_pod_owner{owner_kind="Workflow"})';

function retrainAlerts(ctx: RuleContext): AlertRule[] {
  const { env } = ctx;
  if (!env.training.retrainSchedule) return [];
  const within = env.monitoring.alerts.training.retrainWithin;
  return [
    ctx.alert({
      alert: 'RetrainProducedNoNewVersion',
      // A new version served is a new `version` label, which resets the pending time: only a version that stays
      // drifted for `within` fires.
      expr: `max by (namespace, model, version) (mlops_drift_detected{namespace="${env.namespaces.serving}"}) == 1`,
      for: within,
      labels: { severity: 'warning' },
      summary: 'Drift not resolved by retraining',
      description: `Model {{ $labels.model }} version {{ $labels.version }} in namespace {{ $labels.namespace }} has been drifted for ${within} and no new version replaced it: the retrain CronJob retrain-${CHURN.experiment} in ${env.namespaces.training} failed, did not register a version, or its version did not pass the promotion gate.`,
    }),
    ctx.alert({
      alert: 'RetrainCronJobNotSucceeding',
      expr: `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{namespace="${env.namespaces.training}", cronjob="retrain-${CHURN.experiment}"}) > ${durationSeconds(within)}`,
      labels: { severity: 'warning' },
      summary: 'Retraining has not succeeded recently',
      description: `CronJob {{ $labels.cronjob }} in namespace {{ $labels.namespace }} last succeeded {{ $value | humanizeDuration }} ago (more than ${within}).`,
    }),
  ];
}

/** Training Jobs and pipeline steps (kube-state-metrics), and retraining that did not replace a drifted version. */
export function trainingAlerts(ctx: RuleContext): RuleGroup {
  const ns = `namespace="${ctx.env.namespaces.training}"`;
  const stuck = ctx.env.monitoring.alerts.training.stuckAfter;
  return {
    name: 'mlops-training',
    rules: [
      ctx.alert({
        alert: 'TrainingJobFailed',
        expr: `max by (namespace, job_name) (kube_job_status_failed{${ns}}) > 0`,
        labels: { severity: 'warning' },
        summary: 'Training Job failed',
        description: `Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} has {{ $value }} failed pod(s).`,
      }),
      ctx.alert({
        alert: 'TrainingJobStuck',
        expr: `(time() - max by (namespace, job_name) (kube_job_status_start_time{${ns}})) > ${durationSeconds(stuck)} and on (namespace, job_name) max by (namespace, job_name) (kube_job_status_active{${ns}}) > 0`,
        labels: { severity: 'warning' },
        summary: 'Training Job running too long',
        description: `Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} has been running for {{ $value | humanizeDuration }} (limit ${stuck}).`,
      }),
      ctx.alert({
        alert: 'PipelineStepFailed',
        expr: `max by (namespace, pod) (kube_pod_status_phase{${ns}, phase="Failed"}) ${WORKFLOW_POD} > 0`,
        labels: { severity: 'warning' },
        summary: 'Pipeline step failed',
        description: `Step pod {{ $labels.pod }} of workflow {{ $labels.owner_name }} in namespace {{ $labels.namespace }} failed.`,
      }),
      ctx.alert({
        alert: 'PipelineStepStuck',
        expr: `(time() - max by (namespace, pod) (kube_pod_created{${ns}})) ${WORKFLOW_POD} > ${durationSeconds(stuck)} and on (namespace, pod) max by (namespace, pod) (kube_pod_status_phase{${ns}, phase=~"Pending|Running"}) == 1`,
        labels: { severity: 'warning' },
        summary: 'Pipeline step pending or running too long',
        description: `Step pod {{ $labels.pod }} of workflow {{ $labels.owner_name }} in namespace {{ $labels.namespace }} has existed for {{ $value | humanizeDuration }} without finishing (limit ${stuck}).`,
      }),
      ...retrainAlerts(ctx),
    ],
  };
}
