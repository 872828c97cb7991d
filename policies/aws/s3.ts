import type { Finding } from '../rule';
import { list, policyStatements, type AwsResource, type AwsRule } from './resources';
import { asArray, asRecord } from '../../core/kube-objects';

export const S3_BUCKET_TYPES = ['aws:s3/bucket:Bucket', 'aws:s3/bucketV2:BucketV2'];
const SSE_TYPES = [
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  'aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2',
];
const VERSIONING_TYPES = ['aws:s3/bucketVersioning:BucketVersioning', 'aws:s3/bucketVersioningV2:BucketVersioningV2'];
const PAB_TYPE = 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock';
const POLICY_TYPE = 'aws:s3/bucketPolicy:BucketPolicy';

/**
 * With AWS provider v7 a bucket's encryption, versioning, public access block and policy are separate
 * resources that point at it by its name (`bucket` prop) — or, in a program, by its id.
 */
function companions(bucket: AwsResource, all: readonly AwsResource[], types: readonly string[]): AwsResource[] {
  const keys = new Set([bucket.props.bucket, bucket.props.id, bucket.name].filter((k) => typeof k === 'string' && k));
  return all.filter((r) => types.includes(r.type) && keys.has(r.props.bucket));
}

const SSE_ALGORITHMS = ['aws:kms', 'aws:kms:dsse', 'AES256'];

function encrypted(config: unknown): boolean {
  const rules = asArray(asRecord(config).rules ?? asRecord(config).rule);
  return rules.some((r) => SSE_ALGORITHMS.includes(String(asRecord(asRecord(r).applyServerSideEncryptionByDefault).sseAlgorithm)));
}

function bucketRule(
  id: string,
  description: string,
  remediation: string,
  check: (b: AwsResource, all: readonly AwsResource[]) => Finding | undefined,
): AwsRule {
  return { id, severity: 'error', description, remediation, types: S3_BUCKET_TYPES, check: (b, all) => [check(b, all) ?? []].flat() };
}

export const s3Rules: AwsRule[] = [
  bucketRule(
    'aws-s3-encryption',
    'S3 buckets have default server-side encryption (SSE-KMS or SSE-S3)',
    'Add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms for the bucket.',
    (b, all) => {
      if (encrypted(b.props.serverSideEncryptionConfiguration)) return undefined;
      return companions(b, all, SSE_TYPES).some((c) => encrypted(c.props))
        ? undefined
        : { field: 'serverSideEncryptionConfiguration', message: `bucket "${b.name}" has no default encryption configuration` };
    },
  ),
  bucketRule(
    'aws-s3-versioning',
    'S3 buckets have versioning enabled',
    'Add a BucketVersioning with versioningConfiguration.status Enabled for the bucket.',
    (b, all) => {
      if (asRecord(b.props.versioning).enabled === true) return undefined;
      const on = companions(b, all, VERSIONING_TYPES).some((c) => asRecord(c.props.versioningConfiguration).status === 'Enabled');
      return on ? undefined : { field: 'versioning', message: `bucket "${b.name}" has no versioning enabled` };
    },
  ),
  bucketRule(
    'aws-s3-public-access-block',
    'S3 buckets block all public access',
    'Add a BucketPublicAccessBlock with all four block/ignore/restrict flags true.',
    (b, all) => {
      const flags = ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets'];
      const pabs = companions(b, all, [PAB_TYPE]);
      if (pabs.length === 0) return { field: 'publicAccessBlock', message: `bucket "${b.name}" has no BucketPublicAccessBlock` };
      const missing = flags.filter((f) => !pabs.some((p) => p.props[f] === true));
      return missing.length
        ? { field: `publicAccessBlock.${missing[0]}`, message: `bucket "${b.name}" public access block does not set ${missing.join(', ')}` }
        : undefined;
    },
  ),
  bucketRule(
    'aws-s3-tls-only',
    'S3 bucket policies deny requests without TLS',
    'Add a bucket policy statement denying s3:* when aws:SecureTransport is false.',
    (b, all) => {
      const docs = [b.props.policy, ...companions(b, all, [POLICY_TYPE]).map((p) => p.props.policy)];
      const denies = docs.some((d) =>
        (policyStatements(d) ?? []).some(
          (s) =>
            s.Effect === 'Deny' &&
            list(s.Action).some((a) => a === 's3:*' || a === '*') &&
            String(asRecord(asRecord(s.Condition).Bool)['aws:SecureTransport']) === 'false',
        ),
      );
      return denies ? undefined : { field: 'policy', message: `bucket "${b.name}" has no policy denying non-TLS (aws:SecureTransport=false) requests` };
    },
  ),
];
