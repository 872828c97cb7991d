import { Construct } from 'constructs';
import { Chart } from 'cdk8s';
import type { EnvironmentConfig } from '../environments';
import { Namespaces } from './namespaces';
import { PlatformSecrets } from './secrets';
import type { PlatformContext } from './common';
import { Postgres } from './postgres';
import { Minio } from './minio';
import { TrackingServer } from './tracking';
import { TrackingIngress } from './ingress';
import { INFERENCE_POD_SELECTOR, PlatformNetworkPolicies, TRAINING_POD_SELECTOR } from './network-policies';
import { ArgoCdApplication } from './argocd';
import { GpuDevicePlugin } from './gpu';
import { PlatformRbac } from './rbac';
import { Training } from './training';
import { orchestratedTraining } from './training-orchestrated';
import { Inference } from './inference';
import { Pipelines } from './pipelines';
import { hasPipelines } from './secrets';
import { recordDeviations } from './deviations';
import { TRACKING_ENV_ONLY } from './tracking';
import { TRACKING_CLIENT_ENV_ONLY } from './training';
import { MINIO_ENV_ONLY } from './minio';
import { OAUTH2_PROXY_ENV_ONLY_SECRETS } from './ingress';
import { CustomMetricsAdapter, needsCustomMetrics } from './metrics-adapter';
import { PlatformAlerts } from './monitoring/alerts';
import { PlatformDashboards } from './monitoring/dashboard-configmaps';
import { runsPods, type IdentityBinding, type PlatformEndpoints, type PodGroup } from './facts';
import { buildExtensions, type ConstructExtension } from './extensions';

export interface MlopsPlatformProps {
  readonly env: EnvironmentConfig;
  /** Secrets source; default: the environment's `secrets.mode`. */
  readonly secretsMode?: PlatformContext['secretsMode'];
  /** Cloud stack outputs; default: none (GitOps). */
  readonly cloud?: PlatformContext['cloud'];
  /** A team's own parts, each in a chart of its own after the built-in parts (constructs/extensions.ts). @default none */
  readonly extensions?: readonly ConstructExtension[];
}

/**
 * Apply order of the parts (file `NN-<part>.k8s.yaml`): namespaces first, then what pods need before they
 * start (Secrets, RBAC, NetworkPolicies), the stores before the tracking server, the edge after it, and the
 * workloads that call the tracking server last. Parts not listed keep their construction order, after these.
 */
export const PART_ORDER = [
  'namespaces',
  'secrets',
  'rbac',
  'network-policies',
  'gpu',
  'postgres',
  'minio',
  'tracking',
  'ingress',
  'training',
  'pipelines',
  'metrics-adapter',
  'inference',
  'monitoring',
];

/**
 * The whole platform for one environment, as one cdk8s Chart per part (so GitOps output is one file
 * per part, applied in PART_ORDER). Names are set explicitly and hash suffixes are disabled, so a
 * GitOps diff never churns on generated names.
 */
export class MlopsPlatform extends Construct {
  /** Charts in apply order: namespaces first. */
  readonly charts: Array<{ part: string; chart: Chart }> = [];
  /** The Argo CD Application for this environment (when it has `gitops` settings): written apart from the parts. */
  readonly argocd?: Chart;
  /** Every pod the parts run, by namespace and template labels: what the NetworkPolicies are decided from. */
  readonly pods: readonly PodGroup[];
  /** The ServiceAccounts bound to cloud identities (IRSA), for the cloud stack's role trust policies. */
  readonly identities: readonly IdentityBinding[];
  /** Public URLs of the tracking server and of each model. */
  readonly endpoints: PlatformEndpoints;

