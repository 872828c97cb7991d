import type { AwsResource } from '../../policies';

export const OIDC = 'oidc.eks.eu-west-1.amazonaws.com/id/ABC123';

/** A stack's AWS resources that pass every AWS rule (AWS provider v7 type tokens). */
export function compliantAws(): Array<AwsResource & { props: Record<string, any> }> {
  return [
    { type: 'aws:s3/bucket:Bucket', name: 'artifacts', props: { bucket: 'acme-prod-artifacts' } },
    {
      type: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
      name: 'artifacts-sse',
      props: {
        bucket: 'acme-prod-artifacts',
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: 'arn:aws:kms:eu-west-1:1:key/k' }, bucketKeyEnabled: true }],
      },
    },
    {
      type: 'aws:s3/bucketVersioning:BucketVersioning',
      name: 'artifacts-versioning',
      props: { bucket: 'acme-prod-artifacts', versioningConfiguration: { status: 'Enabled' } },
    },
    {
      type: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
      name: 'artifacts-pab',
      props: { bucket: 'acme-prod-artifacts', blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    },
    {
      type: 'aws:s3/bucketPolicy:BucketPolicy',
      name: 'artifacts-tls',
      props: {
        bucket: 'acme-prod-artifacts',
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'TlsOnly',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: ['arn:aws:s3:::acme-prod-artifacts', 'arn:aws:s3:::acme-prod-artifacts/*'],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      },
    },
    {
      type: 'aws:eks/cluster:Cluster',
      name: 'cluster',
      props: {
        vpcConfig: { endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24'] },
        enabledClusterLogTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'],
        encryptionConfig: { provider: { keyArn: 'arn:aws:kms:eu-west-1:1:key/k' }, resources: ['secrets'] },
      },
    },
    {
      type: 'aws:rds/instance:Instance',
      name: 'mlflow-db',
      props: { storageEncrypted: true, publiclyAccessible: false, backupRetentionPeriod: 7, deletionProtection: true, multiAz: true },
    },
    {
      type: 'aws:iam/role:Role',
      name: 'tracking-irsa',
      props: {
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: `arn:aws:iam::1:oidc-provider/${OIDC}` },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: { StringEquals: { [`${OIDC}:sub`]: 'system:serviceaccount:mlops-platform:tracking', [`${OIDC}:aud`]: 'sts.amazonaws.com' } },
            },
          ],
        }),
        inlinePolicies: [
          {
            name: 's3',
            policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::acme-prod-artifacts/mlflow/*' }],
            }),
          },
        ],
      },
    },
    {
      type: 'aws:iam/policy:Policy',
      name: 'list-bucket',
      props: { policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::acme-prod-artifacts' }] } },
    },
    { type: 'aws:ecr/repository:Repository', name: 'tracking', props: { imageTagMutability: 'IMMUTABLE', imageScanningConfiguration: { scanOnPush: true } } },
  ];
}
