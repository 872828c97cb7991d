/**
 * The platform's cdk8s constructs: the whole platform (`MlopsPlatform`), each part on its own, the
 * building blocks they share, the typed facts they expose, and the extension hook for a team's own parts.
 *
 * @module constructs
 */
export { MlopsPlatform, PART_ORDER, type MlopsPlatformProps } from '../constructs/platform';
export type { ConstructExtension, ExtensionContext, PlatformFactsView } from '../constructs/extensions';
export {
  IRSA_ANNOTATION,
  edgeScheme,
  podGroup,
  runsPods,
  type IdentityBinding,
  type PlatformEndpoints,
  type PodGroup,
  type WorkloadIdentity,
} from '../constructs/facts';
export {
  BLUEPRINT_VERSION,
  DEFAULT_EPHEMERAL_STORAGE,
  INFERENCE_PORT,
  NAMESPACE_NAME_LABEL,
  RUNTIME_UID,
  TRACKING_NAME,
  TRACKING_PORT,
  emptyDir,
  imageVersion,
  k8s,
  namespacePeer,
  resources,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  secretEnv,
  secretFiles,
  selectorLabels,
  serviceAccount,
  standardLabels,
  tcp,
  trackingUrl,
  type CloudOutputs,
  type PlatformContext,
} from '../constructs/common';
export { Namespaces, type NamespacesProps } from '../constructs/namespaces';
export { PlatformSecrets, type PlatformSecretsProps } from '../constructs/secrets';
export { Postgres, type PostgresProps } from '../constructs/postgres';
export { Minio, type MinioProps } from '../constructs/minio';
export { TrackingServer, type TrackingServerProps } from '../constructs/tracking';
export { TrackingIngress, OAuth2Proxy, type TrackingIngressProps, type OAuth2ProxyProps } from '../constructs/ingress';
export { PlatformNetworkPolicies, type PlatformNetworkPoliciesProps } from '../constructs/network-policies';
export { PlatformRbac, type PlatformRbacProps } from '../constructs/rbac';
export { GpuDevicePlugin, type GpuDevicePluginProps } from '../constructs/gpu';
export { Training, TrainingJob, TrainingCronJob, type TrainingProps, type TrainingWorkloadProps, type TrainingCronJobProps } from '../constructs/training';
export { Inference, ModelTrack, type InferenceProps, type ModelTrackProps, type Track } from '../constructs/inference';
export { CustomMetricsAdapter, type CustomMetricsAdapterProps } from '../constructs/metrics-adapter';
export { ArgoCdApplication, type ArgoCdApplicationProps } from '../constructs/argocd';
export {
  ServingWorkload,
  StatefulWorkload,
  Workload,
  type ServingWorkloadProps,
  type StatefulWorkloadProps,
  type WorkloadProps,
} from '../constructs/serving-workload';
