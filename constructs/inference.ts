import { Construct } from 'constructs';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { EnvironmentConfig, InferenceModel } from '../environments';
import {
  customObject,
  emptyDir,
  findGpuPool,
  gpuScheduling,
  imageVersion,
  INFERENCE_GRPC_PORT,
  INFERENCE_PORT,
  k8s,
  OAUTH2_PROXY_NAME,
  resources,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  RUNTIME_UID,
  selectorLabels,
  serviceAccount,
  standardLabels,
  type PlatformContext,
} from './common';
import { spreadTopologyKeys } from './platform-pods';
import { ServingWorkload } from './serving-workload';
import { edgeScheme, IRSA_ANNOTATION, type IdentityBinding, type PodGroup } from './facts';
import { ingressTls, OAUTH2_PROXY_PORT } from './ingress';
import { PLATFORM_SECRETS } from './secrets';
import { mebibytes, TRACKING_CLIENT_SECRET } from './training';
import { KServeInference, kserveBackend } from './inference-kserve';
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
  trackName,
  tuningArgs,
  type Track,
} from './inference-server';

export {
  INFERENCE_COMPONENT,
  INFERENCE_SERVICE_ACCOUNT,
  MODEL_CACHE_DIR,
  MODEL_LABEL,
  modelUri,
  TRACK_LABEL,
  trackName,
  workerCount,
  type Track,
} from './inference-server';

/**
 * Per-pod custom metric for the HPA's requests-in-flight target, served by prometheus-adapter. By
 * Little's law the mean number of requests in flight is the rate of the latency histogram's sum, so
 * the adapter rule is: seriesQuery `mlops_inference_request_duration_seconds_sum{namespace!="",pod!=""}`,
 * name `^(.*)_request_duration_seconds_sum$` → `${1}_requests_in_flight`, metricsQuery
 * `sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)`.
 */
export const REQUESTS_IN_FLIGHT_METRIC = 'mlops_inference_requests_in_flight';
/** Name of the serving Ingress that routes `/<model>/…` on the serving host. */
export const SERVING_INGRESS = 'inference';
/** The TLS Secret cert-manager fills for the serving host (or the environment's existing Secret, which must then exist in the serving namespace too). */
export const SERVING_TLS_SECRET = 'inference-tls';

/** The serving host: `ingress.servingHost`, else `serving.<ingress.host>`. */
export function servingHost(env: EnvironmentConfig): string {
  return env.ingress.servingHost ?? `serving.${env.ingress.host}`;
}

/** The path prefix of a model on the serving host: `/<model>/…` reaches the server's `/…`. */
export function modelPath(model: InferenceModel): string {
  return `${modelUrlPath(model)}(/|$)(.*)`;
}

/** The URL path a model is served under: `/<model>`. */
export function modelUrlPath(model: InferenceModel): string {
  return `/${model.name}`;
}

export interface ModelTrackProps {
  readonly ctx: PlatformContext;
  readonly model: InferenceModel;
  readonly track: Track;
  /** Secret with the tracking login; null when the tracking server runs without auth. @default "tracking-client" */
  readonly trackingCredentialsSecret?: string | null;
  /** Size limit of the model cache emptyDir. @default "1Gi" */
  readonly modelCacheSize?: string;
  /** Seconds for in-flight requests to drain on SIGTERM. @default 30 */
  readonly terminationGracePeriodSeconds?: number;
}

/**
 * One track (stable or canary) of a served model: Deployment, ClusterIP Service, HPA and PDB. The
 * Deployment runs `mlops serve -m models:/<name>@<alias>` as uid 10001 with a read-only root
 * filesystem (model cache and /tmp on emptyDirs), probes the Open Inference Protocol health
 * endpoints, spreads over nodes and zones, and lands on its GPU pool (tolerations, node selector,
 * one `nvidia.com/gpu`) when the model names one. Replicas belong to the HPA.
 */
