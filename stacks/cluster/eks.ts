import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { stringify } from 'yaml';
import { EKS_LOG_TYPES } from '../../policies/aws/services';
import { managedPolicyArn, serviceTrust } from './aws-util';

/** What the rest of the stack needs from a cluster, created here or looked up. */
export interface ClusterInfo {
  name: pulumi.Output<string>;
  endpoint: pulumi.Output<string>;
  certificateAuthorityData: pulumi.Output<string>;
  /** `https://oidc.eks.<region>.amazonaws.com/id/<id>` */
  oidcIssuerUrl: pulumi.Output<string>;
  oidcProviderArn: pulumi.Output<string>;
  /** Security group EKS puts on the control plane and managed nodes (the database admits it). */
  clusterSecurityGroupId: pulumi.Output<string>;
  /** Admin kubeconfig using `aws eks get-token` (the caller's AWS credentials); secret. */
  kubeconfig: pulumi.Output<string>;
}

/** A kubeconfig that authenticates with the AWS CLI (`aws eks get-token`), as `aws eks update-kubeconfig` writes. */
export function eksKubeconfig(clusterName: string, endpoint: string, caData: string, region: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server: endpoint, 'certificate-authority-data': caData } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    'current-context': clusterName,
    users: [
      {
        name: clusterName,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            args: ['eks', 'get-token', '--cluster-name', clusterName, '--region', region, '--output', 'json'],
            interactiveMode: 'Never',
          },
        },
      },
    ],
  });
}

export interface EksClusterArgs {
  /** Cluster name (also the prefix of its IAM roles). */
  name: string;
  region: string;
  /** Kubernetes minor version, e.g. "1.30". */
  version: string;
  /** Private subnets (one per zone): the control plane's network interfaces and the nodes. */
  subnetIds: pulumi.Input<string>[];
  /** CIDRs allowed to the public API endpoint; empty: the endpoint is private only. */
  publicAccessCidrs: string[];
  /** Retention of the control-plane log group. Default: 90 days. */
  logRetentionDays?: number;
  /** Refuse `pulumi destroy` of the cluster (EKS deletion protection). Default: false. */
  deletionProtection?: boolean;
}

/**
 * An EKS control plane: API endpoint private (or public only to listed CIDRs), every control-plane log
 * type to CloudWatch, Kubernetes Secrets envelope-encrypted with a dedicated KMS key (rotated yearly),
 * access entries for authentication, and the IAM OIDC provider IRSA roles trust.
 */
export class EksCluster extends pulumi.ComponentResource implements ClusterInfo {
  readonly cluster: aws.eks.Cluster;
  readonly secretsKey: aws.kms.Key;
  readonly oidcProvider: aws.iam.OpenIdConnectProvider;
  readonly name: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  readonly certificateAuthorityData: pulumi.Output<string>;
  readonly oidcIssuerUrl: pulumi.Output<string>;
  readonly oidcProviderArn: pulumi.Output<string>;
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:EksCluster', name, {}, opts);
    const parent = { parent: this };
    if (args.publicAccessCidrs.some((c) => c.endsWith('/0')))
      throw new Error(`cluster "${args.name}": publicAccessCidrs must not open the API endpoint to the whole internet`);

    this.secretsKey = new aws.kms.Key(
      `${name}-secrets`,
      { description: `Envelope encryption of Kubernetes Secrets in EKS cluster ${args.name}`, enableKeyRotation: true, deletionWindowInDays: 30 },
      parent,
    );
    new aws.kms.Alias(`${name}-secrets`, { name: `alias/${args.name}-eks-secrets`, targetKeyId: this.secretsKey.keyId }, parent);

