import { Construct } from 'constructs';
import { KUBE_SCORE_IGNORE } from '../core/annotations';
import { k8s } from './common';
import { podGroup, type PodGroup } from './facts';

/*
 * The platform's long-running workloads, one construct each: `ServingWorkload` (a Deployment: the tracking
 * server, oauth2-proxy, each model track) and `StatefulWorkload` (a StatefulSet: PostgreSQL, MinIO), with
 * the objects made from them on methods — `exposeViaService()`, `autoscale()`, `limitDisruptions()` — in
 * the manner of cdk8s-plus's Deployment and HorizontalPodAutoscaler.
 *
 * L1 objects (constructs/imports/k8s.ts), not cdk8s-plus's L2 Deployment, StatefulSet, Service and
 * HorizontalPodAutoscaler: those write fields this platform leaves to the API server (minReadySeconds,
 * progressDeadlineSeconds, dnsPolicy, restartPolicy, hostNetwork, setHostnameAsFQDN, a default HPA
 * behaviour, `externalIPs: []`), give containers CPU limits and `imagePullPolicy: Always` by default, and
 * select pods by a generated `cdk8s.io/metadata.addr` label — none of which the platform's manifests have.
 * cdk8s-plus has no PodDisruptionBudget. See docs/adr/0020-generated-k8s-imports.md.
 *
 * Placement: the workload construct holds its Deployment or StatefulSet; every object a method makes is
 * created beside it (in the workload's scope) in call order, so the part composing them decides the order
 * of its manifest, as with cdk8s-plus's HorizontalPodAutoscaler, a construct of its own.
 */

type Labels = Readonly<Record<string, string>>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** One port of a workload's Service, forwarding to a named container port. */
export interface WorkloadServicePort {
  /** Port name; also the container port it targets unless `targetPort` names another. */
  readonly name: string;
  readonly port: number;
  /** Name of the container port the Service forwards to. @default name */
  readonly targetPort?: string;
  /** Protocol, written only when given (the API server defaults it to TCP). @default not written */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** Options for `exposeViaService()`. */
export interface ExposeViaServiceOptions {
  /** Name of the Service. @default the workload's name */
  readonly name?: string;
  /** Labels of the Service. @default the workload's labels */
  readonly labels?: Labels;
  readonly ports: readonly WorkloadServicePort[];
  /** A headless Service (`clusterIP: None`: a DNS name per pod, no virtual IP), else `type: ClusterIP`. @default false */
  readonly headless?: boolean;
  /**
   * List the Service before the workload in the manifest (a cdk8s dependency), so `kubectl apply` creates
   * it first and the pods start with its environment variables. @default false (after the workload)
   */
  readonly beforeWorkload?: boolean;
}

/** Options for `limitDisruptions()`. */
export interface LimitDisruptionsOptions {
  /** Labels of the PodDisruptionBudget. @default the workload's labels */
  readonly labels?: Labels;
}

/** What a Deployment and a StatefulSet of the platform share: identity, labels and the pod template. */
export interface WorkloadProps {
  /** Name of the workload (and, unless a method is given another, of the objects made from it): a DNS-1123 label. */
  readonly name: string;
  readonly namespace: string;
  /** Labels of the workload object and, unless given their own, of the objects made from it. */
  readonly labels: Labels;
  /** Annotations of the workload object. @default none */
  readonly annotations?: Labels;
  /** Labels of the pods. @default labels */
  readonly podLabels?: Labels;
  /** The stable labels the workload, its Services and its PDB select the pods by: never the version, so a release orphans no pod. */
  readonly selector: Labels;
  /** ServiceAccount the pods run as. */
  readonly serviceAccountName: string;
  /** Mount an API token into the pods. @default false (no platform workload talks to the Kubernetes API) */
  readonly automountServiceAccountToken?: boolean;
  readonly securityContext: k8s.PodSecurityContext;
  readonly containers: readonly k8s.Container[];
  /** @default none */
  readonly volumes?: readonly k8s.Volume[];
  /** Seconds between SIGTERM and SIGKILL. @default not written (Kubernetes: 30) */
  readonly terminationGracePeriodSeconds?: number;
}

/** The pod template of a workload; the props are already validated. */
function podTemplate(props: WorkloadProps, extra: Partial<k8s.PodSpec> = {}): k8s.PodTemplateSpec {
  return {
    metadata: { labels: { ...(props.podLabels ?? props.labels) } },
    spec: {
      serviceAccountName: props.serviceAccountName,
      automountServiceAccountToken: props.automountServiceAccountToken ?? false,
      securityContext: props.securityContext,
      ...(props.terminationGracePeriodSeconds !== undefined ? { terminationGracePeriodSeconds: props.terminationGracePeriodSeconds } : {}),
      ...extra,
      containers: [...props.containers],
      ...(props.volumes ? { volumes: [...props.volumes] } : {}),
    },
  };
}

/** The checks every workload's props pass, each naming the prop at fault. */
function validateWorkload(props: WorkloadProps): void {
  if (!DNS_LABEL.test(props.name) || props.name.length > 63) throw new Error(`'name' "${props.name}" must be a DNS-1123 label of at most 63 characters`);
  if (props.containers.length === 0) throw new Error(`workload "${props.name}": 'containers' must hold at least one container`);
  const selector = Object.entries(props.selector);
  if (selector.length === 0) throw new Error(`workload "${props.name}": 'selector' is empty; it would select every pod of the namespace`);
  const pods = props.podLabels ?? props.labels;
  const missing = selector.filter(([k, v]) => pods[k] !== v).map(([k, v]) => `${k}=${v}`);
  if (missing.length) throw new Error(`workload "${props.name}": 'selector' must select the workload's own pods; their labels lack ${missing.join(', ')}`);
}

/**
 * What Deployments and StatefulSets share: the API object, its pods' selector, and the objects made from
 * it (Services, PodDisruptionBudget), each created beside the workload in call order.
 */
export abstract class Workload extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly selector: Labels;
  /** The workload's pods: its namespace and the pod template's labels. */
  readonly pods: PodGroup;
  /** The workload object (Deployment or StatefulSet). */
  abstract readonly apiObject: k8s.KubeDeployment | k8s.KubeStatefulSet;
  /** `apps/v1` kind of the workload object. */
  abstract readonly kind: 'Deployment' | 'StatefulSet';
  /** Container port names of the pods, which Services may target. */
  private readonly portNames: ReadonlySet<string>;