export class ModelTrack extends Construct {
  readonly name: string;
  /** The track's pods. */
  readonly pods: PodGroup;
  readonly podLabels: Record<string, string>;
  readonly serviceLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: ModelTrackProps) {
    super(scope, id);
    const { ctx, model, track } = props;
    const { env } = ctx;
    const ns = env.namespaces.serving;
    const name = (this.name = trackName(model, track));
    const image = env.inference.image;
    const extraLabels = { [MODEL_LABEL]: model.name, [TRACK_LABEL]: track };
    const labels = { ...standardLabels(env, name, INFERENCE_COMPONENT, imageVersion(image)), ...extraLabels };
    this.podLabels = labels;
    this.serviceLabels = labels;
    const pool = findGpuPool(env, model.gpuPool);
    const scheduling = pool ? gpuScheduling(pool) : undefined;
    const cacheSize = props.modelCacheSize ?? '1Gi';

    // The model cache and /tmp are emptyDirs on the node's disk: the ephemeral-storage limit covers
    // the cache plus 1 GiB for /tmp and logs.
    const res = resources(model.resources, pool ? { 'nvidia.com/gpu': '1' } : {}, { request: '256Mi', limit: `${mebibytes(cacheSize) + 1024}Mi` });
    const credentials = props.trackingCredentialsSecret === undefined ? TRACKING_CLIENT_SECRET : props.trackingCredentialsSecret;

    const workload = new ServingWorkload(this, 'server', {
      name,
      namespace: ns,
      labels,
      selector: selectorLabels(env, name),
      revisionHistoryLimit: 5,
      serviceAccountName: INFERENCE_SERVICE_ACCOUNT,
      securityContext: restrictedPodSecurity(RUNTIME_UID),
      terminationGracePeriodSeconds: props.terminationGracePeriodSeconds ?? 30,
      ...(scheduling ? { tolerations: scheduling.tolerations, nodeSelector: scheduling.nodeSelector } : {}),
      // Each rollout's pods spread on their own (the old ReplicaSet's pods do not skew the new one's).
      spreadTopologyKeys: spreadTopologyKeys(env),
      spreadPerRevision: true,
      containers: [serverContainer(env, model, track, credentials, res)],
      volumes: [emptyDir('model-cache', cacheSize), emptyDir('tmp', '256Mi')],
    });
    workload.exposeViaService({
      ports: [
        { name: 'http', port: INFERENCE_PORT, protocol: 'TCP' },
        { name: 'grpc', port: INFERENCE_GRPC_PORT, protocol: 'TCP' },
      ],
    });

    const a = model.autoscaling;
    const [minReplicas, maxReplicas] = track === 'stable' ? [a.minReplicas, a.maxReplicas] : canaryReplicaRange(model);
    workload.autoscale({
      minReplicas,
      maxReplicas,
      targetCPUUtilization: a.targetCPUUtilization,
      metrics:
        a.targetRequestsInFlight === undefined
          ? []
          : [
              {
                type: 'Pods',
                pods: {
                  metric: { name: REQUESTS_IN_FLIGHT_METRIC },
                  target: { type: 'AverageValue', averageValue: k8s.Quantity.fromString(String(a.targetRequestsInFlight)) },
                },
              },
            ],
      // Scale up at once, down slowly: a brief lull must not drop capacity a burst needs again.
      scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
      // One replica is the environment's explicit choice (a canary's default size, a local cluster).
      singleReplicaReason: track === 'canary' ? 'canary.replicas in the environment' : 'autoscaling.minReplicas in the environment',
    });
    workload.limitDisruptions();
    this.pods = workload.pods;
  }
}

/** The inference server container of one track: `mlops serve` on the track's alias, model cache on an emptyDir. */
function serverContainer(
  env: EnvironmentConfig,
  model: InferenceModel,
  track: Track,
  credentials: string | null,
  res: k8s.ResourceRequirements,
): k8s.Container {
  return {
    name: 'server',
    image: env.inference.image,
    command: ['mlops', 'serve', ...modelArgs(model, track), ...listenArgs(), ...tuningArgs(model), ...driftArgs(env)],
    ports: serverPorts(),
    env: serverEnv(env, credentials),
    resources: res,
    securityContext: restrictedContainerSecurity(),
    ...serverProbes(),
    volumeMounts: serverMounts(),
  };
}

