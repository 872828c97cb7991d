import * as pulumi from '@pulumi/pulumi';
import { synthEnvironment, type CloudOutputs } from '../../stacks/gitops';
import { PLACEHOLDERS, type StackResult } from '../../stacks/program';
import { deployedByPulumi } from '../../stacks/platform';
import { checkAwsResources, checkManifests, hasErrors, type KubeObject } from '../../policies';
import { pulumiToKubeObject } from '../../policies/pack/convert';
import { EKS_LOG_TYPES } from '../../policies/aws/services';
import { requiredSecrets, PLATFORM_SECRETS, secretNamespace } from '../../constructs/secrets';
import { testImageLockFile } from '../helpers/image-lock';
import { installMocks, isSecretValue, ofType, settle, unwrapSecrets, valueOf, OIDC_ISSUER, type Recorded } from './mocks';

export interface StackExpectations {
  /** AWS resources are created (EKS environments). */
  cloud: boolean;
  /** An RDS instance is created. */
  rds: boolean;
}

/** What synthEnvironment writes for the environment, minus the Argo CD Application (GitOps-only by design). */
function chartObjects(env: StackResult['env'], cloud: CloudOutputs): KubeObject[] {
  const files = synthEnvironment(env, { secretsMode: 'pulumi', cloud });
  for (const f of files.filter((x) => !deployedByPulumi(x))) {
    expect(f.objects.every((o) => o.apiVersion.startsWith('argoproj.io/') && o.kind === 'Application')).toBe(true);
  }
  return files.filter(deployedByPulumi).flatMap((f) => f.objects);
}

