import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { k8s } from './common';

/*
 * KServe's `serving.kserve.io` objects this platform renders, typed from the upstream field names (KServe
 * pkg/apis/serving: v1beta1 InferenceService, v1alpha1 ServingRuntime; the same names as the Python SDK's
 * V1beta1 and V1alpha1 models). Only the fields the platform sets are typed. Kubernetes types inside them
 * (containers, security contexts, tolerations, volumes, HPA behaviour) are cdk8s's generated k8s types,
 * written out with their own `toJson_*` so quantities and int-or-strings serialize as the API expects.
 * No CRD is vendored (the Go module proxy does not serve KServe); test/inference/kserve-sdk.test.ts
 * round-trips every object through the official SDK's models, and synth checks them against the schema
 * scripts/import-kserve-schema.py derives from those models.
 */

export const KSERVE_API_GROUP = 'serving.kserve.io';
/** Annotation choosing the deployment mode of an InferenceService. */
export const KSERVE_DEPLOYMENT_MODE = 'serving.kserve.io/deploymentMode';
/** Annotation choosing the autoscaler of a RawDeployment InferenceService (`hpa`: a HorizontalPodAutoscaler). */
export const KSERVE_AUTOSCALER_CLASS = 'serving.kserve.io/autoscalerClass';
/** Label KServe puts on every pod, Deployment and Service of an InferenceService: its name. */
export const KSERVE_ISVC_LABEL = 'serving.kserve.io/inferenceservice';
/** Label KServe puts on a component's pods: `predictor`, `transformer` or `explainer`. */
export const KSERVE_COMPONENT_LABEL = 'component';
/** Label keeping an InferenceService cluster-local: KServe then creates no Ingress or HTTPRoute for it. */
export const KSERVE_VISIBILITY_LABEL = 'networking.kserve.io/visibility';
/** The container name KServe merges the predictor's `model` into (the ServingRuntime's serving container). */
export const KSERVE_CONTAINER = 'kserve-container';
/** Port of the first container port on KServe's predictor Service (the container port is its target). */
export const KSERVE_SERVICE_HTTP_PORT = 80;

type Labels = Record<string, string>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly annotations?: Labels;
}

/** v1beta1 ModelFormat. */
export interface ModelFormat {
  readonly name: string;
  readonly version?: string;
}

/** v1beta1 ModelSpec: the predictor's model, a container KServe merges into the runtime's `kserve-container`. */
export interface ModelSpec {
  /** The container's name: KServe's default, the runtime container it is merged into. */
  readonly name: typeof KSERVE_CONTAINER;
  readonly modelFormat: ModelFormat;
  /** Name of the ServingRuntime serving the model. */
  readonly runtime: string;
  readonly protocolVersion: 'v1' | 'v2' | 'grpc-v2';
  /** Appended to the runtime container's args (KServe concatenates them). */
  readonly args?: readonly string[];
  readonly resources?: k8s.ResourceRequirements;
  readonly securityContext?: k8s.SecurityContext;
}

/** v1beta1 MetricTarget. */
export interface MetricTarget {
  readonly type: 'Utilization' | 'Value' | 'AverageValue';
  readonly averageUtilization?: number;
}

/** v1beta1 MetricsSpec, the Resource case (what the HPA autoscaler class supports). */
export interface MetricsSpec {
  readonly type: 'Resource';
  readonly resource: { readonly name: 'cpu' | 'memory'; readonly target: MetricTarget };
}

/** v1beta1 AutoScalingSpec. */
export interface AutoScalingSpec {
  readonly metrics: readonly MetricsSpec[];
  readonly behavior?: { readonly scaleDown?: k8s.HpaScalingRulesV2 };
}

/** v1beta1 PredictorSpec: a PodSpec, the ComponentExtensionSpec, and the model. */
export interface PredictorSpec {
  /** Names a canary's Deployment and Service (`<isvc>-<name>-predictor`); unset for the stable predictor. */
  readonly name?: string;
  readonly model: ModelSpec;
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  readonly autoScaling?: AutoScalingSpec;
  readonly deploymentStrategy?: k8s.DeploymentStrategy;
  /** Labels KServe adds to the component's pods. */
  readonly labels?: Labels;
  readonly serviceAccountName: string;
  readonly automountServiceAccountToken: boolean;
  readonly securityContext: k8s.PodSecurityContext;
  readonly terminationGracePeriodSeconds?: number;
  readonly tolerations?: readonly k8s.Toleration[];
  readonly nodeSelector?: Labels;
  readonly topologySpreadConstraints?: readonly k8s.TopologySpreadConstraint[];
}

