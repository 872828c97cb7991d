import { isProduction, list, policyStatements, type AwsRule } from './resources';
import { asArray, asRecord } from '../../core/kube-objects';

const EKS = ['aws:eks/cluster:Cluster'];
const RDS = ['aws:rds/instance:Instance', 'aws:rds/cluster:Cluster'];
const ECR = ['aws:ecr/repository:Repository'];
/** IAM resources holding a permissions policy document in `policy`. */
const IAM_POLICY_TYPES = ['aws:iam/policy:Policy', 'aws:iam/rolePolicy:RolePolicy', 'aws:iam/userPolicy:UserPolicy', 'aws:iam/groupPolicy:GroupPolicy'];
const IAM_ROLE = 'aws:iam/role:Role';

export const EKS_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];

export const awsServiceRules: AwsRule[] = [
  {
    id: 'aws-eks-private-endpoint',
    severity: 'error',
    description: 'EKS API endpoint is private, or public only to listed CIDRs',
    remediation: 'Set vpcConfig.endpointPublicAccess false, or publicAccessCidrs to your office/VPN ranges (never 0.0.0.0/0).',
    types: EKS,
    check: (r) => {
      const vpc = asRecord(r.props.vpcConfig);
      if (vpc.endpointPublicAccess === false) return [];
      const cidrs = list(vpc.publicAccessCidrs);
      if (cidrs.length === 0 || cidrs.some((c) => c.endsWith('/0')))
        return [{ field: 'vpcConfig.publicAccessCidrs', message: `cluster "${r.name}" exposes its API endpoint to the internet` }];
      return [];
    },
  },
  {
    id: 'aws-eks-control-plane-logs',
    severity: 'error',
    description: `EKS control plane logs all types (${EKS_LOG_TYPES.join(', ')})`,
    remediation: `Set enabledClusterLogTypes to [${EKS_LOG_TYPES.join(', ')}].`,
    types: EKS,
    check: (r) => {
      const missing = EKS_LOG_TYPES.filter((t) => !list(r.props.enabledClusterLogTypes).includes(t));
      return missing.length ? [{ field: 'enabledClusterLogTypes', message: `cluster "${r.name}" does not log ${missing.join(', ')}` }] : [];
    },
  },
  {
    id: 'aws-eks-secrets-encryption',
    severity: 'error',
    description: 'EKS encrypts Kubernetes Secrets with a KMS key',
    remediation: 'Set encryptionConfig { provider: { keyArn: <KMS key> }, resources: [secrets] }.',
    types: EKS,
    check: (r) =>
      list(asRecord(r.props.encryptionConfig).resources).includes('secrets')
        ? []
        : [{ field: 'encryptionConfig', message: `cluster "${r.name}" does not encrypt Secrets with KMS` }],
  },
  {
    id: 'aws-rds-encrypted',
    severity: 'error',
    description: 'RDS storage is encrypted',
    remediation: 'Set storageEncrypted: true (and a kmsKeyId).',
    types: RDS,
    check: (r) => (r.props.storageEncrypted === true ? [] : [{ field: 'storageEncrypted', message: `database "${r.name}" storage is not encrypted` }]),
  },
  {
    id: 'aws-rds-private',
    severity: 'error',
    description: 'RDS is not publicly accessible',
    remediation: 'Set publiclyAccessible: false and place it in private subnets.',
    types: RDS,
    check: (r) => (r.props.publiclyAccessible === true ? [{ field: 'publiclyAccessible', message: `database "${r.name}" is publicly accessible` }] : []),
  },
  {
    id: 'aws-rds-backups',
    severity: 'error',
    description: 'RDS keeps automated backups ≥ 7 days',
    remediation: 'Set backupRetentionPeriod to 7 or more.',
    types: RDS,
    check: (r) => {
      const days = Number(r.props.backupRetentionPeriod ?? 0);
      return days >= 7 ? [] : [{ field: 'backupRetentionPeriod', message: `database "${r.name}" keeps backups ${days} day(s)` }];
    },
  },
  {
    id: 'aws-rds-deletion-protection',
    severity: 'error',
    description: 'RDS has deletion protection',
    remediation: 'Set deletionProtection: true.',
    types: RDS,
    check: (r) => (r.props.deletionProtection === true ? [] : [{ field: 'deletionProtection', message: `database "${r.name}" has no deletion protection` }]),
  },
  {
    id: 'aws-rds-multi-az',
    severity: 'error',
    description: 'RDS instances are Multi-AZ in production',
    remediation: 'Set multiAz: true for the production database.',
    types: ['aws:rds/instance:Instance'],
    check: (r, _all, ctx) =>
      isProduction(ctx) && r.props.multiAz !== true ? [{ field: 'multiAz', message: `production database "${r.name}" is not Multi-AZ` }] : [],
  },
  {
    id: 'aws-iam-no-admin-wildcard',
    severity: 'error',
    description: 'IAM policies never allow `*` / `*:*` actions',
    remediation: 'List the exact actions (e.g. s3:GetObject) on the exact resources.',
    types: [...IAM_POLICY_TYPES, IAM_ROLE],
    check: (r) => {
      const docs: Array<[string, unknown]> =
        r.type === IAM_ROLE ? asArray(r.props.inlinePolicies).map((p, i) => [`inlinePolicies[${i}].policy`, asRecord(p).policy]) : [['policy', r.props.policy]];
      return docs.flatMap(([field, doc]) =>
        (policyStatements(doc) ?? []).some((s) => s.Effect === 'Allow' && list(s.Action).some((a) => a === '*' || a === '*:*'))
          ? [{ field, message: `IAM policy of "${r.name}" allows every action ("*")` }]
          : [],
      );
    },
  },
  {
    id: 'aws-iam-irsa-trust-scoped',
    severity: 'error',
    description: 'IRSA role trust is scoped to one ServiceAccount by the `:sub` condition',
    remediation: 'Add Condition StringEquals { "<oidc-issuer>:sub": "system:serviceaccount:<namespace>:<name>" }.',
    types: [IAM_ROLE],
    check: (r) =>
      (policyStatements(r.props.assumeRolePolicy) ?? []).flatMap((s, i) => {
        if (!list(s.Action).includes('sts:AssumeRoleWithWebIdentity')) return [];
        const conds = Object.entries(asRecord(s.Condition)).filter(([op]) => op === 'StringEquals' || op === 'StringLike');
        const subs = conds.flatMap(([, c]) =>
          Object.entries(asRecord(c))
            .filter(([k]) => k.endsWith(':sub'))
            .flatMap(([, v]) => list(v)),
        );
        const scoped = subs.length > 0 && subs.every((v) => /^system:serviceaccount:[^:*]+:[^:*]+$/.test(v));
        return scoped
          ? []
          : [
              {
                field: `assumeRolePolicy.Statement[${i}].Condition`,
                message: `role "${r.name}" trusts web identities without a :sub condition naming one ServiceAccount`,
              },
            ];
      }),
  },
  {
    id: 'aws-ecr-immutable-tags',
    severity: 'error',
    description: 'ECR repositories have immutable tags',
    remediation: 'Set imageTagMutability: IMMUTABLE.',
    types: ECR,
    check: (r) =>
      typeof r.props.imageTagMutability === 'string' && r.props.imageTagMutability.startsWith('IMMUTABLE')
        ? []
        : [{ field: 'imageTagMutability', message: `repository "${r.name}" allows tags to be overwritten` }],
  },
  {
    id: 'aws-ecr-scan-on-push',
    severity: 'error',
    description: 'ECR repositories scan images on push',
    remediation: 'Set imageScanningConfiguration.scanOnPush: true.',
    types: ECR,
    check: (r) =>
      asRecord(r.props.imageScanningConfiguration).scanOnPush === true
        ? []
        : [{ field: 'imageScanningConfiguration.scanOnPush', message: `repository "${r.name}" does not scan images on push` }],
  },
];
