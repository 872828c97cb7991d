import { awsRules, checkAwsResource, checkAwsResources, hasErrors, type AwsResource } from '../../policies';
import { compliantAws, OIDC } from './aws-fixtures';

type Res = ReturnType<typeof compliantAws>;
const find = (rs: Res, name: string) => rs.find((r) => r.name === name)!;
const drop = (rs: Res, name: string) => rs.filter((r) => r.name !== name);
const prod = { mode: 'pulumi' as const, production: true };
/** Deletes a field in place: how a break removes something the rule requires. */
const unset = (obj: object, key: string): undefined => void Reflect.deleteProperty(obj, key);

const cases: Array<{ rule: string; break: (rs: Res) => Res | undefined; object: string; field?: string }> = [
  { rule: 'aws-s3-encryption', break: (rs) => drop(rs, 'artifacts-sse'), object: 'aws:s3/bucket:Bucket/artifacts', field: 'serverSideEncryptionConfiguration' },
  {
    rule: 'aws-s3-versioning',
    break: (rs) => void (find(rs, 'artifacts-versioning').props.versioningConfiguration.status = 'Suspended'),
    object: 'aws:s3/bucket:Bucket/artifacts',
    field: 'versioning',
  },
  {
    rule: 'aws-s3-public-access-block',
    break: (rs) => void (find(rs, 'artifacts-pab').props.restrictPublicBuckets = false),
    object: 'aws:s3/bucket:Bucket/artifacts',
    field: 'publicAccessBlock.restrictPublicBuckets',
  },
  { rule: 'aws-s3-tls-only', break: (rs) => drop(rs, 'artifacts-tls'), object: 'aws:s3/bucket:Bucket/artifacts', field: 'policy' },
  {
    rule: 'aws-eks-private-endpoint',
    break: (rs) => void (find(rs, 'cluster').props.vpcConfig.publicAccessCidrs = ['0.0.0.0/0']),
    object: 'aws:eks/cluster:Cluster/cluster',
    field: 'vpcConfig.publicAccessCidrs',
  },
  {
    rule: 'aws-eks-control-plane-logs',
    break: (rs) => void (find(rs, 'cluster').props.enabledClusterLogTypes = ['api', 'audit']),
    object: 'aws:eks/cluster:Cluster/cluster',
    field: 'enabledClusterLogTypes',
  },
  {
    rule: 'aws-eks-secrets-encryption',
    break: (rs) => unset(find(rs, 'cluster').props, 'encryptionConfig'),
    object: 'aws:eks/cluster:Cluster/cluster',
    field: 'encryptionConfig',
  },
  {
    rule: 'aws-rds-encrypted',
    break: (rs) => void (find(rs, 'mlflow-db').props.storageEncrypted = false),
    object: 'aws:rds/instance:Instance/mlflow-db',
    field: 'storageEncrypted',
  },
  {
    rule: 'aws-rds-private',
    break: (rs) => void (find(rs, 'mlflow-db').props.publiclyAccessible = true),
    object: 'aws:rds/instance:Instance/mlflow-db',
    field: 'publiclyAccessible',
  },
  {
    rule: 'aws-rds-backups',
    break: (rs) => void (find(rs, 'mlflow-db').props.backupRetentionPeriod = 3),
    object: 'aws:rds/instance:Instance/mlflow-db',
    field: 'backupRetentionPeriod',
  },
  {
    rule: 'aws-rds-deletion-protection',
    break: (rs) => unset(find(rs, 'mlflow-db').props, 'deletionProtection'),
    object: 'aws:rds/instance:Instance/mlflow-db',
    field: 'deletionProtection',
  },
  {
    rule: 'aws-rds-multi-az',
    break: (rs) => void (find(rs, 'mlflow-db').props.multiAz = false),
    object: 'aws:rds/instance:Instance/mlflow-db',
    field: 'multiAz',
  },
  {
    rule: 'aws-iam-no-admin-wildcard',
    break: (rs) => void (find(rs, 'list-bucket').props.policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
    object: 'aws:iam/policy:Policy/list-bucket',
    field: 'policy',
  },
  {
    rule: 'aws-iam-irsa-trust-scoped',
    break: (rs) => {
      const doc = JSON.parse(find(rs, 'tracking-irsa').props.assumeRolePolicy);
      doc.Statement[0].Condition = { StringLike: { [`${OIDC}:sub`]: 'system:serviceaccount:*:*' } };
      find(rs, 'tracking-irsa').props.assumeRolePolicy = JSON.stringify(doc);
      return rs;
    },
    object: 'aws:iam/role:Role/tracking-irsa',
    field: 'assumeRolePolicy.Statement[0].Condition',
  },
  {
    rule: 'aws-ecr-immutable-tags',
    break: (rs) => void (find(rs, 'tracking').props.imageTagMutability = 'MUTABLE'),
    object: 'aws:ecr/repository:Repository/tracking',
    field: 'imageTagMutability',
  },
  {
    rule: 'aws-ecr-scan-on-push',
    break: (rs) => unset(find(rs, 'tracking').props, 'imageScanningConfiguration'),
    object: 'aws:ecr/repository:Repository/tracking',
    field: 'imageScanningConfiguration.scanOnPush',
  },
];

describe('AWS rules', () => {
  test('the compliant stack has no violation (the passing case of every rule)', () => {
    expect(checkAwsResources(compliantAws(), prod)).toEqual([]);
  });

  test('every AWS rule has a violating case', () => {
    expect(cases.map((c) => c.rule).sort()).toEqual(awsRules.map((r) => r.id).sort());
  });

  test.each(cases.map((c) => [c.rule, c] as const))('%s: reports the resource and field', (_id, c) => {
    const rs = compliantAws();
    const broken = c.break(rs) ?? rs;
    const v = checkAwsResources(broken, prod).filter((x) => x.ruleId === c.rule);
    expect(v).toEqual([expect.objectContaining({ object: c.object, severity: 'error', ...(c.field ? { field: c.field } : {}) })]);
    expect(v[0].remediation.length).toBeGreaterThan(10);
    expect(hasErrors(v)).toBe(true);
  });

  test('V2 companion types (aws:s3/bucketV2, …V2 encryption/versioning) are recognised', () => {
    const v2: Record<string, string> = {
      'aws:s3/bucket:Bucket': 'aws:s3/bucketV2:BucketV2',
      'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration':
        'aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2',
      'aws:s3/bucketVersioning:BucketVersioning': 'aws:s3/bucketVersioningV2:BucketVersioningV2',
    };
    const rs = compliantAws().map((r) => ({ ...r, type: v2[r.type] ?? r.type }));
    expect(rs.map((r) => r.type)).toContain('aws:s3/bucketVersioningV2:BucketVersioningV2');
    expect(checkAwsResources(rs, prod)).toEqual([]);
  });

  test('companions match the bucket by name: another bucket’s encryption does not count', () => {
    const rs: AwsResource[] = [...compliantAws(), { type: 'aws:s3/bucket:Bucket', name: 'logs', props: { bucket: 'acme-logs' } }];
    expect(new Set(checkAwsResources(rs, prod).map((v) => `${v.object} ${v.ruleId}`))).toEqual(
      new Set(['aws-s3-encryption', 'aws-s3-versioning', 'aws-s3-public-access-block', 'aws-s3-tls-only'].map((id) => `aws:s3/bucket:Bucket/logs ${id}`)),
    );
  });

  test('Multi-AZ is required only in production; single-resource check of an unencrypted RDS instance', () => {
    const single = checkAwsResource(
      'aws:rds/instance:Instance',
      { storageEncrypted: false, backupRetentionPeriod: 7, deletionProtection: true },
      { mode: 'pulumi' },
      'db',
    );
    expect(single.map((v) => v.ruleId)).toEqual(['aws-rds-encrypted']);
  });

  test('EKS with a private-only endpoint passes without CIDRs', () => {
    const rs = compliantAws();
    find(rs, 'cluster').props.vpcConfig = { endpointPrivateAccess: true, endpointPublicAccess: false };
    expect(checkAwsResources(rs, prod)).toEqual([]);
  });
});
