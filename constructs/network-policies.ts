import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import { EXCEPTIONS_ANNOTATION, KUBE_SCORE_IGNORE } from '../core/annotations';
import {
  INFERENCE_GRPC_PORT,
  INFERENCE_PORT,
  k8s,
  MINIO_NAME,
  namespacePeer,
  OAUTH2_PROXY_NAME,
  POSTGRES_NAME,
  selectorLabels,
  standardLabels,
  tcp,
  TRACKING_NAME,
  TRACKING_PORT,
  type PlatformContext,
} from './common';
import { OAUTH2_PROXY_METRICS_PORT, OAUTH2_PROXY_PORT } from './ingress';
import { MINIO_BUCKET_JOB, MINIO_PORT } from './minio';
import { POSTGRES_PORT } from './postgres';
import { TRACKING_MIGRATE_NAME } from './tracking';
import { KSERVE_COMPONENT_LABEL } from './inference-kserve-types';

/** Pod labels the training and inference workloads carry; their NetworkPolicies select on them. */
export const TRAINING_POD_SELECTOR = { 'app.kubernetes.io/component': 'training' } as const;
export const INFERENCE_POD_SELECTOR = { 'app.kubernetes.io/component': 'inference' } as const;
/**
 * The inference pods under `inference.delivery: kserve`: KServe's predictor pods (KServe labels them
 * `component: predictor`, beside `serving.kserve.io/inferenceservice: <name>`) carrying the platform's
 * component label, which KServe copies from the InferenceService onto them.
 */
export const KSERVE_PREDICTOR_POD_SELECTOR = { ...INFERENCE_POD_SELECTOR, [KSERVE_COMPONENT_LABEL]: 'predictor' } as const;

/** The labels the environment's inference pods are selected by, for its delivery. */
export function inferencePodSelector(env: EnvironmentConfig): Record<string, string> {
  return env.inference.delivery === 'kserve' ? { ...KSERVE_PREDICTOR_POD_SELECTOR } : { ...INFERENCE_POD_SELECTOR };
}
/** Label cert-manager puts on its ACME HTTP-01 solver pods, and their port. */
const ACME_SOLVER_SELECTOR = { 'acme.cert-manager.io/http01-solver': 'true' };
const ACME_SOLVER_PORT = 8089;

/** Private IPv4 ranges: "outside the cluster" for egress to cloud services when the VPC CIDR is unknown. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

export interface PlatformNetworkPoliciesProps {
  readonly ctx: PlatformContext;
  /** Training pods (`app.kubernetes.io/component: training`) exist in the training namespace. @default false */
  readonly trainingPods?: boolean;
  /** Inference pods (`app.kubernetes.io/component: inference`) exist in the serving namespace. @default false */
  readonly inferencePods?: boolean;
  /** Pipeline step pods (label `mlops-blueprint.io/pipeline`) in the training namespace store artifacts in MinIO. @default false */
  readonly pipelinePods?: boolean;
}

/** Label of Argo step pods (constructs/pipelines); MinIO admits them when they exist. */
export const PIPELINE_POD_LABEL = 'mlops-blueprint.io/pipeline';

/** Egress to an S3 endpoint (HTTPS) anywhere outside the cluster network. */
export function s3Egress(env: EnvironmentConfig): k8s.NetworkPolicyEgressRule {
  const except = env.cluster.kind === 'eks' ? [env.cluster.vpcCidr] : PRIVATE_RANGES;
  return { to: [{ ipBlock: { cidr: '0.0.0.0/0', except } }], ports: [tcp(443)] };
}

/** Egress from the tracking server (and its migration Job) to the metadata store. */
function databaseEgress(env: EnvironmentConfig): k8s.NetworkPolicyEgressRule {
  const ms = env.metadataStore;
  if (ms.kind === 'in-cluster-postgres') return { to: [{ podSelector: { matchLabels: selectorLabels(env, POSTGRES_NAME) } }], ports: [tcp(POSTGRES_PORT)] };
  // RDS lives in the VPC (or the CIDR the environment names); elsewhere only the port is known.
  const cidr = ms.cidr ?? (env.cluster.kind === 'eks' ? env.cluster.vpcCidr : '0.0.0.0/0');
  return { to: [{ ipBlock: { cidr } }], ports: [tcp(ms.port)] };
}

type PolicyRules = { ingress?: k8s.NetworkPolicyIngressRule[]; egress?: k8s.NetworkPolicyEgressRule[] };