/** v1beta1 CanarySpec (KServe ≥ 0.20: a named canary Deployment taking `trafficPercent` of the traffic). */
export interface CanarySpec {
  readonly trafficPercent: number;
  readonly predictor: PredictorSpec & { readonly name: string };
}

export interface InferenceServiceSpec {
  readonly predictor: PredictorSpec;
  readonly canary?: readonly CanarySpec[];
}

/** v1alpha1 SupportedModelFormat. */
export interface SupportedModelFormat {
  readonly name: string;
  readonly version?: string;
  readonly autoSelect: boolean;
}

/** v1alpha1 ServingRuntimeSpec (with its inlined ServingRuntimePodSpec). */
export interface ServingRuntimeSpec {
  readonly supportedModelFormats: readonly SupportedModelFormat[];
  readonly protocolVersions: ReadonlyArray<'v1' | 'v2' | 'grpc-v1' | 'grpc-v2'>;
  readonly multiModel: boolean;
  readonly containers: readonly k8s.Container[];
  readonly volumes?: readonly k8s.Volume[];
}

const json = <T>(fn: (v: T) => Record<string, unknown> | undefined, values: readonly T[] | undefined) => values?.map((v) => fn(v));

function modelJson(m: ModelSpec): Record<string, unknown> {
  return {
    name: m.name,
    modelFormat: m.modelFormat,
    runtime: m.runtime,
    protocolVersion: m.protocolVersion,
    ...(m.args ? { args: [...m.args] } : {}),
    ...(m.resources ? { resources: k8s.toJson_ResourceRequirements(m.resources) } : {}),
    ...(m.securityContext ? { securityContext: k8s.toJson_SecurityContext(m.securityContext) } : {}),
  };
}

function predictorJson(p: PredictorSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: p.name,
    minReplicas: p.minReplicas,
    maxReplicas: p.maxReplicas,
    autoScaling: p.autoScaling && {
      metrics: p.autoScaling.metrics,
      behavior: p.autoScaling.behavior?.scaleDown && { scaleDown: k8s.toJson_HpaScalingRulesV2(p.autoScaling.behavior.scaleDown) },
    },
    deploymentStrategy: k8s.toJson_DeploymentStrategy(p.deploymentStrategy),
    labels: p.labels,
    serviceAccountName: p.serviceAccountName,
    automountServiceAccountToken: p.automountServiceAccountToken,
    securityContext: k8s.toJson_PodSecurityContext(p.securityContext),
    terminationGracePeriodSeconds: p.terminationGracePeriodSeconds,
    tolerations: json(k8s.toJson_Toleration, p.tolerations),
    nodeSelector: p.nodeSelector,
    topologySpreadConstraints: json(k8s.toJson_TopologySpreadConstraint, p.topologySpreadConstraints),
    model: modelJson(p.model),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** An `InferenceService` (serving.kserve.io/v1beta1). */
export function inferenceService(scope: Construct, id: string, metadata: ObjectMeta, spec: InferenceServiceSpec): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: `${KSERVE_API_GROUP}/v1beta1`,
    kind: 'InferenceService',
    metadata: { ...metadata },
    spec: {
      predictor: predictorJson(spec.predictor),
      ...(spec.canary?.length ? { canary: spec.canary.map((c) => ({ trafficPercent: c.trafficPercent, predictor: predictorJson(c.predictor) })) } : {}),
    },
  });
}

/** A `ServingRuntime` (serving.kserve.io/v1alpha1). */
export function servingRuntime(scope: Construct, id: string, metadata: ObjectMeta, spec: ServingRuntimeSpec): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: `${KSERVE_API_GROUP}/v1alpha1`,
    kind: 'ServingRuntime',
    metadata: { ...metadata },
    spec: {
      supportedModelFormats: spec.supportedModelFormats.map((f) => ({ ...f })),
      protocolVersions: [...spec.protocolVersions],
      multiModel: spec.multiModel,
      containers: json(k8s.toJson_Container, spec.containers),
      ...(spec.volumes ? { volumes: json(k8s.toJson_Volume, spec.volumes) } : {}),
    },
  });
}