  protected constructor(scope: Construct, id: string, props: WorkloadProps) {
    super(scope, id);
    validateWorkload(props);
    this.name = props.name;
    this.namespace = props.namespace;
    this.labels = props.labels;
    this.selector = props.selector;
    this.pods = podGroup(props.namespace, props.podLabels ?? props.labels);
    this.portNames = new Set(props.containers.flatMap((c) => (c.ports ?? []).flatMap((p) => (p.name ? [p.name] : []))));
  }

  /** A sibling construct id: the objects made from the workload live in its scope. */
  protected siblingId(suffix: string): string {
    return `${this.node.id}-${suffix}`;
  }

  /** The scope the workload was created in, where the objects made from it go. */
  protected get siblingScope(): Construct {
    const scope = this.node.scope;
    if (!(scope instanceof Construct)) throw new Error(`workload "${this.name}" has no scope to place its objects in`);
    return scope;
  }

  /**
   * A Service for the workload's pods, selecting them by `selector`; every port targets a named
   * container port of the pods.
   */
  exposeViaService(options: ExposeViaServiceOptions): k8s.KubeService {
    if (options.ports.length === 0) throw new Error(`workload "${this.name}": exposeViaService needs at least one port in 'ports'`);
    for (const p of options.ports) {
      const target = p.targetPort ?? p.name;
      if (!this.portNames.has(target))
        throw new Error(`workload "${this.name}": port "${p.name}" targets "${target}", which no container of the workload names`);
    }
    const name = options.name ?? this.name;
    const service = new k8s.KubeService(this.siblingScope, this.siblingId(name === this.name ? 'service' : `service-${name}`), {
      metadata: { name, namespace: this.namespace, labels: { ...(options.labels ?? this.labels) } },
      spec: {
        ...(options.headless ? { clusterIp: 'None' } : { type: 'ClusterIP' }),
        selector: { ...this.selector },
        ports: options.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: k8s.IntOrString.fromString(p.targetPort ?? p.name),
          ...(p.protocol ? { protocol: p.protocol } : {}),
        })),
      },
    });
    if (options.beforeWorkload) this.apiObject.addDependency(service);
    return service;
  }

  /** A PodDisruptionBudget letting one pod go at a time: node drains proceed, never two pods at once. */
  limitDisruptions(options: LimitDisruptionsOptions = {}): k8s.KubePodDisruptionBudget {
    return new k8s.KubePodDisruptionBudget(this.siblingScope, this.siblingId('pdb'), {
      metadata: { name: this.name, namespace: this.namespace, labels: { ...(options.labels ?? this.labels) } },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: { ...this.selector } } },
    });
  }
}

