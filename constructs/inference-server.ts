import type { EnvironmentConfig, InferenceModel } from '../environments';
import { INFERENCE_GRPC_PORT, INFERENCE_PORT, k8s } from './common';
import { trackingClientEnv } from './training';

/*
 * The inference server's container, as every delivery runs it (the platform's own Deployments and KServe's
 * ServingRuntime alike): `mlops serve` arguments, environment, ports and Open Inference Protocol probes.
 */

/** ServiceAccount of every inference pod (the IRSA role, if any, is bound to exactly this name). */
export const INFERENCE_SERVICE_ACCOUNT = 'inference';
/** Pod label value the NetworkPolicies select inference pods by (`app.kubernetes.io/component`). */
export const INFERENCE_COMPONENT = 'inference';
/** Label naming the model (environment `inference.models[].name`) on pods, Services and monitors. */
export const MODEL_LABEL = 'mlops-blueprint.io/model';
/** Label telling the stable Deployment's pods from the canary's. */
export const TRACK_LABEL = 'mlops-blueprint.io/track';
/** Where the inference server caches downloaded model artifacts (an emptyDir: the root FS is read-only). */
export const MODEL_CACHE_DIR = '/var/cache/mlops';

export type Track = 'stable' | 'canary';

/** Name of a model's Deployment/Service/HPA/PDB for one track. */
export function trackName(model: InferenceModel, track: Track): string {
  return track === 'stable' ? model.name : `${model.name}-canary`;
}

/** The registry URI a track serves: the stable alias, or the canary's own alias. */
export function modelUri(model: InferenceModel, track: Track): string {
  const alias = track === 'stable' ? model.alias : model.canary?.alias;
  if (!alias) throw new Error(`model "${model.name}" has no canary`);
  return `models:/${model.registeredModel}@${alias}`;
}

/** Inference worker threads: one per requested CPU core (at least one), not the node's core count. */
export function workerCount(cpuRequest: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(cpuRequest);
  if (!m) return 1;
  const cores = parseFloat(m[1]) / (m[2] ? 1000 : 1);
  return Math.max(1, Math.ceil(cores));
}

/** What a track serves and answers to: both tracks answer to the model's name, so v2 URLs do not depend on which one served. */
export function modelArgs(model: InferenceModel, track: Track): string[] {
  return ['-m', modelUri(model, track), '--name', model.name];
}

/** Where the server listens: REST on INFERENCE_PORT, gRPC on INFERENCE_GRPC_PORT, every interface. */
export function listenArgs(): string[] {
  return ['--host', '0.0.0.0', '--port', String(INFERENCE_PORT), '--grpc-port', String(INFERENCE_GRPC_PORT)];
}

/** Where a model's sessions run (threads, or one event loop per core: `sessions`), and its batching. */
export function tuningArgs(model: InferenceModel): string[] {
  const { maxBatchSize, maxBatchBytes, maxBatchDelayMs, maxQueue } = model.batching;
  const cores = String(workerCount(model.resources.requests.cpu));
  return [
    ...(model.sessions === 'event-loops' ? ['--listeners', cores, '--workers', '0'] : ['--workers', cores]),
    '--max-batch-size',
    String(maxBatchSize),
    '--max-batch-bytes',
    String(maxBatchBytes),
    '--max-batch-delay-ms',
    String(maxBatchDelayMs),
    '--max-queue',
    String(maxQueue),
  ];
}

/** The environment's drift alarm threshold, which the server's PSI gauges compare against. */
export function driftArgs(env: EnvironmentConfig): string[] {
  return ['--drift-psi-threshold', String(env.monitoring.driftPsiThreshold)];
}

/** The server's environment: the tracking login, the model cache, and a writable /tmp as HOME. */
export function serverEnv(env: EnvironmentConfig, credentials: string | null): k8s.EnvVar[] {
  return [
    ...trackingClientEnv(env, credentials),
    { name: 'MLOPS_MODEL_CACHE', value: MODEL_CACHE_DIR },
    { name: 'TMPDIR', value: '/tmp' },
    { name: 'HOME', value: '/tmp' },
  ];
}

/** The server's named ports, REST and gRPC. */
export function serverPorts(): k8s.ContainerPort[] {
  return [
    { name: 'http', containerPort: INFERENCE_PORT, protocol: 'TCP' },
    { name: 'grpc', containerPort: INFERENCE_GRPC_PORT, protocol: 'TCP' },
  ];
}

/** Startup, liveness and readiness probes on the Open Inference Protocol health endpoints. */
export function serverProbes(): Pick<k8s.Container, 'startupProbe' | 'livenessProbe' | 'readinessProbe'> {
  const http = k8s.IntOrString.fromString('http');
  return {
    // Startup: the first model download may take a while; liveness only after it.
    startupProbe: { httpGet: { path: '/v2/health/live', port: http }, periodSeconds: 5, failureThreshold: 60 },
    // Liveness through gRPC health (grpc.health.v1): a dead gRPC listener restarts the pod as a dead HTTP one would.
    livenessProbe: { grpc: { port: INFERENCE_GRPC_PORT }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/v2/health/ready', port: http }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
  };
}

/** The mounts of the model cache and /tmp emptyDirs (the root filesystem is read-only). */
export function serverMounts(): k8s.VolumeMount[] {
  return [
    { name: 'model-cache', mountPath: MODEL_CACHE_DIR },
    { name: 'tmp', mountPath: '/tmp' },
  ];
}
