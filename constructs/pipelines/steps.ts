import type { EnvironmentConfig } from '../../environments';
import type { PipelineStep } from '../../environments/pipelines';
import { emptyDir, findGpuPool, gpuScheduling, k8s, resources, restrictedContainerSecurity } from '../common';
import { mebibytes, trackingClientEnv, TRACKING_CLIENT_SECRET } from '../training';
import { ARTIFACTS_DIR, inputParameterName, OUTPUTS_DIR, stepReferences, toArgo } from './placeholders';

import { PIPELINE_POD_LABEL } from '../network-policies';

/** Pod label naming the pipeline (and the step) of an Argo step pod; the NetworkPolicies select on it. */
export const PIPELINE_LABEL = PIPELINE_POD_LABEL;
export const PIPELINE_STEP_LABEL = 'mlops-blueprint.io/pipeline-step';

/** Size of a step's /tmp (scratch, outputs, artifacts). */
export const SCRATCH = '2Gi';

/** The JSON of a generated L1 type (Quantity and IntOrString rendered as Kubernetes writes them). */
type Json = Record<string, unknown>;
export const json = <T>(fn: (o: T | undefined) => Record<string, unknown> | undefined, o: T): Json => fn(o) ?? {};

/** One Argo template (a container template here); typed against the v4.0.5 CRD by the schema tests. */
export type ArgoTemplate = Json & { name: string };
/** One task of the DAG template. */
export type ArgoDagTask = Json & { name: string; template: string };

/** Template of a step (`step-<name>`: never the DAG's `main`, whatever the step is called). */
export function stepTemplateName(step: string): string {
  return `step-${step}`;
}

/** Input parameters a step takes: one per upstream output it refers to. */
export function upstreamInputs(step: PipelineStep): Array<[string, string]> {
  const seen = new Map<string, [string, string]>();
  for (const text of [...step.command, ...step.args]) for (const [s, o] of stepReferences(text)) seen.set(inputParameterName(s, o), [s, o]);
  return [...seen.values()];
}

/**
 * The container of a step: the pinned image, restricted security, resources and `gpus` GPUs when it runs on a
 * pool, the tracking login, and the pipeline's tags for the step's run.
 */