/** Canary replicas: its own minimum, growing with its share of the stable track's maximum. */
export function canaryReplicaRange(model: InferenceModel): [number, number] {
  if (!model.canary) throw new Error(`model "${model.name}" has no canary`);
  const min = model.canary.replicas;
  return [min, Math.max(min, Math.ceil((model.autoscaling.maxReplicas * model.canary.weight) / 100))];
}

/** nginx annotations putting the environment's edge auth in front of the serving host. */
export function servingAuthAnnotations(env: EnvironmentConfig): Record<string, string> {
  const auth = env.ingress.auth;
  if (auth.mode === 'basic-auth') {
    return {
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      // nginx reads the htpasswd Secret from the Ingress's own namespace.
      'nginx.ingress.kubernetes.io/auth-secret': PLATFORM_SECRETS.basicAuthServing.name,
      'nginx.ingress.kubernetes.io/auth-secret-type': 'auth-file',
      'nginx.ingress.kubernetes.io/auth-realm': auth.realm,
    };
  }
  // OIDC: nginx asks the platform's oauth2-proxy in-cluster (no round trip through the load balancer)
  // whether the request carries a valid session or bearer JWT; browsers without one sign in on the
  // tracking host.
  const scheme = env.ingress.tls.mode === 'none' ? 'http' : 'https';
  return {
    'nginx.ingress.kubernetes.io/auth-url': `http://${OAUTH2_PROXY_NAME}.${env.namespaces.platform}.svc.cluster.local:${OAUTH2_PROXY_PORT}/oauth2/auth`,
    'nginx.ingress.kubernetes.io/auth-signin': `${scheme}://${env.ingress.host}/oauth2/start?rd=$scheme://$host$escaped_request_uri`,
  };
}

/** The Service (and its port) a model track is reached on. */
interface Backend {
  readonly service: string;
  readonly port: number;
}

/** One rule on the serving host with a path per (model, backend) pair. */
function ingressRule(host: string, routes: Array<{ model: InferenceModel; backend: Backend }>): k8s.IngressRule {
  return {
    host,
    http: {
      paths: routes.map(({ model, backend }) => ({
        path: modelPath(model),
        pathType: 'ImplementationSpecific',
        backend: { service: { name: backend.service, port: { number: backend.port } } },
      })),
    },
  };
}

/** The platform's own Service of a track: the track's name, the server's REST port. */
function ownBackend(model: InferenceModel, track: Track): Backend {
  return { service: trackName(model, track), port: INFERENCE_PORT };
}

export interface InferenceProps {
  readonly ctx: PlatformContext;
  /** Secret with the tracking login; null when the tracking server runs without auth. @default "tracking-client" */
  readonly trackingCredentialsSecret?: string | null;
  /** Size limit of each pod's model cache. @default "1Gi" */
  readonly modelCacheSize?: string;
}

/**
 * Serving for every model of the environment: the `inference` ServiceAccount, a stable track per
 * model (and a canary track when the model has one), a ServiceMonitor per model when the environment
 * has monitoring, and the serving Ingress routing `https://<servingHost>/<model>/…` to each model
 * behind the edge auth. A canary gets its own nginx canary Ingress on the same host and path with
 * `canary-weight`, so that share of the model's requests reaches the canary Service. With
 * `inference.delivery: kserve` the tracks are KServe's (constructs/inference-kserve.ts) instead of
 * ModelTracks, and the Ingresses route to KServe's predictor Services.
 */
export class Inference extends Construct {
  readonly tracks: ModelTrack[] = [];
  /** The cloud identity the `inference` ServiceAccount is bound to (IRSA), if any. */
  readonly identity?: IdentityBinding;
  /** Model name → its public URL, `http(s)://<servingHost>/<model>`. */
  readonly endpoints: Readonly<Record<string, string>>;

  /** The pods of every model track (KServe's predictor pods under KServe delivery). */
  get pods(): readonly PodGroup[] {
    return [...this.tracks.map((t) => t.pods), ...(this.kserve?.pods ?? [])];
  }
  /** The ServingRuntime and InferenceServices, under `inference.delivery: kserve`. */
  readonly kserve?: KServeInference;

