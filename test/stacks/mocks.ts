import * as pulumi from '@pulumi/pulumi';

/** Pulumi's wire markers for a secret value (`{ [SIG_KEY]: SECRET_SIG, value }`), as mock inputs carry them. */
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const OIDC_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';

/** A resource the program registered: its type token, logical name and inputs (secrets still marked). */
export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export function isSecretValue(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** The inputs with every secret marker replaced by its value (what the policies see at deploy time). */
export function unwrapSecrets<T>(v: T): T {
  if (isSecretValue(v)) return unwrapSecrets((v as unknown as { value: T }).value);
  if (Array.isArray(v)) return v.map(unwrapSecrets) as unknown as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)])) as T;
  return v;
}

function awsState(type: string, name: string, inputs: Record<string, unknown>): { id: string; state: Record<string, unknown> } {
  const [, mod, kind] = /^aws:([^/]+)\/([^:]+):/.exec(type) ?? [];
  const state: Record<string, unknown> = { ...inputs, arn: `arn:aws:${mod}:${REGION}:${ACCOUNT}:${kind}/${name}` };
  let id = `${name}-id`;
  switch (type) {
    case 'aws:s3/bucket:Bucket':
      id = typeof inputs.bucket === 'string' ? inputs.bucket : name;
      Object.assign(state, { bucket: id, arn: `arn:aws:s3:::${id}` });
      break;
    case 'aws:iam/role:Role':
      id = typeof inputs.name === 'string' ? inputs.name : `${name}-role`;
      Object.assign(state, { name: id, arn: `arn:aws:iam::${ACCOUNT}:role/${id}` });
      break;
    case 'aws:kms/key:Key':
      Object.assign(state, { keyId: `${name}-key-id`, arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${name}` });
      break;
    case 'aws:eks/cluster:Cluster':
      Object.assign(state, {
        endpoint: `https://${String(inputs.name).toUpperCase()}.gr7.${REGION}.eks.amazonaws.com`,
        certificateAuthority: { data: 'TU9DSy1DQQ==' },
        identities: [{ oidcs: [{ issuer: OIDC_ISSUER }] }],
        vpcConfig: { ...(inputs.vpcConfig as object), clusterSecurityGroupId: 'sg-0cluster', vpcId: 'vpc-id' },
      });
      break;
    case 'aws:iam/openIdConnectProvider:OpenIdConnectProvider':
      state.arn = `arn:aws:iam::${ACCOUNT}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, '')}`;
      break;
    case 'aws:rds/instance:Instance':
      Object.assign(state, { address: `${String(inputs.identifier)}.c9akciq32.${REGION}.rds.amazonaws.com`, port: 5432 });
      break;
    case 'aws:ecr/repository:Repository':
      state.repositoryUrl = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${String(inputs.name)}`;
      break;
  }
  return { id, state };
}

/**
 * Replaces the Pulumi engine with mocks for one stack (call once per test file: jest gives each file its
 * own module registry, so its own runtime). Records every resource; outputs are the inputs plus what
 * AWS would compute (ARNs, endpoints), and generated passwords are deterministic.
 */
export function installMocks(stack: string, config: Record<string, string> = {}, secretKeys: string[] = []): Recorded[] {
  const recorded: Recorded[] = [];
  pulumi.runtime.setAllConfig(config, secretKeys);
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
        if (args.type.startsWith('aws:')) return awsState(args.type, args.name, args.inputs);
        if (args.type === 'random:index/randomPassword:RandomPassword') {
          const result = `Pw${args.name.replace(/[^A-Za-z0-9]/g, '')}0`.padEnd(Number(args.inputs.length), 'x').slice(0, Number(args.inputs.length));
          return { id: `${args.name}-id`, state: { ...args.inputs, result, bcryptHash: `$2a$10$${'m'.repeat(53)}` } };
        }
        if (args.type === 'random:index/randomString:RandomString') {
          return { id: `${args.name}-id`, state: { ...args.inputs, result: 'AKIAMOCK'.padEnd(Number(args.inputs.length), '7') } };
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        switch (args.token) {
          case 'aws:index/getAvailabilityZones:getAvailabilityZones':
            return { names: ['a', 'b', 'c'].map((z) => `${REGION}${z}`), zoneIds: ['euw1-az1', 'euw1-az2', 'euw1-az3'], id: REGION };
          case 'aws:eks/getCluster:getCluster':
            return {
              name: args.inputs.name,
              endpoint: 'https://EXISTING.gr7.eu-west-1.eks.amazonaws.com',
              certificateAuthorities: [{ data: 'TU9DSy1DQQ==' }],
              identities: [{ oidcs: [{ issuer: OIDC_ISSUER }] }],
              vpcConfig: { clusterSecurityGroupId: 'sg-0existing', vpcId: 'vpc-existing', subnetIds: ['subnet-a', 'subnet-b'] },
            };
          case 'aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider':
            return { arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${String(args.inputs.url).replace(/^https:\/\//, '')}`, url: args.inputs.url };
          default:
            return args.inputs;
        }
      },
    },
    'mlops-blueprint',
    stack,
    false,
  );
  return recorded;
}

/** The value of an Output (mocks make every value known). */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Waits until no resource has been registered for a while (ConfigGroups create their objects asynchronously). */
export async function settle(recorded: Recorded[]): Promise<void> {
  let seen = -1;
  let quiet = 0;
  while (quiet < 3) {
    await new Promise((r) => setTimeout(r, 20));
    if (recorded.length === seen) quiet += 1;
    else {
      seen = recorded.length;
      quiet = 0;
    }
  }
}

export const ofType = (recorded: Recorded[], type: string) => recorded.filter((r) => r.type === type);
