import { Construct } from 'constructs';
import type { EnvironmentConfig, InferenceModel } from '../environments';
import {
  emptyDir,
  findGpuPool,
  gpuScheduling,
  imageVersion,
  k8s,
  resources,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  RUNTIME_UID,
  standardLabels,
  type PlatformContext,
} from './common';
import { podGroup, type PodGroup } from './facts';
import {
  inferenceService,
  KSERVE_AUTOSCALER_CLASS,
  KSERVE_COMPONENT_LABEL,
  KSERVE_CONTAINER,
  KSERVE_DEPLOYMENT_MODE,
  KSERVE_ISVC_LABEL,
  KSERVE_SERVICE_HTTP_PORT,
  KSERVE_VISIBILITY_LABEL,
  servingRuntime,
  type PredictorSpec,
} from './inference-kserve-types';
import {
  driftArgs,
  INFERENCE_COMPONENT,
  INFERENCE_SERVICE_ACCOUNT,
  listenArgs,
  MODEL_LABEL,
  modelArgs,
  serverEnv,
  serverMounts,
  serverPorts,
  serverProbes,
  TRACK_LABEL,
  tuningArgs,
  type Track,
} from './inference-server';
import { spreadTopologyKeys } from './platform-pods';
import { ZERO_DOWNTIME_ROLLOUT } from './serving-workload';
import { mebibytes, TRACKING_CLIENT_SECRET } from './training';

/*
 * KServe delivery (`inference.delivery: kserve`): one ServingRuntime for the platform's inference image and
 * an InferenceService per model in RawDeployment mode (plain Deployments, Services and HPAs made by the
 * KServe controller; no Knative). See docs/adr/0025-kserve-delivery.md for the version and what is not
 * supported.
 */

/** KServe release the objects target (and the PyPI SDK the tests judge them with). */
export const KSERVE_VERSION = '0.21.0';
/** Name of the platform's ServingRuntime in the serving namespace. */
export const KSERVE_RUNTIME = 'mlops-inference';
/** The model format the runtime declares and every InferenceService asks for: the server runs ONNX models. */
export const KSERVE_MODEL_FORMAT = 'onnx';
/** Name of a model's canary in `spec.canary[]`: its Deployment and Service are `<model>-canary-predictor`. */
export const KSERVE_CANARY_NAME = 'canary';
/**
 * The runtime container's own resources: each InferenceService's model sets its environment's resources,
 * which replace these (KServe merges the model into the runtime container).
 */
const RUNTIME_RESOURCES = { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } };

/** Name of KServe's Deployment and Service for a model's track (`<isvc>-predictor`, `<isvc>-<canary>-predictor`). */
export function kservePredictorName(model: InferenceModel, track: Track): string {
  return track === 'stable' ? `${model.name}-predictor` : `${model.name}-${KSERVE_CANARY_NAME}-predictor`;
}

/** The Service (and port) a model track is reached on: KServe's predictor Service maps port 80 to the container's first port. */
export function kserveBackend(model: InferenceModel, track: Track): { service: string; port: number } {
  return { service: kservePredictorName(model, track), port: KSERVE_SERVICE_HTTP_PORT };
}

/** The labels KServe's predictor pods carry: the InferenceService's, the predictor's own, then KServe's. */
export function kservePodLabels(isvcLabels: Record<string, string>, model: InferenceModel, track: Track): Record<string, string> {
  return {
    ...isvcLabels,
    [TRACK_LABEL]: track,
    [KSERVE_ISVC_LABEL]: model.name,
    [KSERVE_COMPONENT_LABEL]: 'predictor',
    app: `isvc.${kservePredictorName(model, track)}`,
  };
}

export interface KServeInferenceProps {
  readonly ctx: PlatformContext;
  /** Secret with the tracking login; null when the tracking server runs without auth. @default "tracking-client" */
  readonly trackingCredentialsSecret?: string | null;
  /** Size limit of each pod's model cache. @default "1Gi" */
  readonly modelCacheSize?: string;
}

/**
 * The ServingRuntime and the InferenceServices of every model. Pods run as they do under the platform's own
 * Deployments: `mlops serve` as uid 10001, read-only root with the model cache and /tmp on emptyDirs, the
 * `inference` ServiceAccount without an API token, Open Inference Protocol probes, and the model's GPU pool.
 */
export class KServeInference extends Construct {
  /** The pods KServe will run for each model track, with the labels it gives them. */
  readonly pods: PodGroup[] = [];