export function stepContainer(env: EnvironmentConfig, pipeline: string, name: string, step: PipelineStep, gpus: number): k8s.Container {
  const pool = findGpuPool(env, step.gpuPool);
  return {
    name: 'main',
    image: step.image ?? env.training.image,
    command: step.command.map(toArgo),
    ...(step.args.length ? { args: step.args.map(toArgo) } : {}),
    env: [
      ...trackingClientEnv(env, TRACKING_CLIENT_SECRET),
      { name: 'TMPDIR', value: '/tmp' },
      { name: 'HOME', value: '/tmp' },
      // Each step's run in the tracking server is tagged with these, so one pipeline run's steps group together.
      { name: 'MLOPS_PIPELINE', value: pipeline },
      { name: 'MLOPS_PIPELINE_RUN', value: '{{workflow.name}}' },
      { name: 'MLOPS_PIPELINE_STEP', value: name },
    ],
    resources: resources(step.resources ?? env.training.resources, pool && gpus > 0 ? { 'nvidia.com/gpu': String(gpus) } : {}, {
      request: '256Mi',
      limit: `${mebibytes(SCRATCH) + 512}Mi`,
    }),
    securityContext: restrictedContainerSecurity(),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

/**
 * The controller adds the executor's `init` and `wait` containers to a container template's pod with the security
 * context of its own config (`executor.securityContext`), which upstream's install leaves empty, so the API server's
 * Pod Security admission rejects every step pod in a restricted namespace (seen on the test control plane). Argo
 * applies podSpecPatch last, over its own containers, so each container template carries the restricted context for
 * both. (Per template, not workflow-wide: a resource template's pod has no `wait` container, and a patch naming one
 * would add it, without an image; Argo gives that pod's own containers a minimal restricted context.)
 */
export const EXECUTOR_SECURITY_PATCH = JSON.stringify({
  initContainers: [{ name: 'init', securityContext: k8s.toJson_SecurityContext(restrictedContainerSecurity()) }],
  containers: [{ name: 'wait', securityContext: k8s.toJson_SecurityContext(restrictedContainerSecurity()) }],
});

/** Argo's retries of a step on any failure (error or non-zero exit), with backoff; not counting the first attempt. */
export function retryStrategy(step: PipelineStep): Json {
  return step.retries ? { retryStrategy: { limit: step.retries, retryPolicy: 'Always', backoff: { duration: '30s', factor: 2, maxDuration: '10m' } } } : {};
}

/** The input parameters of a step's template (the upstream outputs it refers to). */
export function inputParameters(step: PipelineStep): Json {
  const inputs = upstreamInputs(step);
  return inputs.length ? { parameters: inputs.map(([s, o]) => ({ name: inputParameterName(s, o) })) } : {};
}

/** A (not distributed) step as an Argo container template. */
export function containerStepTemplate(
  env: EnvironmentConfig,
  pipeline: string,
  name: string,
  step: PipelineStep,
  labels: Record<string, string>,
): ArgoTemplate {
  const pool = findGpuPool(env, step.gpuPool);
  const scheduling = pool ? gpuScheduling(pool) : undefined;
  const parameters = inputParameters(step);
  const inputArtifacts = Object.keys(step.inputArtifacts);
  return {
    name: stepTemplateName(name),
    metadata: { labels: { ...labels, [PIPELINE_STEP_LABEL]: name } },
    ...(Object.keys(parameters).length || inputArtifacts.length
      ? { inputs: { ...parameters, ...(inputArtifacts.length ? { artifacts: inputArtifacts.map((a) => ({ name: a, path: `${ARTIFACTS_DIR}/${a}` })) } : {}) } }
      : {}),
    ...(step.outputs.length || step.artifacts.length
      ? {
          outputs: {
            ...(step.outputs.length ? { parameters: step.outputs.map((o) => ({ name: o, valueFrom: { path: `${OUTPUTS_DIR}/${o}` } })) } : {}),
            ...(step.artifacts.length ? { artifacts: step.artifacts.map((a) => ({ name: a, path: `${ARTIFACTS_DIR}/${a}`, archive: { tar: {} } })) } : {}),
          },
        }
      : {}),
    activeDeadlineSeconds: step.timeoutSeconds,
    ...retryStrategy(step),
    ...(scheduling ? { nodeSelector: scheduling.nodeSelector, tolerations: scheduling.tolerations.map((t) => json(k8s.toJson_Toleration, t)) } : {}),
    podSpecPatch: EXECUTOR_SECURITY_PATCH,
    container: json(k8s.toJson_Container, stepContainer(env, pipeline, name, step, step.gpus)),
    volumes: [json(k8s.toJson_Volume, emptyDir('tmp', SCRATCH))],
  };
}

/** The DAG task of a step: its dependencies, the upstream outputs and artifacts it takes as arguments. */
export function dagTask(name: string, step: PipelineStep): ArgoDagTask {
  const inputs = upstreamInputs(step);
  const artifacts = Object.entries(step.inputArtifacts);
  return {
    name,
    template: stepTemplateName(name),
    ...(step.dependsOn.length ? { dependencies: [...step.dependsOn] } : {}),
    ...(inputs.length || artifacts.length
      ? {
          arguments: {
            ...(inputs.length
              ? { parameters: inputs.map(([s, o]) => ({ name: inputParameterName(s, o), value: `{{tasks.${s}.outputs.parameters.${o}}}` })) }
              : {}),
            ...(artifacts.length ? { artifacts: artifacts.map(([a, from]) => ({ name: a, from: `{{tasks.${from}.outputs.artifacts.${a}}}` })) } : {}),
          },
        }
      : {}),
  };
}
