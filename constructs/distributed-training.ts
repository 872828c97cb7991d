import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import { BACKEND_ENV, distributedBackend, type DistributedTraining } from '../environments/training-distributed';
import { k8s, standardLabels, tcp } from './common';
import { podGroup, type PodGroup } from './facts';
import { PyTorchJob, type PyTorchJobSpecElasticPolicy, type PyTorchJobSpecRunPolicy } from './imports/kubeflow.org';
import { trainingJobSpec, type TrainingWorkloadProps } from './training';

/*
 * Multi-node training as a Kubeflow Training Operator v1.8.1 PyTorchJob (docs/adr/0024): the training
 * Job's pod (restricted security, pinned image, tracking login, resources, the GPU pool's tolerations and
 * node selector) becomes the template of every replica; the operator adds MASTER_ADDR/MASTER_PORT,
 * WORLD_SIZE, RANK (PET_* for torchrun) and a headless Service per replica.
 */

/** The operator's default container name and port (`pytorch`, `pytorchjob-port` 23456): MASTER_PORT. */
export const PYTORCH_CONTAINER = 'pytorch';
export const PYTORCH_MASTER_PORT = 23456;
/** torchrun's c10d rendezvous port of elastic jobs (its `--rdzv-endpoint` default). */
export const PYTORCH_RDZV_PORT = 29400;
export { BACKEND_ENV, distributedBackend } from '../environments/training-distributed';

export interface DistributedTrainingProps extends TrainingWorkloadProps {
  /** The environment's `training.distributed`. */
  readonly distributed: DistributedTraining;
  /**
   * Create the job suspended (`runPolicy.suspend`): the operator creates no pods until it is unsuspended.
   * @default false
   */
  readonly suspend?: boolean;
}

/** A replica spec's JSON: replicas, restart policy and the pod template. */
interface ReplicaSpec {
  replicas: number;
  restartPolicy: 'OnFailure' | 'Never' | 'ExitCode' | 'Always';
  template: Record<string, unknown>;
}

/** The PyTorchJob `spec` as JSON (what the CRD validates), and the pods' labels. */
export interface PyTorchJobSpecJson {
  nprocPerNode: string;
  elasticPolicy?: PyTorchJobSpecElasticPolicy;
  runPolicy: PyTorchJobSpecRunPolicy;
  pytorchReplicaSpecs: Record<'Master' | 'Worker', ReplicaSpec | undefined>;
}

/** A container as a PyTorchJob replica's: the operator's container name, MASTER_PORT (and the rendezvous port when elastic). */
export function pytorchContainer(c: k8s.Container, d: DistributedTraining): k8s.Container {
  const ports = d.elastic ? [PYTORCH_MASTER_PORT, PYTORCH_RDZV_PORT] : [PYTORCH_MASTER_PORT];
  return { ...c, name: PYTORCH_CONTAINER, ports: ports.map((p, i) => ({ name: i === 0 ? 'pytorchjob-port' : 'rdzv', containerPort: p, protocol: 'TCP' })) };
}

/** The pod template of every replica: the training Job's, with the operator's container name and port. */
function replicaTemplate(props: DistributedTrainingProps): { template: Record<string, unknown>; labels: Record<string, string>; job: k8s.JobSpec } {
  const d = props.distributed;
  const { spec: job, labels } = trainingJobSpec({
    ...props,
    gpus: d.gpusPerWorker,
    env: [...(props.env ?? []), { name: BACKEND_ENV, value: distributedBackend(d) }],
  });
  const pod = job.template.spec;
  if (!pod) throw new Error('training Job template without a pod spec');
  const [train, ...rest] = pod.containers;
  // The replica's restartPolicy is the pod's: the operator sets it, so the template leaves it out.
  const template =
    k8s.toJson_PodTemplateSpec({ metadata: { labels }, spec: { ...pod, restartPolicy: undefined, containers: [pytorchContainer(train, d), ...rest] } }) ?? {};
  return { template, labels, job };
}

/**
 * The replicas of a job whose every pod runs `template`: one Master (rank 0) and workers - 1 Workers, or with
 * `elastic` Workers only, between min and max, with torchrun's c10d rendezvous.
 */