  constructor(scope: Construct, id: string, props: KServeInferenceProps) {
    super(scope, id);
    const { env } = props.ctx;
    const ns = env.namespaces.serving;
    const cacheSize = props.modelCacheSize ?? '1Gi';
    const credentials = props.trackingCredentialsSecret === undefined ? TRACKING_CLIENT_SECRET : props.trackingCredentialsSecret;
    const version = imageVersion(env.inference.image);
    servingRuntime(
      this,
      'runtime',
      { name: KSERVE_RUNTIME, namespace: ns, labels: standardLabels(env, KSERVE_RUNTIME, INFERENCE_COMPONENT, version) },
      {
        supportedModelFormats: [{ name: KSERVE_MODEL_FORMAT, autoSelect: false }],
        protocolVersions: ['v2', 'grpc-v2'],
        multiModel: false,
        containers: [runtimeContainer(env, credentials, ephemeral(cacheSize))],
        volumes: [emptyDir('model-cache', cacheSize), emptyDir('tmp', '256Mi')],
      },
    );
    for (const model of env.inference.models) {
      const labels = {
        ...standardLabels(env, model.name, INFERENCE_COMPONENT, version),
        [MODEL_LABEL]: model.name,
        [KSERVE_VISIBILITY_LABEL]: 'cluster-local',
      };
      const stable = predictor(env, model, 'stable', cacheSize);
      const canary = model.canary
        ? [{ trafficPercent: model.canary.weight, predictor: { ...predictor(env, model, 'canary', cacheSize), name: KSERVE_CANARY_NAME } }]
        : [];
      inferenceService(
        this,
        model.name,
        {
          name: model.name,
          namespace: ns,
          labels,
          annotations: { [KSERVE_DEPLOYMENT_MODE]: 'RawDeployment', [KSERVE_AUTOSCALER_CLASS]: 'hpa' },
        },
        { predictor: stable, canary },
      );
      for (const track of model.canary ? (['stable', 'canary'] as const) : (['stable'] as const))
        this.pods.push(podGroup(ns, kservePodLabels(labels, model, track)));
    }
  }
}

/** The model cache and /tmp are emptyDirs on the node's disk: the ephemeral-storage limit covers the cache plus 1 GiB for /tmp and logs. */
function ephemeral(cacheSize: string): { request: string; limit: string } {
  return { request: '256Mi', limit: `${mebibytes(cacheSize) + 1024}Mi` };
}

/** The runtime's `kserve-container`: `mlops serve` listening on REST and gRPC; each InferenceService's model adds what it serves. */
function runtimeContainer(env: EnvironmentConfig, credentials: string | null, storage: { request: string; limit: string }): k8s.Container {
  return {
    name: KSERVE_CONTAINER,
    image: env.inference.image,
    command: ['mlops', 'serve'],
    args: [...listenArgs(), ...driftArgs(env)],
    ports: serverPorts(),
    env: serverEnv(env, credentials),
    resources: resources(RUNTIME_RESOURCES, {}, storage),
    securityContext: restrictedContainerSecurity(),
    ...serverProbes(),
    volumeMounts: serverMounts(),
  };
}

/**
 * One track's predictor: the model (format, runtime, v2 protocol, the track's alias and batching as args, the
 * environment's resources), the restricted pod, and its scaling. The stable track scales between the
 * environment's bounds on CPU; the canary has its own replica count (KServe refuses autoscaling fields on a canary).
 */
function predictor(env: EnvironmentConfig, model: InferenceModel, track: Track, cacheSize: string): PredictorSpec {
  const pool = findGpuPool(env, model.gpuPool);
  const scheduling = pool ? gpuScheduling(pool) : undefined;
  const a = model.autoscaling;
  const podSelector = { [KSERVE_ISVC_LABEL]: model.name, [KSERVE_COMPONENT_LABEL]: 'predictor', [TRACK_LABEL]: track };
  const scaling: Partial<PredictorSpec> =
    track === 'stable'
      ? {
          minReplicas: a.minReplicas,
          maxReplicas: a.maxReplicas,
          autoScaling: {
            metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.targetCPUUtilization } } }],
            // Scale up at once, down slowly: a brief lull must not drop capacity a burst needs again.
            behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
          },
        }
      : { minReplicas: model.canary?.replicas };
  return {
    ...scaling,
    deploymentStrategy: ZERO_DOWNTIME_ROLLOUT,
    labels: { [TRACK_LABEL]: track },
    serviceAccountName: INFERENCE_SERVICE_ACCOUNT,
    automountServiceAccountToken: false,
    securityContext: restrictedPodSecurity(RUNTIME_UID),
    terminationGracePeriodSeconds: 30,
    ...(scheduling ? { tolerations: scheduling.tolerations, nodeSelector: scheduling.nodeSelector } : {}),
    topologySpreadConstraints: spreadTopologyKeys(env).map((topologyKey) => ({
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: podSelector },
      matchLabelKeys: ['pod-template-hash'],
    })),
    model: {
      name: KSERVE_CONTAINER,
      modelFormat: { name: KSERVE_MODEL_FORMAT },
      runtime: KSERVE_RUNTIME,
      protocolVersion: 'v2',
      args: [...modelArgs(model, track), ...tuningArgs(model)],
      resources: resources(model.resources, pool ? { 'nvidia.com/gpu': '1' } : {}, ephemeral(cacheSize)),
      securityContext: restrictedContainerSecurity(),
    },
  };
}
