import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { EnvironmentConfig } from '../../environments';
import { Network } from './network';
import { EksCluster, ExistingEksCluster, type ClusterInfo } from './eks';
import { NodePools } from './node-pools';
import { ArtifactBucket } from './artifact-bucket';
import { Database } from './database';
import { ImageRepositories } from './registry';
import { ServiceAccountRole, type ServiceAccountRef, type Statement } from './irsa';
import { managedPolicyArn } from './aws-util';
import type { WorkloadIdentity } from '../../constructs/facts';

export { Network, EksCluster, ExistingEksCluster, NodePools, ArtifactBucket, Database, ImageRepositories, ServiceAccountRole };
export type { ClusterInfo, ServiceAccountRef };

type EksSpec = Extract<EnvironmentConfig['cluster'], { kind: 'eks' }>;

/** The three workload identities the chart may give IRSA roles (the constructs name them). */
export type { WorkloadIdentity };

/** Repositories of the two runtime images (the names `environments/images.ts` pins). */
export const RUNTIME_REPOSITORIES = ['mlops-blueprint/tracking', 'mlops-blueprint/inference'];

/** Default artifact bucket name: `<project>-<env>-artifacts` (set `artifactStore.bucket` for a globally unique one). */
export function defaultBucketName(project: string, env: EnvironmentConfig): string {
  return `${project}-${env.name}-artifacts`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 63);
}

/** S3 keys of the artifact prefix: `<prefix>/*`, or the whole bucket when the prefix is empty. */
function prefixPaths(prefix: string): { objects: string; listPrefixes: string[] } {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return p ? { objects: `${p}/*`, listPrefixes: [p, `${p}/*`] } : { objects: '*', listPrefixes: ['*'] };
}

/**
 * What each identity may do with the artifact bucket: the tracking server reads, writes and deletes
 * under its prefix (proxied artifact uploads, run deletion); training jobs read and write under it
 * (clients that upload directly); inference only reads models. Nothing outside the prefix, ever.
 */
