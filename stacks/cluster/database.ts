import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

export interface DatabaseArgs {
  /** Instance identifier. */
  identifier: string;
  vpcId: pulumi.Input<string>;
  /** Private subnets, in at least two zones. */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Security groups allowed to connect on 5432 (the EKS cluster security group). */
  clientSecurityGroupIds: pulumi.Input<string>[];
  instanceClass: string;
  allocatedStorageGiB: number;
  /** Storage autoscaling ceiling. Default: 4 × allocatedStorageGiB. */
  maxAllocatedStorageGiB?: number;
  engineVersion: string;
  multiAz: boolean;
  backupRetentionDays: number;
  deletionProtection: boolean;
  databaseName: string;
  username: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

/**
 * RDS PostgreSQL for the tracking store: private (own subnet group, no public address, reachable only
 * from the cluster security group), encrypted with its own KMS key, TLS forced, automated backups,
 * deletion protection and a final snapshot, Multi-AZ as configured.
 */
export class Database extends pulumi.ComponentResource {
  readonly instance: aws.rds.Instance;
  readonly address: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:Database', name, {}, opts);
    const parent = { parent: this };
    if (args.backupRetentionDays < 7) throw new Error(`database "${args.identifier}": backupRetentionDays must be at least 7`);
    const key = new aws.kms.Key(
      `${name}-key`,
      { description: `Storage encryption of RDS ${args.identifier}`, enableKeyRotation: true, deletionWindowInDays: 30 },
      parent,
    );
    const subnets = new aws.rds.SubnetGroup(name, { subnetIds: args.subnetIds, description: `Private subnets of ${args.identifier}` }, parent);
    const sg = new aws.ec2.SecurityGroup(name, { vpcId: args.vpcId, description: `PostgreSQL ${args.identifier}: clients from the EKS cluster only` }, parent);
    args.clientSecurityGroupIds.forEach((source, i) => {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-client-${i}`,
        {
          securityGroupId: sg.id,
          referencedSecurityGroupId: source,
          ipProtocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
          description: 'PostgreSQL from the cluster',
        },
        parent,
      );
    });
    const major = args.engineVersion.split('.')[0];
    const params = new aws.rds.ParameterGroup(
      name,
      {
        family: `postgres${major}`,
        description: `${args.identifier}: TLS only, connection logging`,
        parameters: [
          { name: 'rds.force_ssl', value: '1' },
          { name: 'log_connections', value: '1' },
        ],
      },
      parent,
    );
    this.instance = new aws.rds.Instance(
      name,
      {
        identifier: args.identifier,
        engine: 'postgres',
        engineVersion: args.engineVersion,
        instanceClass: args.instanceClass,
        allocatedStorage: args.allocatedStorageGiB,
        maxAllocatedStorage: args.maxAllocatedStorageGiB ?? args.allocatedStorageGiB * 4,
        storageType: 'gp3',
        storageEncrypted: true,
        kmsKeyId: key.arn,
        dbName: args.databaseName,
        username: args.username,
        password: pulumi.secret(args.password),
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [sg.id],
        parameterGroupName: params.name,
        publiclyAccessible: false,
        multiAz: args.multiAz,
        backupRetentionPeriod: args.backupRetentionDays,
        deletionProtection: args.deletionProtection,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: `${args.identifier}-final`,
        copyTagsToSnapshot: true,
        autoMinorVersionUpgrade: true,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: key.arn,
        enabledCloudwatchLogsExports: ['postgresql', 'upgrade'],
      },
      parent,
    );
    this.address = this.instance.address;
    this.port = this.instance.port;
    this.registerOutputs({ address: this.address, port: this.port });
  }
}
