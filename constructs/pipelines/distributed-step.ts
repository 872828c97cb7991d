import { stringify } from 'yaml';
import type { EnvironmentConfig } from '../../environments';
import type { PipelineStep } from '../../environments/pipelines';
import { BACKEND_ENV, distributedBackend, type DistributedTraining } from '../../environments/training-distributed';
import { emptyDir, findGpuPool, gpuScheduling, k8s, restrictedPodSecurity, RUNTIME_UID } from '../common';
import { pytorchContainer, pytorchJobSpecJson, pytorchReplicas, rankZeroReplica } from '../distributed-training';
import { PyTorchJob } from '../imports/kubeflow.org';
import { TRAINING_SERVICE_ACCOUNT } from '../training';
import {
  inputParameters,
  json,
  PIPELINE_LABEL,
  PIPELINE_STEP_LABEL,
  retryStrategy,
  SCRATCH,
  stepContainer,
  stepTemplateName,
  type ArgoTemplate,
} from './steps';

/*
 * A distributed pipeline step (`distributed:` on a step; docs/adr/0030): an Argo resource template that creates a
 * Kubeflow Training Operator PyTorchJob owned by the workflow and waits for its rank-0 replica. Every replica runs
 * the step's container (same image, command, tracking login and pipeline tags) on the step's pool; Argo retries the
 * whole job, so replicas do not restart on their own.
 */

/** Label on a distributed step's PyTorchJob pods only (not on the Argo pod that creates the job): their peer NetworkPolicy selects on it. */
export const DISTRIBUTED_STEP_LABEL = 'mlops-blueprint.io/distributed-step';

/** Longest generateName of a step's job: the operator's pod names `<job>-worker-<i>` must stay DNS labels. */
const MAX_JOB_PREFIX = 40;

/** The generateName of a step's PyTorchJobs (one per attempt). */
export function distributedJobPrefix(pipeline: string, step: string): string {
  return `${`${pipeline}-${step}`.slice(0, MAX_JOB_PREFIX - 1).replace(/-+$/, '')}-`;
}

/** Labels of a distributed step's replica pods: the step pods' labels (pipeline and step) plus the replica mark. */
export function distributedPodLabels(step: string, podLabels: Record<string, string>): Record<string, string> {
  return { ...podLabels, [PIPELINE_STEP_LABEL]: step, [DISTRIBUTED_STEP_LABEL]: 'true' };
}

/** What selects one distributed step's replicas (of any run): its pipeline, its step and the replica mark. */
export function distributedReplicaSelector(pipeline: string, step: string): Record<string, string> {
  return { [PIPELINE_LABEL]: pipeline, [PIPELINE_STEP_LABEL]: step, [DISTRIBUTED_STEP_LABEL]: 'true' };
}

/** A step with its `distributed` block (the only kind this module renders). */
export type DistributedStep = PipelineStep & { distributed: DistributedTraining };

/** The PyTorchJob a distributed step creates, with Argo's placeholders left in for it to fill in. */
export function distributedStepJob(
  env: EnvironmentConfig,
  pipeline: string,
  name: string,
  step: DistributedStep,
  podLabels: Record<string, string>,
): Record<string, unknown> {
  const d = step.distributed;
  const pool = findGpuPool(env, step.gpuPool);
  const scheduling = pool ? gpuScheduling(pool) : undefined;
  const main = stepContainer(env, pipeline, name, step, d.gpusPerWorker);
  const container = pytorchContainer({ ...main, env: [...(main.env ?? []), { name: BACKEND_ENV, value: distributedBackend(d) }] }, d);
  const labels = distributedPodLabels(name, podLabels);
  const pod: k8s.PodSpec = {
    serviceAccountName: TRAINING_SERVICE_ACCOUNT,
    automountServiceAccountToken: false,
    securityContext: restrictedPodSecurity(RUNTIME_UID),
    ...(scheduling ? { tolerations: scheduling.tolerations, nodeSelector: scheduling.nodeSelector } : {}),
    containers: [container],
    volumes: [emptyDir('tmp', SCRATCH)],
  };
  const template = json(k8s.toJson_PodTemplateSpec, { metadata: { labels }, spec: pod });
  const spec = {
    ...pytorchReplicas(d, template, 'Never'),
    // One attempt per job: the step's retryStrategy creates a new job. Running pods go when it ends.
    runPolicy: { cleanPodPolicy: 'Running', backoffLimit: 0, activeDeadlineSeconds: step.timeoutSeconds, ttlSecondsAfterFinished: 86400 },
  };
  return {
    apiVersion: PyTorchJob.GVK.apiVersion,
    kind: PyTorchJob.GVK.kind,
    metadata: { generateName: distributedJobPrefix(pipeline, name), labels },
    spec: pytorchJobSpecJson(spec),
  };
}

/** A distributed step as an Argo resource template: create the job, succeed when rank 0 succeeded, fail when it failed. */
export function distributedStepTemplate(
  env: EnvironmentConfig,
  pipeline: string,
  name: string,
  step: DistributedStep,
  podLabels: Record<string, string>,
): ArgoTemplate {
  const d = step.distributed;
  const parameters = inputParameters(step);
  // Argo's conditions are label selectors over the job's JSON (gjson paths): a replica type's pod counts.
  const rankZero = `status.replicaStatuses.${rankZeroReplica(d)}`;
  return {
    name: stepTemplateName(name),
    metadata: { labels: { ...podLabels, [PIPELINE_STEP_LABEL]: name } },
    ...(Object.keys(parameters).length ? { inputs: parameters } : {}),
    activeDeadlineSeconds: step.timeoutSeconds,
    ...retryStrategy(step),
    resource: {
      action: 'create',
      // Deleted with the workflow (its TTL), like the step pods.
      setOwnerReference: true,
      successCondition: `${rankZero}.succeeded > 0`,
      failureCondition: `${rankZero}.failed > 0`,
      manifest: stringify(distributedStepJob(env, pipeline, name, step, podLabels)),
    },
  };
}
