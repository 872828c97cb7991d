import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

export interface ArtifactBucketArgs {
  /** Bucket name (global). */
  bucketName: string;
  /** Days after which non-current object versions are removed. Default: 90. */
  noncurrentVersionExpirationDays?: number;
}

/**
 * The MLflow artifact bucket: SSE-KMS with its own rotated key (bucket keys on, to cut KMS calls),
 * versioning, all public access blocked, ACLs disabled, and a policy denying any request without TLS.
 */
export class ArtifactBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly key: aws.kms.Key;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  readonly keyArn: pulumi.Output<string>;

  constructor(name: string, args: ArtifactBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:ArtifactBucket', name, {}, opts);
    const parent = { parent: this };
    this.key = new aws.kms.Key(`${name}-key`, { description: `SSE-KMS of s3://${args.bucketName}`, enableKeyRotation: true, deletionWindowInDays: 30 }, parent);
    new aws.kms.Alias(`${name}-key`, { name: `alias/${args.bucketName}`, targetKeyId: this.key.keyId }, parent);
    // Artifacts are the experiment record: never destroyed with the stack while objects remain.
    this.bucket = new aws.s3.Bucket(name, { bucket: args.bucketName, forceDestroy: false }, parent);
    const bucket = this.bucket.id;

    new aws.s3.BucketOwnershipControls(name, { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } }, parent);
    const pab = new aws.s3.BucketPublicAccessBlock(
      name,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      name,
      { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true }] },
      parent,
    );
    const versioning = new aws.s3.BucketVersioning(name, { bucket, versioningConfiguration: { status: 'Enabled' } }, parent);
    new aws.s3.BucketLifecycleConfiguration(
      name,
      {
        bucket,
        rules: [
          { id: 'abort-incomplete-multipart-uploads', status: 'Enabled', filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
          {
            id: 'expire-noncurrent-versions',
            status: 'Enabled',
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays ?? 90 },
          },
        ],
      },
      { parent: this, dependsOn: [versioning] },
    );
    new aws.s3.BucketPolicy(
      name,
      {
        bucket,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      },
      // After the public access block, so the policy is never evaluated against a bucket without it.
      { parent: this, dependsOn: [pab] },
    );
    this.name = this.bucket.bucket;
    this.arn = this.bucket.arn;
    this.keyArn = this.key.arn;
    this.registerOutputs({ name: this.name, arn: this.arn, keyArn: this.keyArn });
  }
}