export function artifactStatements(identity: WorkloadIdentity, bucketArn: pulumi.Input<string>, keyArn: pulumi.Input<string>, prefix: string): Statement[] {
  const { objects, listPrefixes } = prefixPaths(prefix);
  const objectActions: Record<WorkloadIdentity, string[]> = {
    tracking: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
    training: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
    inference: ['s3:GetObject'],
  };
  const kmsActions = identity === 'inference' ? ['kms:Decrypt'] : ['kms:Decrypt', 'kms:GenerateDataKey'];
  return [
    { Sid: 'ListArtifactPrefix', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': listPrefixes } } },
    { Sid: 'ArtifactObjects', Effect: 'Allow', Action: objectActions[identity], Resource: pulumi.interpolate`${bucketArn}/${objects}` },
    { Sid: 'ArtifactKey', Effect: 'Allow', Action: kmsActions, Resource: keyArn },
  ];
}

export interface CloudStackArgs {
  env: EnvironmentConfig;
  /** Project name, for the default bucket name. */
  project: string;
  /** ServiceAccounts (from the synthesized chart) that get each IRSA role; an identity without any gets no role. */
  serviceAccounts: Partial<Record<WorkloadIdentity, ServiceAccountRef[]>>;
  /** Master login of the RDS database (created only when the environment asks for RDS). */
  database?: { username: pulumi.Input<string>; password: pulumi.Input<string> };
}

/**
 * The AWS side of one environment: network, EKS with its node pools (system + GPU), the artifact
 * bucket, RDS when the environment uses it, IRSA roles for the chart's ServiceAccounts, and ECR.
 * Each concern is its own component; this one wires them together.
 */
export class CloudStack extends pulumi.ComponentResource {
  readonly cluster: ClusterInfo;
  readonly clusterName: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  readonly network?: Network;
  readonly nodePools?: NodePools;
  readonly bucket?: ArtifactBucket;
  readonly artifactBucket?: pulumi.Output<string>;
  readonly database?: Database;
  readonly databaseHost?: pulumi.Output<string>;
  readonly roles: Partial<Record<WorkloadIdentity, ServiceAccountRole>> = {};
  readonly repositories?: ImageRepositories;
  /** What must exist before workloads are deployed (node groups, storage driver). */
  readonly ready: pulumi.Resource[] = [];

  constructor(name: string, args: CloudStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:CloudStack', name, {}, opts);
    const { env } = args;
    if (env.cluster.kind !== 'eks') throw new Error(`environment "${env.name}": the cloud stack needs cluster.kind "eks"`);
    const c: EksSpec = env.cluster;
    const parent = { parent: this };
    const production = env.name === 'prod';

    let vpcId: pulumi.Input<string>;
    let subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    if (c.create) {
      const created = this.createCluster(name, env, c, production);
      this.network = created.network;
      this.nodePools = created.nodePools;
      this.cluster = created.eks;
      vpcId = created.network.vpcId;
      subnetIds = created.network.privateSubnetIds;
    } else {
      const existing = new ExistingEksCluster(`${name}-eks`, { name: c.name, region: c.region }, parent);
      this.cluster = existing;
      vpcId = existing.vpcId;
      subnetIds = existing.subnetIds;
    }
    this.clusterName = this.cluster.name;
    this.kubeconfig = this.cluster.kubeconfig;

    if (env.artifactStore.kind === 's3') {
      const bucketName = env.artifactStore.bucket ?? defaultBucketName(args.project, env);
      this.bucket = new ArtifactBucket(`${name}-artifacts`, { bucketName }, parent);
      this.artifactBucket = this.bucket.name;
      this.artifactRoles(name, args, this.bucket, `s3://${bucketName}`, env.artifactStore.prefix);
    }

    this.database = this.rdsDatabase(name, args, c, vpcId, subnetIds);
    this.databaseHost = this.database?.address;

    if (c.ecr) this.repositories = new ImageRepositories(`${name}-ecr`, { names: RUNTIME_REPOSITORIES }, parent);
    this.registerOutputs({ clusterName: this.clusterName, artifactBucket: this.artifactBucket, databaseHost: this.databaseHost });
  }

  /** A new VPC, EKS control plane and node pools (system + GPU), with the EBS CSI driver for the chart's volumes. */
  private createCluster(name: string, env: EnvironmentConfig, c: EksSpec, production: boolean): { network: Network; eks: EksCluster; nodePools: NodePools } {
    const parent = { parent: this };
    const network = new Network(
      `${name}-network`,
      { clusterName: c.name, cidr: c.vpcCidr, availabilityZones: c.availabilityZones, natGatewayPerZone: production },
      parent,
    );
    const eks = new EksCluster(
      `${name}-eks`,
      {
        name: c.name,
        region: c.region,
        version: c.version,
        subnetIds: network.privateSubnetIds,
        publicAccessCidrs: c.publicAccessCidrs,
        deletionProtection: production,
      },
      parent,
    );
    const nodePools = new NodePools(
      `${name}-nodes`,
      {
        clusterName: eks.name,
        region: c.region,
        version: c.version,
        subnetIds: network.privateSubnetIds,
        systemPool: c.systemPool,
        gpuPools: env.gpu.pools,
      },
      parent,
    );
    this.ready.push(nodePools.system, ...Object.values(nodePools.gpu));
    this.ready.push(this.ebsCsiDriver(name, c, eks, nodePools));
    return { network, eks, nodePools };
  }

  /** EBS CSI driver add-on with its IRSA role, so the chart's PersistentVolumeClaims (PostgreSQL, MinIO) get volumes. */
  private ebsCsiDriver(name: string, c: EksSpec, eks: EksCluster, nodePools: NodePools): aws.eks.Addon {
    const ebsRole = new ServiceAccountRole(
      `${name}-ebs-csi`,
      {
        oidcProviderArn: eks.oidcProviderArn,
        oidcIssuerUrl: eks.oidcIssuerUrl,
        serviceAccounts: [{ namespace: 'kube-system', name: 'ebs-csi-controller-sa' }],
        managedPolicyArns: [managedPolicyArn(c.region, 'service-role/AmazonEBSCSIDriverPolicy')],
        description: 'EBS CSI driver',
      },
      { parent: this },
    );
    return new aws.eks.Addon(
      `${name}-ebs-csi`,
      {
        clusterName: eks.name,
        addonName: 'aws-ebs-csi-driver',
        serviceAccountRoleArn: ebsRole.arn,
        resolveConflictsOnCreate: 'OVERWRITE',
        resolveConflictsOnUpdate: 'OVERWRITE',
      },
      { parent: this, dependsOn: [nodePools.system] },
    );
  }

  /** An IRSA role per workload identity with ServiceAccounts, reaching only the artifact prefix. */
  private artifactRoles(name: string, args: CloudStackArgs, bucket: ArtifactBucket, bucketUri: string, prefix: string): void {
    const { env } = args;
    for (const identity of ['tracking', 'training', 'inference'] as const) {
      const sas = args.serviceAccounts[identity] ?? [];
      if (sas.length === 0) continue;
      this.roles[identity] = new ServiceAccountRole(
        `${name}-${identity}`,
        {
          oidcProviderArn: this.cluster.oidcProviderArn,
          oidcIssuerUrl: this.cluster.oidcIssuerUrl,
          serviceAccounts: sas,
          statements: artifactStatements(identity, bucket.arn, bucket.keyArn, prefix),
          description: `${env.name} ${identity}: artifacts under ${bucketUri}/${prefix}`,
        },
        { parent: this },
      );
    }
  }

  /** The RDS database, when the environment's metadata store asks for one. */
  private rdsDatabase(
    name: string,
    args: CloudStackArgs,
    c: EksSpec,
    vpcId: pulumi.Input<string>,
    subnetIds: pulumi.Input<pulumi.Input<string>[]>,
  ): Database | undefined {
    const { env } = args;
    if (env.metadataStore.kind !== 'external-postgres' || !env.metadataStore.rds) return undefined;
    if (!c.rds) throw new Error(`environment "${env.name}": metadataStore.rds needs cluster.rds settings`);
    if (!args.database) throw new Error(`environment "${env.name}": RDS needs the database login`);
    return new Database(
      `${name}-db`,
      {
        identifier: `${c.name}-tracking`,
        vpcId,
        subnetIds,
        clientSecurityGroupIds: [this.cluster.clusterSecurityGroupId],
        instanceClass: c.rds.instanceClass,
        allocatedStorageGiB: c.rds.allocatedStorageGiB,
        engineVersion: c.rds.engineVersion,
        multiAz: c.rds.multiAz,
        backupRetentionDays: c.rds.backupRetentionDays,
        deletionProtection: c.rds.deletionProtection,
        databaseName: env.metadataStore.database,
        username: args.database.username,
        password: args.database.password,
      },
      { parent: this },
    );
  }
}