/** Options for `ServingWorkload.autoscale()`. */
export interface AutoscaleOptions {
  /** The floor; below 2 only with a `singleReplicaReason`. */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Target average CPU utilization, percent of the containers' CPU requests. */
  readonly targetCPUUtilization: number;
  /** Metrics the HPA scales on besides CPU (e.g. a per-pod custom metric). @default none */
  readonly metrics?: readonly k8s.MetricSpecV2[];
  /** How the HPA scales down. @default not written (Kubernetes' default behaviour) */
  readonly scaleDown?: k8s.HpaScalingRulesV2;
  /**
   * Why a floor of one replica is right here (kube-score's `horizontalpodautoscaler-replicas` wants two;
   * the check is then ignored on this object, with this reason beside it). Required when `minReplicas` < 2.
   */
  readonly singleReplicaReason?: string;
  /** Annotation carrying `singleReplicaReason`. @default "mlops-blueprint.io/single-replica-reason" */
  readonly singleReplicaReasonAnnotation?: string;
  /** Labels of the HPA. @default the workload's labels */
  readonly labels?: Labels;
}

export interface ServingWorkloadProps extends WorkloadProps {
  /**
   * A fixed number of pods. Leave it unset when an HPA owns the count: a GitOps sync would otherwise reset
   * the scale on every apply. @default not written (set by `autoscale()`)
   */
  readonly replicas?: number;
  /** Old ReplicaSets kept for rollbacks. @default not written (Kubernetes keeps 10) */
  readonly revisionHistoryLimit?: number;
  /**
   * Topology keys to spread the pods over, one constraint each (max skew 1, `ScheduleAnyway`: spreading
   * never stops a scale-up when there are fewer nodes or zones than pods). @default none
   */
  readonly spreadTopologyKeys?: readonly string[];
  /** Spread each rollout's pods on their own (`matchLabelKeys: [pod-template-hash]`). @default false */
  readonly spreadPerRevision?: boolean;
  /** Tolerations of the pods (a GPU pool's taints). @default none */
  readonly tolerations?: readonly k8s.Toleration[];
  /** Node labels the pods must land on (a GPU pool's nodes). @default none */
  readonly nodeSelector?: Labels;
}

/** Rolls one extra pod in before taking one out: capacity never drops during a rollout. */
export const ZERO_DOWNTIME_ROLLOUT: k8s.DeploymentStrategy = {
  type: 'RollingUpdate',
  rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) },
};

/**
 * A serving Deployment of the platform: pods selected by stable labels, rolled out with zero downtime
 * (one new pod ready before an old one goes), spread over the given topology keys, no API token. Its
 * Service, HPA and PodDisruptionBudget come from `exposeViaService()`, `autoscale()` and
 * `limitDisruptions()`.
 */
export class ServingWorkload extends Workload {
  readonly apiObject: k8s.KubeDeployment;
  readonly kind = 'Deployment' as const;
  private readonly fixedReplicas: boolean;

