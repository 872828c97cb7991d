import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import type { PolicyResource, StackValidationArgs } from '@pulumi/policy';
import { crossGuardPolicies } from '../../policies/pack/policies';
import { kubeTypeToApiVersionKind, pulumiToKubeObject } from '../../policies/pack/convert';
import { awsRules, kubeRules, type KubeObject } from '../../policies';
import { compliantSet, get } from './fixtures';
import { compliantAws } from './aws-fixtures';

const STACK = 'staging';

/** A Pulumi kubernetes type token for an object: `apps/v1` Deployment → `kubernetes:apps/v1:Deployment`. */
function kubeType(o: KubeObject): string {
  return `kubernetes:${o.apiVersion.includes('/') ? o.apiVersion : `core/${o.apiVersion}`}:${o.kind}`;
}

function resource(type: string, name: string, props: Record<string, unknown>): PolicyResource {
  return {
    type,
    name,
    props,
    urn: `urn:pulumi:${STACK}::mlops-blueprint::${type}::${name}`,
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  } as PolicyResource;
}

/** Runs every pack policy's validateStack on synthetic resources, as the engine would; returns each report. */
async function runPack(resources: PolicyResource[]): Promise<Array<{ policy: string; message: string; urn?: string }>> {
  const reports: Array<{ policy: string; message: string; urn?: string }> = [];
  const args = {
    resources,
    stackTags: new Map(),
    getConfig: () => ({}) as never,
    notApplicable: () => {
      throw new Error('not applicable');
    },
  } as StackValidationArgs;
  for (const p of crossGuardPolicies) await p.validateStack(args, (message, urn) => reports.push({ policy: p.name, message, urn }));
  return reports;
}

function stackResources(kube: KubeObject[] = compliantSet(), aws = compliantAws()): PolicyResource[] {
  return [
    ...kube.map((o) => resource(kubeType(o), `${o.kind.toLowerCase()}-${o.metadata.name}`, o as unknown as Record<string, unknown>)),
    ...aws.map((r) => resource(r.type, r.name, r.props)),
    resource('pulumi:providers:kubernetes', 'k8s', {}),
  ];
}

describe('CrossGuard policy pack', () => {
  test('PulumiPolicy.yaml declares a nodejs pack and every rule is a policy with its enforcement level', () => {
    const manifest = parse(fs.readFileSync(path.join(__dirname, '../../policies/pack/PulumiPolicy.yaml'), 'utf8'));
    expect(manifest.runtime).toBe('nodejs');
    // A rule whose severity the environment decides is two policies: mandatory where it is an error, advisory elsewhere.
    const names = [...kubeRules, ...awsRules].flatMap((r) => ('severityIn' in r && r.severityIn ? [r.id, `${r.id}-advisory`] : [r.id]));
    expect(crossGuardPolicies.map((p) => p.name).sort()).toEqual(names.sort());
    const level = Object.fromEntries(crossGuardPolicies.map((p) => [p.name, p.enforcementLevel]));
    expect(level['no-privileged']).toBe('mandatory');
    expect(level['image-digest']).toBe('mandatory');
    expect(level['image-digest-advisory']).toBe('advisory');
  });

  test('Pulumi type tokens convert to apiVersion/kind', () => {
    expect(kubeTypeToApiVersionKind('kubernetes:core/v1:Service')).toEqual({ apiVersion: 'v1', kind: 'Service' });
    expect(kubeTypeToApiVersionKind('kubernetes:networking.k8s.io/v1:Ingress')).toEqual({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' });
    expect(kubeTypeToApiVersionKind('kubernetes:apps/v1:DeploymentPatch')).toBeUndefined();
    expect(kubeTypeToApiVersionKind('kubernetes:yaml:ConfigFile')).toBeUndefined();
    expect(pulumiToKubeObject('kubernetes:core/v1:ConfigMap', { data: {} }, 'cfg')?.metadata.name).toBe('cfg');
  });

  test('a compliant stack (kubernetes:* and aws:* resources) gets no report', async () => {
    expect(await runPack(stackResources())).toEqual([]);
  });

  test('violations are reported by the policy named after the rule, on the offending resource URN', async () => {
    const kube = compliantSet();
    get(kube, 'Deployment', 'web').spec.template.spec.containers[0].securityContext.privileged = true;
    get(kube, 'Service', 'web').spec.selector = { 'app.kubernetes.io/name': 'nobody' };
    const aws = compliantAws().filter((r) => r.name !== 'artifacts-pab');
    const reports = await runPack(stackResources(kube, aws));
    expect(reports).toEqual(
      expect.arrayContaining([
        {
          policy: 'no-privileged',
          message: expect.stringMatching(/^Deployment\/apps\/web spec\.template\.spec\.containers\[0\]\.securityContext\.privileged: .*Fix: /),
          urn: `urn:pulumi:${STACK}::mlops-blueprint::kubernetes:apps/v1:Deployment::deployment-web`,
        },
        {
          policy: 'service-selects-pods',
          message: expect.stringContaining('Service/apps/web'),
          urn: `urn:pulumi:${STACK}::mlops-blueprint::kubernetes:core/v1:Service::service-web`,
        },
        {
          policy: 'aws-s3-public-access-block',
          message: expect.stringContaining('no BucketPublicAccessBlock'),
          urn: `urn:pulumi:${STACK}::mlops-blueprint::aws:s3/bucket:Bucket::artifacts`,
        },
      ]),
    );
    expect(reports).toHaveLength(3);
  });

  test('an image pinned by tag only is a mandatory violation in staging (images.requireDigests), advisory where digests are not required', async () => {
    const kube = compliantSet();
    get(kube, 'Deployment', 'web').spec.template.spec.containers[0].image = 'registry.example.com/acme/web:1.2.3';
    expect((await runPack(stackResources(kube, []))).map((r) => r.policy)).toEqual(['image-digest']);
    const dev = stackResources(kube, []).map((r) => ({ ...r, urn: r.urn.replace(`urn:pulumi:${STACK}::`, 'urn:pulumi:dev::') }));
    expect((await runPack(dev)).map((r) => r.policy)).toEqual(['image-digest-advisory']);
  });

  test('the stack name selects the environment: LoadBalancer is refused where the environment does not allow it', async () => {
    const kube = compliantSet();
    get(kube, 'Service', 'web').spec.type = 'LoadBalancer';
    expect((await runPack(stackResources(kube, []))).map((r) => r.policy)).toEqual(['no-load-balancer']);
  });
});