    const role = new aws.iam.Role(
      `${name}-cluster`,
      { assumeRolePolicy: serviceTrust('eks.amazonaws.com'), description: `EKS control plane of ${args.name}` },
      parent,
    );
    const attachment = new aws.iam.RolePolicyAttachment(
      `${name}-cluster`,
      { role: role.name, policyArn: managedPolicyArn(args.region, 'AmazonEKSClusterPolicy') },
      parent,
    );
    const keyAccess = new aws.iam.RolePolicy(
      `${name}-cluster-kms`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'], Resource: this.secretsKey.arn }],
        }),
      },
      parent,
    );
    // Created ahead of the cluster so its retention is ours, not "never expire".
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-control-plane`,
      { name: `/aws/eks/${args.name}/cluster`, retentionInDays: args.logRetentionDays ?? 90 },
      parent,
    );

    const publicEndpoint = args.publicAccessCidrs.length > 0;
    this.cluster = new aws.eks.Cluster(
      name,
      {
        name: args.name,
        version: args.version,
        roleArn: role.arn,
        vpcConfig: {
          subnetIds: args.subnetIds,
          endpointPrivateAccess: true,
          endpointPublicAccess: publicEndpoint,
          ...(publicEndpoint ? { publicAccessCidrs: args.publicAccessCidrs } : {}),
        },
        enabledClusterLogTypes: [...EKS_LOG_TYPES],
        encryptionConfig: { provider: { keyArn: this.secretsKey.arn }, resources: ['secrets'] },
        // Access entries (no aws-auth ConfigMap); whoever runs `pulumi up` becomes cluster admin.
        accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: true },
        deletionProtection: args.deletionProtection ?? false,
      },
      { parent: this, dependsOn: [attachment, keyAccess, logGroup] },
    );

    this.name = this.cluster.name;
    this.endpoint = this.cluster.endpoint;
    this.certificateAuthorityData = this.cluster.certificateAuthority.apply((ca) => ca.data);
    this.oidcIssuerUrl = this.cluster.identities.apply((ids) => {
      const issuer = ids.at(0)?.oidcs.at(0)?.issuer;
      if (!issuer) throw new Error(`cluster "${args.name}" reports no OIDC issuer`);
      return issuer;
    });
    this.oidcProvider = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, { url: this.oidcIssuerUrl, clientIdLists: ['sts.amazonaws.com'] }, parent);
    this.oidcProviderArn = this.oidcProvider.arn;
    this.clusterSecurityGroupId = this.cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId);
    this.kubeconfig = pulumi.secret(
      pulumi.all([this.cluster.name, this.endpoint, this.certificateAuthorityData]).apply(([n, endpoint, ca]) => eksKubeconfig(n, endpoint, ca, args.region)),
    );
    this.registerOutputs({ name: this.name, endpoint: this.endpoint, oidcProviderArn: this.oidcProviderArn, kubeconfig: this.kubeconfig });
  }
}

export interface ExistingEksClusterArgs {
  name: string;
  region: string;
}

/**
 * A cluster that already exists (`cluster.create: false`): looked up by name, with its IAM OIDC
 * provider (which must exist: `eksctl utils associate-iam-oidc-provider` creates it).
 */
export class ExistingEksCluster extends pulumi.ComponentResource implements ClusterInfo {
  readonly name: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  readonly certificateAuthorityData: pulumi.Output<string>;
  readonly oidcIssuerUrl: pulumi.Output<string>;
  readonly oidcProviderArn: pulumi.Output<string>;
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  readonly vpcId: pulumi.Output<string>;
  readonly subnetIds: pulumi.Output<string[]>;
  readonly kubeconfig: pulumi.Output<string>;

  constructor(name: string, args: ExistingEksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:ExistingEksCluster', name, {}, opts);
    const found = aws.eks.getClusterOutput({ name: args.name }, { parent: this });
    this.name = found.name;
    this.endpoint = found.endpoint;
    this.certificateAuthorityData = found.certificateAuthorities.apply((cas) => cas[0]?.data ?? '');
    this.oidcIssuerUrl = found.identities.apply((ids) => {
      const issuer = ids[0]?.oidcs[0]?.issuer;
      if (!issuer) throw new Error(`existing cluster "${args.name}" has no OIDC issuer`);
      return issuer;
    });
    this.oidcProviderArn = aws.iam.getOpenIdConnectProviderOutput({ url: this.oidcIssuerUrl }, { parent: this }).arn;
    this.clusterSecurityGroupId = found.vpcConfig.clusterSecurityGroupId;
    this.vpcId = found.vpcConfig.vpcId;
    this.subnetIds = found.vpcConfig.subnetIds;
    this.kubeconfig = pulumi.secret(
      pulumi.all([found.name, this.endpoint, this.certificateAuthorityData]).apply(([n, e, ca]) => eksKubeconfig(n, e, ca, args.region)),
    );
    this.registerOutputs({ name: this.name, endpoint: this.endpoint });
  }
}