  constructor(scope: Construct, id: string, props: ServingWorkloadProps) {
    super(scope, id, props);
    if (props.replicas !== undefined && !(Number.isInteger(props.replicas) && props.replicas >= 1)) {
      throw new Error(`workload "${props.name}": 'replicas' must be a whole number ≥ 1, got ${props.replicas}`);
    }
    this.fixedReplicas = props.replicas !== undefined;
    this.apiObject = new k8s.KubeDeployment(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: { ...props.labels },
        ...(props.annotations ? { annotations: { ...props.annotations } } : {}),
      },
      spec: {
        ...(props.replicas !== undefined ? { replicas: props.replicas } : {}),
        ...(props.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: props.revisionHistoryLimit } : {}),
        selector: { matchLabels: { ...props.selector } },
        strategy: ZERO_DOWNTIME_ROLLOUT,
        template: podTemplate(props, {
          ...(props.tolerations ? { tolerations: [...props.tolerations] } : {}),
          ...(props.nodeSelector ? { nodeSelector: { ...props.nodeSelector } } : {}),
          ...(props.spreadTopologyKeys?.length ? { topologySpreadConstraints: this.spreadConstraints(props) } : {}),
        }),
      },
    });
  }

  private spreadConstraints(props: ServingWorkloadProps): k8s.TopologySpreadConstraint[] {
    return (props.spreadTopologyKeys ?? []).map((topologyKey) => ({
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: { ...props.selector } },
      ...(props.spreadPerRevision ? { matchLabelKeys: ['pod-template-hash'] } : {}),
    }));
  }

  /** An autoscaling/v2 HPA owning the Deployment's replicas: CPU utilization first, then `metrics`. */
  autoscale(options: AutoscaleOptions): k8s.KubeHorizontalPodAutoscalerV2 {
    const { minReplicas, maxReplicas } = options;
    if (this.fixedReplicas) throw new Error(`workload "${this.name}": 'replicas' is set; an HPA and a fixed replica count would fight over spec.replicas`);
    if (!Number.isInteger(minReplicas) || minReplicas < 1)
      throw new Error(`workload "${this.name}": 'minReplicas' must be a whole number ≥ 1, got ${minReplicas}`);
    if (!Number.isInteger(maxReplicas) || maxReplicas < minReplicas)
      throw new Error(`workload "${this.name}": 'maxReplicas' (${maxReplicas}) must be a whole number ≥ minReplicas (${minReplicas})`);
    if (!(options.targetCPUUtilization > 0)) throw new Error(`workload "${this.name}": 'targetCPUUtilization' must be a positive percentage`);
    if (minReplicas < 2 && !options.singleReplicaReason?.trim())
      throw new Error(`workload "${this.name}": 'singleReplicaReason' is required when 'minReplicas' is below 2`);
    const annotations =
      minReplicas < 2
        ? {
            [KUBE_SCORE_IGNORE]: 'horizontalpodautoscaler-replicas',
            [options.singleReplicaReasonAnnotation ?? 'mlops-blueprint.io/single-replica-reason']: options.singleReplicaReason ?? '',
          }
        : undefined;
    const cpu: k8s.MetricSpecV2 = {
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: options.targetCPUUtilization } },
    };
    return new k8s.KubeHorizontalPodAutoscalerV2(this.siblingScope, this.siblingId('hpa'), {
      metadata: { name: this.name, namespace: this.namespace, labels: { ...(options.labels ?? this.labels) }, ...(annotations ? { annotations } : {}) },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: this.kind, name: this.name },
        minReplicas,
        maxReplicas,
        metrics: [cpu, ...(options.metrics ?? [])],
        ...(options.scaleDown ? { behavior: { scaleDown: options.scaleDown } } : {}),
      },
    });
  }
}

/** The per-pod data volume of a StatefulSet: one PersistentVolumeClaim per pod from a template. */
export interface DataVolume {
  /** Volume name, which the containers mount. */
  readonly name: string;
  /** Requested size, a Kubernetes quantity. */
  readonly size: string;
  /** @default the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** Labels of the claims. */
  readonly labels: Labels;
}

export interface StatefulWorkloadProps extends WorkloadProps {
  /** @default 1 (a single writer) */
  readonly replicas?: number;
  /**
   * The governing headless Service the StatefulSet's pods get their DNS names from, created with it and
   * listed before it. Its name is the StatefulSet's `serviceName`.
   */
  readonly governingService: Omit<ExposeViaServiceOptions, 'headless' | 'beforeWorkload'>;
  /** The data volume, kept (Retain) when the StatefulSet is deleted or scaled down. */
  readonly dataVolume: DataVolume;
}

/**
 * A stateful workload of the platform: a StatefulSet with its governing headless Service, rolling
 * updates, one PersistentVolumeClaim per pod that outlives the StatefulSet, and no API token.
 */
export class StatefulWorkload extends Workload {
  readonly apiObject: k8s.KubeStatefulSet;
  readonly kind = 'StatefulSet' as const;
  /** The governing headless Service. */
  readonly governingService: k8s.KubeService;

  constructor(scope: Construct, id: string, props: StatefulWorkloadProps) {
    super(scope, id, props);
    const replicas = props.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`workload "${props.name}": 'replicas' must be a whole number ≥ 1, got ${replicas}`);
    const v = props.dataVolume;
    this.apiObject = new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: { ...props.labels },
        ...(props.annotations ? { annotations: { ...props.annotations } } : {}),
      },
      spec: {
        serviceName: props.governingService.name ?? props.name,
        replicas,
        selector: { matchLabels: { ...props.selector } },
        updateStrategy: { type: 'RollingUpdate' },
        template: podTemplate(props),
        volumeClaimTemplates: [
          {
            metadata: { name: v.name, labels: { ...v.labels } },
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...(v.storageClassName ? { storageClassName: v.storageClassName } : {}),
              resources: { requests: { storage: k8s.Quantity.fromString(v.size) } },
            },
          },
        ],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      },
    });
    this.governingService = this.exposeViaService({ ...props.governingService, headless: true, beforeWorkload: true });
  }
}