/** The peers the policies name, resolved once for an environment. */
interface Peers {
  readonly controller: k8s.NetworkPolicyPeer;
  readonly prometheus: k8s.NetworkPolicyPeer;
  readonly pods: (name: string) => k8s.NetworkPolicyPeer;
  readonly trackingPods: k8s.NetworkPolicyPeer;
}

/**
 * The platform's explicit flows on top of each namespace's default deny (which also allows DNS):
 *
 * - ingress controller → tracking:5000 (basic auth) or → oauth2-proxy:4180 → tracking:5000 (OIDC)
 * - training pods and inference pods → tracking:5000 (runs, registry, model download)
 * - tracking and its migration Job → PostgreSQL:5432 (or RDS); tracking → MinIO:9000 (or S3:443)
 * - bucket Job → MinIO:9000; ingress controller → inference:8080; Prometheus → every metrics port
 *
 * Nothing else: no pod may open other connections, and nothing else reaches them.
 */
export class PlatformNetworkPolicies extends Construct {
  private readonly env: PlatformContext['env'];

  constructor(scope: Construct, id: string, props: PlatformNetworkPoliciesProps) {
    super(scope, id);
    const { env } = props.ctx;
    this.env = env;
    const peers: Peers = {
      controller: namespacePeer(env.ingress.controllerNamespace),
      prometheus: namespacePeer(env.monitoring.prometheusNamespace, env.monitoring.prometheusPodLabels),
      pods: (name) => ({ podSelector: { matchLabels: selectorLabels(env, name) } }),
      trackingPods: namespacePeer(env.namespaces.platform, selectorLabels(env, TRACKING_NAME)),
    };
    this.trackingPolicies(props, peers);
    this.storePolicies(props, peers);
    this.edgePolicies(peers);
    this.workloadPolicies(props, peers);
  }

  private policy(name: string, namespace: string, podSelector: Record<string, string>, rules: PolicyRules, annotations?: Record<string, string>): void {
    new k8s.KubeNetworkPolicy(this, `${namespace}-${name}`, {
      metadata: { name, namespace, labels: standardLabels(this.env, name, 'network-policy'), ...(annotations ? { annotations } : {}) },
      spec: {
        podSelector: { matchLabels: podSelector },
        policyTypes: [...(rules.ingress ? ['Ingress'] : []), ...(rules.egress ? ['Egress'] : [])],
        // No rules is written as no field, as the API server stores it: an empty list would be re-applied on
        // every sync (generation bump, GitOps drift). The policy type alone denies that direction.
        ...(rules.ingress?.length ? { ingress: rules.ingress } : {}),
        ...(rules.egress?.length ? { egress: rules.egress } : {}),
      },
    });
  }

  /** The tracking server (its clients: the edge, training and inference pods) and its migration Job. */
  private trackingPolicies(props: PlatformNetworkPoliciesProps, { controller, prometheus, pods }: Peers): void {
    const env = this.env;
    const ns = env.namespaces.platform;
    const trackingClients: k8s.NetworkPolicyPeer[] = [env.ingress.auth.mode === 'oidc' ? pods(OAUTH2_PROXY_NAME) : controller];
    if (props.trainingPods) trackingClients.push(namespacePeer(env.namespaces.training, { ...TRAINING_POD_SELECTOR }));
    if (props.inferencePods) trackingClients.push(namespacePeer(env.namespaces.serving, inferencePodSelector(env)));
    const storeEgress = [databaseEgress(env), env.artifactStore.kind === 'minio' ? { to: [pods(MINIO_NAME)], ports: [tcp(MINIO_PORT)] } : s3Egress(env)];
    this.policy(TRACKING_NAME, ns, selectorLabels(env, TRACKING_NAME), {
      ingress: [
        { from: trackingClients, ports: [tcp(TRACKING_PORT)] },
        { from: [prometheus], ports: [tcp(TRACKING_PORT)] },
      ],
      egress: storeEgress,
    });
    this.policy(TRACKING_MIGRATE_NAME, ns, selectorLabels(env, TRACKING_MIGRATE_NAME), { ingress: [], egress: [databaseEgress(env)] });
  }

