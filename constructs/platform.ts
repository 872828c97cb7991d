import { Construct } from 'constructs';
import { Chart } from 'cdk8s';
import type { EnvironmentConfig } from '../environments';
import { podTemplates, selectorMatches, type KubeObject } from '../core/kube-objects';
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
import { Inference } from './inference';
import { recordDeviations } from './deviations';
import { TRACKING_ENV_ONLY } from './tracking';
import { TRACKING_CLIENT_ENV_ONLY } from './training';
import { MINIO_ENV_ONLY } from './minio';
import { OAUTH2_PROXY_ENV_ONLY_SECRETS } from './ingress';
import { CustomMetricsAdapter, needsCustomMetrics } from './metrics-adapter';

export interface MlopsPlatformProps {
  readonly env: EnvironmentConfig;
  /** Secrets source; default: the environment's `secrets.mode`. */
  readonly secretsMode?: PlatformContext['secretsMode'];
  /** Cloud stack outputs; default: none (GitOps). */
  readonly cloud?: PlatformContext['cloud'];
}

/**
 * Apply order of the parts (file `NN-<part>.k8s.yaml`): namespaces first, then what pods need before they
 * start (Secrets, RBAC, NetworkPolicies), the stores before the tracking server, the edge after it, and the
 * workloads that call the tracking server last. Parts not listed keep their construction order, after these.
 */
export const PART_ORDER = ['namespaces', 'secrets', 'rbac', 'network-policies', 'gpu', 'postgres', 'minio', 'tracking', 'ingress', 'training', 'metrics-adapter', 'inference'];

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

  constructor(scope: Construct, id: string, props: MlopsPlatformProps) {
    super(scope, id);
    const chart = (part: string) => {
      const c = new Chart(this, part, { disableResourceNameHashes: true });
      this.charts.push({ part, chart: c });
      return c;
    };
    const ctx: PlatformContext = { env: props.env, secretsMode: props.secretsMode ?? props.env.secrets.mode, cloud: props.cloud ?? {} };
    const { env } = ctx;
    const namespaces = new Namespaces(chart('namespaces'), 'namespaces', { env });
    if (ctx.secretsMode === 'external-secrets') new PlatformSecrets(chart('secrets'), 'secrets', { ctx });
    if (env.metadataStore.kind === 'in-cluster-postgres') new Postgres(chart('postgres'), 'postgres', { ctx });
    if (env.artifactStore.kind === 'minio') new Minio(chart('minio'), 'minio', { ctx });
    new TrackingServer(chart('tracking'), 'tracking', { ctx });
    new TrackingIngress(chart('ingress'), 'ingress', { ctx });

    new PlatformRbac(chart('rbac'), 'rbac', { env });
    if (env.gpu.pools.length > 0) new GpuDevicePlugin(chart('gpu'), 'gpu', { env });
    new Training(chart('training'), 'training', { ctx });
    if (env.inference.models.length > 0) new Inference(chart('inference'), 'inference', { ctx });
    if (needsCustomMetrics(env)) new CustomMetricsAdapter(chart('metrics-adapter'), 'metrics-adapter', { env });

    // ---- Workload charts (gpu, rbac, training, inference) go above this line. ----

    // Last: the NetworkPolicies open flows only for the pods the charts above actually run.
    const objects = this.charts.flatMap(({ chart: c }) => c.toJson() as KubeObject[]);
    const runsPods = (namespace: string, selector: Record<string, string>) =>
      podTemplates(objects).some(({ tpl }) => tpl.namespace === namespace && selectorMatches({ matchLabels: selector }, tpl.labels));
    for (const ns of namespaces.names) if (!podTemplates(objects).some(({ tpl }) => tpl.namespace === ns)) namespaces.markEmpty(ns);
    new PlatformNetworkPolicies(chart('network-policies'), 'network-policies', {
      ctx,
      trainingPods: runsPods(env.namespaces.training, TRAINING_POD_SELECTOR),
      inferencePods: runsPods(env.namespaces.serving, INFERENCE_POD_SELECTOR),
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