export function pytorchReplicas(
  d: DistributedTraining,
  template: Record<string, unknown>,
  restartPolicy: ReplicaSpec['restartPolicy'] = 'OnFailure',
): Pick<PyTorchJobSpecJson, 'nprocPerNode' | 'elasticPolicy' | 'pytorchReplicaSpecs'> {
  const nprocPerNode = String(Math.max(1, d.gpusPerWorker));
  if (!d.elastic) {
    return {
      nprocPerNode,
      pytorchReplicaSpecs: { Master: { replicas: 1, restartPolicy, template }, Worker: { replicas: d.workers - 1, restartPolicy, template } },
    };
  }
  const elasticPolicy: PyTorchJobSpecElasticPolicy = {
    minReplicas: d.elastic.minWorkers,
    maxReplicas: d.elastic.maxWorkers,
    maxRestarts: d.elastic.maxRestarts,
    rdzvBackend: 'c10d',
    rdzvPort: PYTORCH_RDZV_PORT,
  };
  return { nprocPerNode, elasticPolicy, pytorchReplicaSpecs: { Master: undefined, Worker: { replicas: d.workers, restartPolicy, template } } };
}

/** The replica type whose pods include rank 0: Master, or Worker in an elastic job (which has no Master). */
export const rankZeroReplica = (d: DistributedTraining): 'Master' | 'Worker' => (d.elastic ? 'Worker' : 'Master');

/**
 * The PyTorchJob spec for a training command: `workers` pods — one Master (rank 0, the one that logs to
 * the tracking run) and workers - 1 Workers — or, with `elastic`, Workers only between min and max with
 * torchrun's c10d rendezvous. A pipeline step or a Katib trial reuses this for its own object.
 */
export function pytorchJobSpec(props: DistributedTrainingProps): { spec: PyTorchJobSpecJson; labels: Record<string, string> } {
  const { template, labels, job } = replicaTemplate(props);
  const runPolicy: PyTorchJobSpecRunPolicy = {
    // Pods still running when the job ends are removed; finished ones are kept (with logs) until the TTL.
    cleanPodPolicy: 'Running',
    backoffLimit: job.backoffLimit,
    activeDeadlineSeconds: job.activeDeadlineSeconds,
    ttlSecondsAfterFinished: job.ttlSecondsAfterFinished,
    ...(props.suspend ? { suspend: true } : {}),
  };
  return { spec: { ...pytorchReplicas(props.distributed, template), runPolicy }, labels };
}

/** Drops the absent replica type (JSON has no undefined). */
export function pytorchJobSpecJson(spec: PyTorchJobSpecJson): Record<string, unknown> {
  return JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
}

/**
 * One distributed training run as a PyTorchJob, with the NetworkPolicy its pods need to reach each other
 * (MASTER_PORT, and the rendezvous port when elastic): the platform's training policy opens only the
 * tracking server. Like a Job, a PyTorchJob runs once per name.
 */
export class DistributedTrainingJob extends Construct {
  readonly name: string;
  readonly pods: PodGroup;

  constructor(scope: Construct, id: string, props: DistributedTrainingProps) {
    super(scope, id);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(props.name) || props.name.length > 48) {
      // The operator names pods and Services `<name>-worker-<index>`: they must stay DNS labels.
      throw new Error(`distributed training name "${props.name}" must be a DNS label of at most 48 characters`);
    }
    const { env } = props.ctx;
    const ns = env.namespaces.training;
    const { spec, labels } = pytorchJobSpec(props);
    this.name = props.name;
    this.pods = podGroup(ns, labels);
    new ApiObject(this, 'pytorchjob', { ...PyTorchJob.GVK, metadata: { name: props.name, namespace: ns, labels }, spec: pytorchJobSpecJson(spec) });
    peerNetworkPolicy(this, env, props.name, props.distributed);
  }
}

/**
 * Lets the replicas of one job reach each other on MASTER_PORT (and the rendezvous port): the pods named `name`,
 * or those `selector` matches.
 */
export function peerNetworkPolicy(
  scope: Construct,
  env: EnvironmentConfig,
  name: string,
  distributed: DistributedTraining,
  selector: Record<string, string> = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': env.name },
): void {
  const peers = [{ podSelector: { matchLabels: selector } }];
  const ports = (distributed.elastic ? [PYTORCH_MASTER_PORT, PYTORCH_RDZV_PORT] : [PYTORCH_MASTER_PORT]).map((p) => tcp(p));
  new k8s.KubeNetworkPolicy(scope, `peers-${name}`, {
    metadata: { name: `${name}-peers`, namespace: env.namespaces.training, labels: standardLabels(env, `${name}-peers`, 'network-policy') },
    spec: { podSelector: peers[0].podSelector, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: peers, ports }], egress: [{ to: peers, ports }] },
  });
}
