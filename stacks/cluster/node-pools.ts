import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { GpuPool } from '../../environments';
import { gpuPoolNodeLabels } from '../../constructs/common';
import { managedPolicyArn, serviceTrust } from './aws-util';

/** Label every GPU node group carries (constructs select pools by it when the pool defines no labels). */
export const GPU_POOL_LABEL = 'mlops-blueprint.io/gpu-pool';
/** Label of the system pool's nodes. */
export const NODE_POOL_LABEL = 'mlops-blueprint.io/pool';

const TAINT_EFFECTS: Record<GpuPool['taints'][number]['effect'], string> = {
  NoSchedule: 'NO_SCHEDULE',
  PreferNoSchedule: 'PREFER_NO_SCHEDULE',
  NoExecute: 'NO_EXECUTE',
};

/** The node labels of a GPU pool: its own labels plus the pool label, so either selects its nodes. */
export function gpuNodeLabels(pool: GpuPool): Record<string, string> {
  return { ...gpuPoolNodeLabels(pool), ...pool.labels, [GPU_POOL_LABEL]: pool.name };
}

export interface SystemPoolSpec {
  instanceTypes: string[];
  minSize: number;
  maxSize: number;
  desiredSize: number;
}

export interface NodePoolsArgs {
  clusterName: pulumi.Input<string>;
  region: string;
  /** Kubernetes version of the nodes (the control plane's). */
  version: string;
  /** Private subnets the nodes run in. */
  subnetIds: pulumi.Input<string>[];
  /** The pool for the platform itself (tracking server, databases, ingress, inference on CPU). */
  systemPool: SystemPoolSpec;
  /** GPU pools from the environment: tainted so only pods that tolerate the taint land there. */
  gpuPools: GpuPool[];
  /** Root volume of the system nodes. Default: 50 GiB. */
  systemDiskSizeGiB?: number;
}

/**
 * EKS managed node groups: a system pool and one group per GPU pool (the pool's GPU AMI type and
 * instance types, its scaling bounds, its taints — `nvidia.com/gpu=true:NoSchedule` by default — and
 * labels). The desired size is left to the cluster autoscaler after creation.
 */
export class NodePools extends pulumi.ComponentResource {
  readonly nodeRole: aws.iam.Role;
  readonly system: aws.eks.NodeGroup;
  readonly gpu: Record<string, aws.eks.NodeGroup> = {};

  constructor(name: string, args: NodePoolsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:NodePools', name, {}, opts);
    const parent = { parent: this };
    this.nodeRole = new aws.iam.Role(`${name}-node`, { assumeRolePolicy: serviceTrust('ec2.amazonaws.com'), description: 'EKS managed nodes' }, parent);
    const attachments = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly'].map(
      (policy) =>
        new aws.iam.RolePolicyAttachment(`${name}-node-${policy}`, { role: this.nodeRole.name, policyArn: managedPolicyArn(args.region, policy) }, parent),
    );
    // The autoscaler owns the desired size once the group exists; `pulumi up` must not reset it.
    const groupOpts: pulumi.CustomResourceOptions = { parent: this, dependsOn: attachments, ignoreChanges: ['scalingConfig.desiredSize'] };

    const s = args.systemPool;
    this.system = new aws.eks.NodeGroup(
      `${name}-system`,
      {
        clusterName: args.clusterName,
        nodeGroupNamePrefix: 'system-',
        version: args.version,
        nodeRoleArn: this.nodeRole.arn,
        subnetIds: args.subnetIds,
        amiType: 'AL2023_x86_64_STANDARD',
        instanceTypes: s.instanceTypes,
        diskSize: args.systemDiskSizeGiB ?? 50,
        scalingConfig: { minSize: s.minSize, maxSize: s.maxSize, desiredSize: s.desiredSize },
        updateConfig: { maxUnavailable: 1 },
        labels: { [NODE_POOL_LABEL]: 'system' },
      },
      groupOpts,
    );

    for (const pool of args.gpuPools) {
      const labels = gpuNodeLabels(pool);
      const taints = pool.taints.map((t) => ({ key: t.key, value: t.value, effect: TAINT_EFFECTS[t.effect] }));
      this.gpu[pool.name] = new aws.eks.NodeGroup(
        `${name}-${pool.name}`,
        {
          clusterName: args.clusterName,
          nodeGroupNamePrefix: `${pool.name}-`,
          version: args.version,
          nodeRoleArn: this.nodeRole.arn,
          subnetIds: args.subnetIds,
          amiType: pool.amiType,
          instanceTypes: pool.instanceTypes,
          diskSize: pool.diskSizeGiB,
          scalingConfig: { minSize: pool.minSize, maxSize: pool.maxSize, desiredSize: pool.desiredSize ?? pool.minSize },
          updateConfig: { maxUnavailable: 1 },
          labels,
          taints,
          // Scale-from-zero hints for the cluster autoscaler: what a node of this group would look like.
          tags: {
            'k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu': String(pool.gpusPerNode),
            ...Object.fromEntries(Object.entries(labels).map(([k, v]) => [`k8s.io/cluster-autoscaler/node-template/label/${k}`, v])),
            ...Object.fromEntries(pool.taints.map((t) => [`k8s.io/cluster-autoscaler/node-template/taint/${t.key}`, `${t.value}:${t.effect}`])),
          },
        },
        // A new name prefix lets a changed instance list roll out as a replacement group before the old one goes.
        { ...groupOpts, deleteBeforeReplace: false },
      );
    }
    this.registerOutputs({ nodeRoleArn: this.nodeRole.arn });
  }
}