  /** The in-cluster stores: PostgreSQL, MinIO and its bucket Job. */
  private storePolicies(props: PlatformNetworkPoliciesProps, { prometheus, pods }: Peers): void {
    const env = this.env;
    const ns = env.namespaces.platform;
    if (env.metadataStore.kind === 'in-cluster-postgres') {
      this.policy(POSTGRES_NAME, ns, selectorLabels(env, POSTGRES_NAME), {
        ingress: [{ from: [pods(TRACKING_NAME), pods(TRACKING_MIGRATE_NAME)], ports: [tcp(POSTGRES_PORT)] }],
        egress: [],
      });
    }
    if (env.artifactStore.kind === 'minio') {
      this.policy(MINIO_NAME, ns, selectorLabels(env, MINIO_NAME), {
        ingress: [
          { from: [pods(TRACKING_NAME), pods(MINIO_BUCKET_JOB)], ports: [tcp(MINIO_PORT)] },
          { from: [prometheus], ports: [tcp(MINIO_PORT)] },
          // Argo's artifact repository: the pipeline step pods' executor uploads and downloads artifacts.
          ...(props.pipelinePods
            ? [
                {
                  from: [
                    {
                      namespaceSelector: namespacePeer(env.namespaces.training).namespaceSelector,
                      podSelector: { matchExpressions: [{ key: PIPELINE_POD_LABEL, operator: 'Exists' }] },
                    },
                  ],
                  ports: [tcp(MINIO_PORT)],
                },
              ]
            : []),
        ],
        egress: [],
      });
      this.policy(MINIO_BUCKET_JOB, ns, selectorLabels(env, MINIO_BUCKET_JOB), { ingress: [], egress: [{ to: [pods(MINIO_NAME)], ports: [tcp(MINIO_PORT)] }] });
    }
  }

  /** The edge: oauth2-proxy (OIDC) and cert-manager's ACME HTTP-01 solver pods. */
  private edgePolicies({ controller, prometheus, pods }: Peers): void {
    const env = this.env;
    const ns = env.namespaces.platform;
    if (env.ingress.auth.mode === 'oidc') {
      this.policy(OAUTH2_PROXY_NAME, ns, selectorLabels(env, OAUTH2_PROXY_NAME), {
        ingress: [
          { from: [controller], ports: [tcp(OAUTH2_PROXY_PORT)] },
          { from: [prometheus], ports: [tcp(OAUTH2_PROXY_METRICS_PORT)] },
        ],
        // The upstream, and the OIDC issuer (discovery, JWKS, token endpoint) over HTTPS.
        egress: [
          { to: [pods(TRACKING_NAME)], ports: [tcp(TRACKING_PORT)] },
          { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [tcp(443)] },
        ],
      });
    }
    const t = env.ingress.tls;
    if (t.mode === 'cert-manager' && t.acme) {
      // cert-manager creates the HTTP-01 solver pods on demand; the controller must reach them to pass a challenge.
      this.policy(
        'acme-http01-solver',
        ns,
        ACME_SOLVER_SELECTOR,
        { ingress: [{ from: [controller], ports: [tcp(ACME_SOLVER_PORT)] }], egress: [] },
        {
          [EXCEPTIONS_ANNOTATION]: JSON.stringify({
            'networkpolicy-selects-pods':
              'selects the ACME HTTP-01 solver pods cert-manager creates during a certificate challenge; they are not in the manifests',
          }),
          [KUBE_SCORE_IGNORE]: 'networkpolicy-targets-pod',
        },
      );
    }
  }

  /** Training and inference pods, in their own namespaces: they only call the tracking server. */
  private workloadPolicies(props: PlatformNetworkPoliciesProps, { controller, prometheus, trackingPods }: Peers): void {
    const env = this.env;
    if (props.trainingPods) {
      this.policy(
        'training',
        env.namespaces.training,
        { ...TRAINING_POD_SELECTOR },
        {
          ingress: [],
          egress: [{ to: [trackingPods], ports: [tcp(TRACKING_PORT)] }],
        },
      );
    }
    if (props.inferencePods) {
      this.policy('inference', env.namespaces.serving, inferencePodSelector(env), {
        ingress: [
          // REST and gRPC clients come in through the ingress controller (nginx proxies gRPC with backend-protocol GRPC).
          { from: [controller], ports: [tcp(INFERENCE_PORT), tcp(INFERENCE_GRPC_PORT)] },
          { from: [prometheus], ports: [tcp(INFERENCE_PORT)] },
        ],
        egress: [{ to: [trackingPods], ports: [tcp(TRACKING_PORT)] }],
      });
    }
  }
}