  constructor(scope: Construct, id: string, props: MlopsPlatformProps) {
    super(scope, id);
    const chart = (part: string) => {
      const c = new Chart(this, part, { disableResourceNameHashes: true });
      this.charts.push({ part, chart: c });
      return c;
    };
    const ctx: PlatformContext = { env: props.env, secretsMode: props.secretsMode ?? props.env.secrets.mode, cloud: props.cloud ?? {} };
    const { env } = ctx;
    const namespaces = new Namespaces(chart('namespaces'), 'namespaces', { ...env.parts?.namespaces, env });
    if (ctx.secretsMode === 'external-secrets') new PlatformSecrets(chart('secrets'), 'secrets', { ctx });
    const postgres = env.metadataStore.kind === 'in-cluster-postgres' ? new Postgres(chart('postgres'), 'postgres', { ctx }) : undefined;
    const minio = env.artifactStore.kind === 'minio' ? new Minio(chart('minio'), 'minio', { ...env.parts?.minio, ctx }) : undefined;
    const tracking = new TrackingServer(chart('tracking'), 'tracking', { ctx });
    const edge = new TrackingIngress(chart('ingress'), 'ingress', { ...env.parts?.ingress, ctx });

    new PlatformRbac(chart('rbac'), 'rbac', { env });
    const gpu = env.gpu.pools.length > 0 ? new GpuDevicePlugin(chart('gpu'), 'gpu', { ...env.parts?.gpu, env }) : undefined;
    const trainingChart = chart('training');
    const training = new Training(trainingChart, 'training', { ctx });
    const orchestrated = orchestratedTraining(trainingChart, { ctx });
    const pipelines = hasPipelines(env) ? new Pipelines(chart('pipelines'), 'pipelines', { ctx }) : undefined;
    const inference = env.inference.models.length > 0 ? new Inference(chart('inference'), 'inference', { ...env.parts?.inference, ctx }) : undefined;
    if (needsCustomMetrics(env)) new CustomMetricsAdapter(chart('metrics-adapter'), 'metrics-adapter', { env });
    const monitoring = env.monitoring.alerts.enabled || env.monitoring.dashboards.enabled ? chart('monitoring') : undefined;
    if (monitoring && env.monitoring.alerts.enabled) new PlatformAlerts(monitoring, 'alerts', { env });
    if (monitoring && env.monitoring.dashboards.enabled) new PlatformDashboards(monitoring, 'dashboards', { env });

    // ---- Workload charts (gpu, rbac, training, inference) go above this line, their pods below. ----
    const parts = [postgres, minio, tracking, edge, gpu, training, pipelines, inference];
    const builtInPods = [...parts.flatMap((p) => p?.pods ?? []), ...orchestrated];
    this.identities = [tracking.identity, training.identity, pipelines?.identity, inference?.identity].flatMap((i) => (i ? [i] : []));
    this.endpoints = { tracking: edge.url, inference: inference?.endpoints ?? {} };
    // A team's parts see the built-in parts' facts; the pods they report join the platform's.
    const facts = { pods: builtInPods, identities: this.identities, endpoints: this.endpoints };
    this.pods = [...builtInPods, ...buildExtensions(props.extensions ?? [], { ctx, facts, newChart: chart }, PART_ORDER)];

    // Last: the NetworkPolicies open flows only for the pods the charts above actually run.
    for (const ns of namespaces.names) if (!runsPods(this.pods, ns)) namespaces.markEmpty(ns);
    new PlatformNetworkPolicies(chart('network-policies'), 'network-policies', {
      ctx,
      trainingPods: runsPods(this.pods, env.namespaces.training, TRAINING_POD_SELECTOR),
      inferencePods: runsPods(this.pods, env.namespaces.serving, INFERENCE_POD_SELECTOR),
      pipelinePods: !!pipelines,
    });

    // Every workload records the platform's deliberate departures from scanner defaults, with reasons.
    recordDeviations(this, { ...TRACKING_ENV_ONLY, ...TRACKING_CLIENT_ENV_ONLY, ...MINIO_ENV_ONLY, ...OAUTH2_PROXY_ENV_ONLY_SECRETS });

    const rank = (part: string) => (PART_ORDER.includes(part) ? PART_ORDER.indexOf(part) : PART_ORDER.length);
    this.charts.sort((a, b) => rank(a.part) - rank(b.part));

    if (env.gitops) {
      this.argocd = new Chart(this, 'argocd', { disableResourceNameHashes: true });
      new ArgoCdApplication(this.argocd, 'application', { ctx });
    }
  }
}