  constructor(scope: Construct, id: string, props: InferenceProps) {
    super(scope, id);
    const { ctx } = props;
    const { env } = ctx;
    const models = env.inference.models;
    if (models.length === 0) throw new Error(`environment "${env.name}": inference.models is empty; there is nothing to serve`);
    const ns = env.namespaces.serving;
    const roleArn = ctx.cloud.inferenceRoleArn;
    serviceAccount(this, env, INFERENCE_SERVICE_ACCOUNT, ns, INFERENCE_COMPONENT, roleArn ? { [IRSA_ANNOTATION]: roleArn } : undefined);
    if (roleArn) this.identity = { identity: 'inference', namespace: ns, serviceAccount: INFERENCE_SERVICE_ACCOUNT, roleArn };

    const host = servingHost(env);
    this.endpoints = Object.fromEntries(models.map((m) => [m.name, `${edgeScheme(env)}://${host}${modelUrlPath(m)}`]));
    // cert-manager's annotation goes on the main Ingress only: two Ingresses owning one Certificate would fight.
    const { tls, annotations: issuer } = ingressTls(env, [host], SERVING_TLS_SECRET);
    const routing = {
      'nginx.ingress.kubernetes.io/use-regex': 'true',
      'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
      ...(tls.length ? { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' } : {}),
      ...servingAuthAnnotations(env),
    };

    const kserve = env.inference.delivery === 'kserve';
    if (kserve) this.kserve = new KServeInference(this, 'kserve', props);
    const backend = kserve ? kserveBackend : ownBackend;
    for (const model of models) {
      const common = { ctx, model, trackingCredentialsSecret: props.trackingCredentialsSecret, modelCacheSize: props.modelCacheSize };
      if (!kserve) this.tracks.push(new ModelTrack(this, `${model.name}-stable`, { ...common, track: 'stable' }));
      if (model.canary) {
        if (!kserve) this.tracks.push(new ModelTrack(this, `${model.name}-canary`, { ...common, track: 'canary' }));
        const canaryName = trackName(model, 'canary');
        new k8s.KubeIngress(this, `${model.name}-canary-ingress`, {
          metadata: {
            name: canaryName,
            namespace: ns,
            labels: standardLabels(env, canaryName, INFERENCE_COMPONENT),
            annotations: {
              ...routing,
              'nginx.ingress.kubernetes.io/canary': 'true',
              'nginx.ingress.kubernetes.io/canary-weight': String(model.canary.weight),
            },
          },
          spec: {
            ingressClassName: env.ingress.className,
            ...(tls.length ? { tls } : {}),
            rules: [ingressRule(host, [{ model, backend: backend(model, 'canary') }])],
          },
        });
      }
      if (env.monitoring.serviceMonitors) this.serviceMonitor(env, model);
    }

    new k8s.KubeIngress(this, 'ingress', {
      metadata: {
        name: SERVING_INGRESS,
        namespace: ns,
        labels: standardLabels(env, SERVING_INGRESS, INFERENCE_COMPONENT),
        annotations: { ...routing, ...issuer },
      },
      spec: {
        ingressClassName: env.ingress.className,
        ...(tls.length ? { tls } : {}),
        rules: [
          ingressRule(
            host,
            models.map((m) => ({ model: m, backend: backend(m, 'stable') })),
          ),
        ],
      },
    });
  }

  /** A ServiceMonitor scraping every Service of the model's tracks (they carry its model label). */
  private serviceMonitor(env: EnvironmentConfig, model: InferenceModel): void {
    const spec: IServiceMonitor['spec'] = {
      selector: { matchLabels: { [MODEL_LABEL]: model.name, 'app.kubernetes.io/instance': env.name, 'app.kubernetes.io/component': INFERENCE_COMPONENT } },
      endpoints: [{ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }],
    };
    customObject(this, `${model.name}-monitor`, {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: model.name, namespace: env.namespaces.serving, labels: standardLabels(env, model.name, INFERENCE_COMPONENT) },
      spec: spec,
    });
  }
}