const id = (o: KubeObject) => `${o.apiVersion}/${o.kind}:${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Kubernetes objects Pulumi would create (from the recorded resources), with their logical names. */
export function kubeResources(recorded: Recorded[]): Array<{ obj: KubeObject; raw: Recorded }> {
  return recorded.flatMap((r) => {
    const obj = r.type.startsWith('kubernetes:') ? pulumiToKubeObject(r.type, unwrapSecrets(r.inputs), r.name) : undefined;
    return obj ? [{ obj, raw: r }] : [];
  });
}

/** Registers the per-environment suite: runs the whole program for `stack` under mocks. */
export function describeStack(stack: string, expect_: StackExpectations, config: Record<string, string> = {}, secretKeys: string[] = []): void {
  // staging and prod require digests: the program reads the loopback registry's test lock.
  const recorded = installMocks(stack, { 'mlops:imageLock': testImageLockFile(), ...config }, secretKeys);
  let result: StackResult;
  let deployedCloud: CloudOutputs;

  beforeAll(async () => {
    const { defineStack } = await import('../../stacks/program');
    result = defineStack();
    await Promise.all(Object.values(result.platform.groups).map((g) => valueOf(g.resources)));
    await settle(recorded);
    // The cloud values the deployed objects carry: the placeholders resolved to what AWS returned.
    deployedCloud = { ...result.planned };
    const roles = result.cloud?.roles ?? {};
    if (roles.tracking) deployedCloud.trackingRoleArn = await valueOf(roles.tracking.arn);
    if (roles.training) deployedCloud.trainingRoleArn = await valueOf(roles.training.arn);
    if (roles.inference) deployedCloud.inferenceRoleArn = await valueOf(roles.inference.arn);
    if (result.cloud?.databaseHost) deployedCloud.databaseHost = await valueOf(result.cloud.databaseHost);
  });

  const awsResources = () => recorded.filter((r) => r.type.startsWith('aws:')).map((r) => ({ type: r.type, name: r.name, props: unwrapSecrets(r.inputs) }));
  const generatedSecretIds = () => new Set(result.platform.secrets.map((_, i) => i));
  const generatedNames = () => new Set(result.credentials.secrets.map((s) => `${s.namespace}/${s.name}`));

  describe(`stack "${stack}": Kubernetes side`, () => {
    it('creates exactly the objects synthEnvironment writes for the environment, plus the generated Secrets', () => {
      const expected = chartObjects(result.env, deployedCloud);
      const secrets = requiredSecrets(result.env, result.planned).map((sid) => {
        const s = PLATFORM_SECRETS[sid];
        return `v1/Secret:${secretNamespace(result.env, s)}/${s.name}`;
      });
      const deployed = kubeResources(recorded).map((k) => id(k.obj));
      expect(expected.length).toBeGreaterThan(0);
      expect([...deployed].sort()).toEqual([...expected.map(id), ...secrets].sort());
      expect(new Set(deployed).size).toBe(deployed.length);
      expect(generatedSecretIds().size).toBe(secrets.length);
    });

    it('deploys each object with the same content the chart has (cloud values filled in, no placeholder left)', () => {
      const expected = new Map(chartObjects(result.env, deployedCloud).map((o) => [id(o), json(o)]));
      for (const { obj } of kubeResources(recorded)) {
        if (obj.kind === 'Secret' && !expected.has(id(obj))) continue;
        expect(json(obj)).toEqual(expected.get(id(obj)));
      }
      expect(JSON.stringify(recorded.map((r) => r.inputs))).not.toMatch(/pulumi-pending-/);
    });

    it('creates Namespaces first, then the generated Secrets, then every other object (after the node groups)', () => {
      const foundation = result.platform.foundation;
      const chartFoundation = result.files
        .filter(deployedByPulumi)
        .flatMap((f) => f.objects)
        .filter((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition');
      expect(foundation.length).toBe(chartFoundation.length);
      for (const ns of Object.values(result.env.namespaces)) expect(chartFoundation.map((o) => o.metadata.name)).toContain(ns);
      const others = kubeResources(recorded).filter(
        (k) => k.obj.kind !== 'Namespace' && !(k.raw.type === 'kubernetes:core/v1:Secret' && generatedNames().has(k.raw.name)),
      );
      expect(others.length).toBeGreaterThan(0);
      for (const { obj } of others) {
        const waits = result.platform.waitsFor.get(`${obj.kind}:${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`);
        expect(waits).toBeDefined();
        for (const r of [...foundation, ...result.platform.secrets, ...(result.cloud?.ready ?? [])]) expect(waits).toContain(r);
      }
      if (result.cloud) expect(result.cloud.ready.length).toBeGreaterThan(1);
    });

    it('marks every generated credential secret', async () => {
      const secrets = ofType(recorded, 'kubernetes:core/v1:Secret');
      expect(secrets.length).toBe(requiredSecrets(result.env, result.planned).length);
      for (const s of secrets) {
        expect(isSecretValue(s.inputs.stringData)).toBe(true);
        const data = unwrapSecrets(s.inputs.stringData) as Record<string, string>;
        for (const v of Object.values(data)) expect(v.length).toBeGreaterThan(0);
      }
      for (const g of result.credentials.secrets) expect(await pulumi.isSecret(g.data)).toBe(true);
      if (result.outputs.adminPassword) expect(await pulumi.isSecret(result.outputs.adminPassword)).toBe(true);
    });

    it('gives the tracking server the same logins the training and inference pods use (it creates those users)', () => {
      const secrets = ofType(recorded, 'kubernetes:core/v1:Secret');
      const values = (name: string, namespace: string) => {
        const s = secrets.find(
          (x) =>
            (x.inputs.metadata as { name: string; namespace: string }).name === name && (x.inputs.metadata as { namespace: string }).namespace === namespace,
        );
        return s && (unwrapSecrets(s.inputs.stringData) as Record<string, string>);
      };
      const { platform, training, serving } = result.env.namespaces;
      const trainingLogin = values(PLATFORM_SECRETS.trackingClientTraining.name, training);
      expect(trainingLogin).toBeDefined();
      expect(values(PLATFORM_SECRETS.trackingUserTraining.name, platform)).toEqual(trainingLogin);
      if (result.env.inference.models.length > 0) {
        const servingLogin = values(PLATFORM_SECRETS.trackingClientServing.name, serving);
        expect(servingLogin).toBeDefined();
        expect(values(PLATFORM_SECRETS.trackingUserServing.name, platform)).toEqual(servingLogin);
        expect(servingLogin!.password).not.toBe(trainingLogin!.password);
      }
    });

    it('passes the Kubernetes policies as deployed', () => {
      const violations = checkManifests(
        kubeResources(recorded).map((k) => k.obj),
        { mode: 'pulumi', environment: result.env },
      );
      expect(violations.filter((v) => v.severity === 'error' && !v.exception)).toEqual([]);
    });

    it('exports the tracking URL and an inference URL per exposed model', () => {
      expect(result.outputs.trackingUrl).toBe(`${result.env.ingress.tls.mode === 'none' ? 'http' : 'https'}://${result.env.ingress.host}`);
      for (const url of Object.values(result.outputs.inferenceUrls)) expect(url).toMatch(/^https?:\/\//);
      for (const name of Object.keys(result.outputs.inferenceUrls)) expect(result.env.inference.models.map((m) => m.name)).toContain(name);
    });
  });

  describe(`stack "${stack}": AWS side`, () => {
    it(expect_.cloud ? 'every AWS resource passes the policies' : 'creates no AWS resource', () => {
      const resources = awsResources();
      if (!expect_.cloud) {
        expect(resources).toEqual([]);
        return;
      }
      expect(resources.length).toBeGreaterThan(20);
      const violations = checkAwsResources(resources, { mode: 'pulumi', environment: result.env });
      expect(violations.filter((v) => v.severity === 'error')).toEqual([]);
      expect(hasErrors(violations)).toBe(false);
    });

    if (!expect_.cloud) return;

    it('EKS logs every control-plane log type and encrypts Secrets with its KMS key', () => {
      const [cluster] = ofType(recorded, 'aws:eks/cluster:Cluster');
      const env = result.env;
      if (env.cluster.kind !== 'eks') throw new Error('not an EKS environment');
      expect(cluster.inputs.name).toBe(env.cluster.name);
      expect(cluster.inputs.version).toBe(env.cluster.version);
      expect([...(cluster.inputs.enabledClusterLogTypes as string[])].sort()).toEqual([...EKS_LOG_TYPES].sort());
      const enc = cluster.inputs.encryptionConfig as { provider: { keyArn: string }; resources: string[] };
      expect(enc.resources).toEqual(['secrets']);
      const keys = ofType(recorded, 'aws:kms/key:Key').filter((k) => enc.provider.keyArn.endsWith(`key/${k.name}`));
      expect(keys).toHaveLength(1);
      expect(keys[0].inputs.enableKeyRotation).toBe(true);
      const vpc = cluster.inputs.vpcConfig as {
        endpointPublicAccess: boolean;
        endpointPrivateAccess: boolean;
        publicAccessCidrs?: string[];
        subnetIds: string[];
      };
      expect(vpc.endpointPrivateAccess).toBe(true);
      if (env.cluster.publicAccessCidrs.length === 0) expect(vpc.endpointPublicAccess).toBe(false);
      else expect(vpc.publicAccessCidrs).toEqual(env.cluster.publicAccessCidrs);
      expect(vpc.subnetIds).toHaveLength(env.cluster.availabilityZones);
      const subnets = ofType(recorded, 'aws:ec2/subnet:Subnet').filter((s) => vpc.subnetIds.includes(`${s.name}-id`));
      expect(new Set(subnets.map((s) => s.inputs.availabilityZone)).size).toBe(env.cluster.availabilityZones);
      for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
      expect(ofType(recorded, 'aws:ec2/natGateway:NatGateway').length).toBeGreaterThanOrEqual(1);
    });

    it('GPU node groups carry the GPU AMI, instance types, scaling bounds, the nvidia.com/gpu taint and the pool labels', () => {
      const groups = ofType(recorded, 'aws:eks/nodeGroup:NodeGroup');
      const pools = result.env.gpu.pools;
      expect(pools.length).toBeGreaterThan(0);
      expect(groups).toHaveLength(pools.length + 1);
      for (const pool of pools) {
        const g = groups.find((x) => x.inputs.nodeGroupNamePrefix === `${pool.name}-`);
        expect(g).toBeDefined();
        expect(g!.inputs.amiType).toBe(pool.amiType);
        expect(String(g!.inputs.amiType)).toMatch(/GPU|NVIDIA/);
        expect(g!.inputs.instanceTypes).toEqual(pool.instanceTypes);
        expect(g!.inputs.scalingConfig).toMatchObject({ minSize: pool.minSize, maxSize: pool.maxSize });
        expect(g!.inputs.taints).toContainEqual({ key: 'nvidia.com/gpu', value: 'true', effect: 'NO_SCHEDULE' });
        expect(g!.inputs.labels).toMatchObject({ ...pool.labels, 'mlops-blueprint.io/gpu-pool': pool.name });
      }
      const system = groups.find((x) => x.inputs.nodeGroupNamePrefix === 'system-');
      expect(system!.inputs.taints).toBeUndefined();
      expect(system!.inputs.amiType).toBe('AL2023_x86_64_STANDARD');
    });

    it('the artifact bucket has SSE-KMS, versioning, a full public access block and a TLS-only policy', () => {
      const [bucket] = ofType(recorded, 'aws:s3/bucket:Bucket');
      const name = result.planned.artifactBucket!;
      expect(bucket.inputs.bucket).toBe(name);
      const of = (type: string) => ofType(recorded, type).filter((r) => r.inputs.bucket === name);
      const [sse] = of('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration');
      expect((sse.inputs.rules as Array<{ applyServerSideEncryptionByDefault: Record<string, string> }>)[0].applyServerSideEncryptionByDefault).toMatchObject({
        sseAlgorithm: 'aws:kms',
        kmsMasterKeyId: expect.stringMatching(/^arn:aws:kms:/),
      });
      expect(of('aws:s3/bucketVersioning:BucketVersioning')[0].inputs.versioningConfiguration).toEqual({ status: 'Enabled' });
      expect(of('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock')[0].inputs).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const policy = JSON.parse(String(of('aws:s3/bucketPolicy:BucketPolicy')[0].inputs.policy));
      expect(policy.Statement).toContainEqual({
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${name}`, `arn:aws:s3:::${name}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    });

    it('IRSA roles trust exactly the ServiceAccounts that carry their ARN, through the cluster OIDC provider', () => {
      const objects = kubeResources(recorded).map((k) => k.obj);
      const roles = ofType(recorded, 'aws:iam/role:Role');
      const issuer = OIDC_ISSUER.replace('https://', '');
      for (const role of roles) {
        const trust = JSON.parse(String(role.inputs.assumeRolePolicy));
        const st = trust.Statement[0];
        if (st.Action !== 'sts:AssumeRoleWithWebIdentity') continue;
        const arn = `arn:aws:iam::123456789012:role/${role.name}-role`;
        const annotated = objects
          .filter((o) => o.kind === 'ServiceAccount' && o.metadata.annotations?.['eks.amazonaws.com/role-arn'] === arn)
          .map((o) => `system:serviceaccount:${o.metadata.namespace}:${o.metadata.name}`);
        const subs = [st.Condition.StringEquals[`${issuer}:sub`]].flat();
        if (role.name.endsWith('-ebs-csi')) expect(subs).toEqual(['system:serviceaccount:kube-system:ebs-csi-controller-sa']);
        else expect(subs.sort()).toEqual(annotated.sort());
        expect(st.Condition.StringEquals[`${issuer}:aud`]).toBe('sts.amazonaws.com');
        expect(st.Principal.Federated).toBe(`arn:aws:iam::123456789012:oidc-provider/${issuer}`);
        for (const sub of subs) expect(sub).toMatch(/^system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+$/);
      }
      // Every annotated ServiceAccount has its role.
      for (const sa of objects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.annotations?.['eks.amazonaws.com/role-arn'])) {
        const arn = sa.metadata.annotations!['eks.amazonaws.com/role-arn'];
        expect(roles.map((r) => `arn:aws:iam::123456789012:role/${r.name}-role`)).toContain(arn);
      }
    });

    it('IRSA permissions reach only the artifact prefix; inference can only read', () => {
      const env = result.env;
      if (env.artifactStore.kind !== 's3') throw new Error('expected an S3 artifact store');
      const bucketArn = `arn:aws:s3:::${result.planned.artifactBucket}`;
      const prefix = env.artifactStore.prefix;
      const policies = ofType(recorded, 'aws:iam/rolePolicy:RolePolicy').filter((p) => /-(tracking|training|inference)$/.test(p.name));
      // A role per identity whose placeholder ARN the chart put on a ServiceAccount.
      const chart = result.files.flatMap((f) => f.objects);
      const annotated = (Object.entries(PLACEHOLDERS) as Array<[string, string]>)
        .filter(
          ([key, arn]) =>
            key.endsWith('RoleArn') && chart.some((o) => o.kind === 'ServiceAccount' && o.metadata.annotations?.['eks.amazonaws.com/role-arn'] === arn),
        )
        .map(([key]) => key.replace('RoleArn', ''));
      expect(policies.map((p) => p.name.replace(/^.*-/, '')).sort()).toEqual(annotated.sort());
      for (const p of policies) {
        const identity = p.name.replace(/^.*-/, '');
        const statements = JSON.parse(String(p.inputs.policy)).Statement as Array<{
          Effect: string;
          Action: string | string[];
          Resource: string | string[];
          Condition?: Record<string, Record<string, unknown>>;
        }>;
        for (const st of statements) {
          expect(st.Effect).toBe('Allow');
          const actions = [st.Action].flat();
          const resources = [st.Resource].flat();
          if (actions.includes('s3:ListBucket')) {
            expect(resources).toEqual([bucketArn]);
            expect(st.Condition).toEqual({ StringLike: { 's3:prefix': [prefix, `${prefix}/*`] } });
          } else if (actions.some((a) => a.startsWith('s3:'))) {
            expect(resources).toEqual([`${bucketArn}/${prefix}/*`]);
            if (identity === 'inference') expect(actions).toEqual(['s3:GetObject']);
            if (identity !== 'tracking') expect(actions).not.toContain('s3:DeleteObject');
          } else {
            expect(actions.every((a) => a.startsWith('kms:'))).toBe(true);
            expect(resources).toHaveLength(1);
            if (identity === 'inference') expect(actions).toEqual(['kms:Decrypt']);
          }
        }
      }
    });

    it(
      expect_.rds
        ? 'RDS PostgreSQL is private, encrypted, Multi-AZ, backed up ≥ 7 days, deletion-protected, with the generated password'
        : 'creates no RDS database',
      async () => {
        const dbs = ofType(recorded, 'aws:rds/instance:Instance');
        if (!expect_.rds) {
          expect(dbs).toEqual([]);
          return;
        }
        expect(dbs).toHaveLength(1);
        const db = dbs[0].inputs;
        expect(db).toMatchObject({
          engine: 'postgres',
          publiclyAccessible: false,
          storageEncrypted: true,
          multiAz: true,
          deletionProtection: true,
          skipFinalSnapshot: false,
        });
        expect(Number(db.backupRetentionPeriod)).toBeGreaterThanOrEqual(7);
        expect(isSecretValue(db.password)).toBe(true);
        const trackingDb = ofType(recorded, 'kubernetes:core/v1:Secret').find((s) => (s.inputs.metadata as { name: string }).name === 'tracking-db');
        expect((unwrapSecrets(trackingDb!.inputs.stringData) as Record<string, string>).password).toBe(unwrapSecrets(db.password));
        expect(db.username).toBe((unwrapSecrets(trackingDb!.inputs.stringData) as Record<string, string>).username);
        const sgRules = ofType(recorded, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule');
        expect(sgRules.map((r) => r.inputs)).toEqual([expect.objectContaining({ referencedSecurityGroupId: 'sg-0cluster', fromPort: 5432, toPort: 5432 })]);
        expect(await valueOf(result.cloud!.databaseHost!)).toMatch(/\.rds\.amazonaws\.com$/);
      },
    );

    it('ECR repositories for the runtime images have immutable tags and scan on push', () => {
      const repos = ofType(recorded, 'aws:ecr/repository:Repository');
      expect(repos.map((r) => r.inputs.name).sort()).toEqual(['mlops-blueprint/inference', 'mlops-blueprint/tracking']);
      for (const r of repos) expect(r.inputs).toMatchObject({ imageTagMutability: 'IMMUTABLE', imageScanningConfiguration: { scanOnPush: true } });
    });

    it('exports the cluster name, bucket and a secret kubeconfig that uses aws eks get-token', async () => {
      if (result.env.cluster.kind !== 'eks') throw new Error('not EKS');
      expect(await valueOf(result.outputs.clusterName)).toBe(result.env.cluster.name);
      expect(await valueOf(result.outputs.artifactBucket!)).toBe(result.planned.artifactBucket);
      expect(await pulumi.isSecret(result.outputs.kubeconfig!)).toBe(true);
      const kubeconfig = await valueOf(result.outputs.kubeconfig!);
      expect(kubeconfig).toContain('get-token');
      expect(kubeconfig).toContain(`--cluster-name`);
      expect(kubeconfig).toContain(result.env.cluster.name);
    });
  });
}
