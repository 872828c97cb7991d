import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalWorkspace, PulumiCommand, type Stack } from '@pulumi/pulumi/automation';
import { loadEnvironment } from '../../environments';
import { PLATFORM_SECRETS, requiredSecrets, secretNamespace } from '../../constructs/secrets';
import { synthEnvironment } from '../../stacks/gitops';
import { deployedByPulumi } from '../../stacks/platform';
import type { KubeObject } from '../../policies/types';
import { describeWithTool } from '../helpers/tools';
import { cacheAvailability, componentDirs, pulumiKubernetesPluginVersion } from './cache';
import { startControlPlane, type ControlPlane } from './control-plane';
import { createNodes, createVolumes, list } from './cluster-setup';
import { ifStarted } from '../helpers/lifecycle';

/**
 * The dev stack through the real Pulumi engine (the CLI built from github.com/pulumi/pulumi/pkg/v3) and the real
 * Kubernetes provider (built from pulumi-kubernetes/provider/v4, installed with `pulumi plugin install --file`),
 * against the test control plane. The Automation API runs stacks/program.ts as an inline program, so this Node
 * process is the language host. The @pulumi/random provider cannot be built here (its module is not served), so
 * the stack runs with `mlops:credentialSource: config`: every Secret's values come from stack config and nothing
 * is generated. The generated-credentials path stays covered by the mock tests in test/stacks.
 */
const env = loadEnvironment('dev');
const availability = cacheAvailability(['kubernetes', 'etcd', 'kwok', 'pulumi', 'pulumi-kubernetes']);
if (!availability.ok)
  availability.reason += ' — the engine test runs dev with mlops:credentialSource config (the @pulumi/random provider is not buildable here)';

const key = (o: Pick<KubeObject, 'kind' | 'metadata'>) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** What `mlops synth` writes for dev (Pulumi deploys every part, not the Argo CD Application), plus its Secrets. */
function expectedObjects(): string[] {
  const chart = synthEnvironment(env)
    .filter(deployedByPulumi)
    .flatMap((f) => f.objects);
  const secrets = requiredSecrets(env).map((id) => ({
    kind: 'Secret',
    metadata: { name: PLATFORM_SECRETS[id].name, namespace: secretNamespace(env, PLATFORM_SECRETS[id]) },
  }));
  return [...chart, ...secrets].map(key).sort();
}

/** Supplied values for every dev Secret (what an operator puts in `mlops:credentials`). */
function credentials(): Record<string, Record<string, string>> {
  return Object.fromEntries(requiredSecrets(env).map((id) => [id, Object.fromEntries(PLATFORM_SECRETS[id].keys.map((k) => [k, `${id}-${k}-0123456789`]))]));
}

/**
 * The ingress controller's part, which no component here plays: once an Ingress is admitted, publish an address
 * in its status, as ingress-nginx does. The provider waits for that before it calls the Ingress ready.
 */
function publishIngressAddresses(cp: ControlPlane): () => void {
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      for (const ing of await list(cp, 'ingresses').catch(() => [] as KubeObject[])) {
        if ((ing.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress?.length) continue;
        const patch = JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } } });
        await cp.kubectl(['patch', 'ingress', ing.metadata.name, '-n', String(ing.metadata.namespace), '--subresource=status', '--type=merge', '-p', patch], {
          allowFailure: true,
        });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const running = loop();
  return () => {
    stopped = true;
    void running;
  };
}

/** Kubernetes objects in the stack's state: `Kind/namespace/name` of every provider resource but the provider itself. */
async function stackObjects(stack: Stack): Promise<string[]> {
  const state = (await stack.exportStack()).deployment as {
    resources?: Array<{ type: string; outputs?: { kind?: string; metadata?: { name: string; namespace?: string } } }>;
  };
  return (state.resources ?? [])
    .filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:yaml') && r.type !== 'pulumi:providers:kubernetes' && r.outputs?.kind)
    .map((r) => key({ kind: r.outputs!.kind!, metadata: r.outputs!.metadata! }))
    .sort();
}

describeWithTool('dev through the real Pulumi engine (pulumi up / up / destroy on the test control plane)', availability, () => {
  let cp: ControlPlane;
  let stack: Stack;
  let stopIngress: () => void = () => undefined;
  const dirs: string[] = [];

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNodes(cp, env);
    await createVolumes(
      cp,
      synthEnvironment(env).flatMap((f) => f.objects),
    );
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-pulumi-home-'));
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-pulumi-state-'));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-pulumi-work-'));
    dirs.push(home, backend, work);
    const pulumiBin = path.join(componentDirs().pulumi, 'bin', 'pulumi');
    const envVars = {
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: `file://${backend}`,
      PULUMI_CONFIG_PASSPHRASE: 'test-only-passphrase',
      PULUMI_SKIP_UPDATE_CHECK: 'true',
    };
    const provider = path.join(componentDirs()['pulumi-kubernetes'], 'bin', 'pulumi-resource-kubernetes');
    execFileSync(pulumiBin, ['plugin', 'install', 'resource', 'kubernetes', pulumiKubernetesPluginVersion(), '--file', provider], {
      env: { ...process.env, ...envVars },
      stdio: 'pipe',
    });
    stack = await LocalWorkspace.createOrSelectStack(
      {
        stackName: 'dev',
        projectName: 'mlops-blueprint',
        program: async () => {
          const { defineStack } = await import('../../stacks/program');
          return defineStack().outputs;
        },
      },
      {
        workDir: work,
        pulumiHome: home,
        envVars,
        pulumiCommand: await PulumiCommand.get({ root: componentDirs().pulumi, skipVersionCheck: true }),
        projectSettings: { name: 'mlops-blueprint', runtime: 'nodejs', backend: { url: `file://${backend}` } },
      },
    );
    await stack.setAllConfig({
      'mlops:kubeconfig': { value: cp.kubeconfig },
      'mlops:kubeContext': { value: 'test' },
      'mlops:credentialSource': { value: 'config' },
      'mlops:credentials': { value: JSON.stringify(credentials()), secret: true },
    });
    stopIngress = publishIngressAddresses(cp);
  }, 300_000);

  afterAll(async () => {
    stopIngress();
    await ifStarted(cp)?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }, 120_000);

  test('pulumi up creates exactly the objects mlops synth writes for dev, plus its Secrets; the workloads become ready', async () => {
    const result = await stack.up({ onOutput: () => undefined });
    expect(result.summary.result).toBe('succeeded');
    expect(await stackObjects(stack)).toEqual(expectedObjects());
    const live = new Set<string>();
    for (const ns of Object.values(env.namespaces)) {
      for (const kind of [
        'configmaps',
        'deployments',
        'statefulsets',
        'jobs',
        'cronjobs',
        'services',
        'secrets',
        'serviceaccounts',
        'networkpolicies',
        'ingresses',
        'horizontalpodautoscalers',
        'poddisruptionbudgets',
        'roles',
        'resourcequotas',
        'limitranges',
      ]) {
        for (const o of await list(cp, kind, ns)) live.add(key(o));
      }
    }
    expect(expectedObjects().filter((k) => !k.startsWith('Namespace/') && !live.has(k))).toEqual([]);
    // Namespaces that run Deployments (ml-training runs only Jobs).
    const withDeployments = new Set(
      synthEnvironment(env)
        .flatMap((f) => f.objects)
        .filter((o) => o.kind === 'Deployment')
        .map((o) => String(o.metadata.namespace)),
    );
    for (const ns of withDeployments) {
      await cp.kubectl(['wait', '--for=condition=Available', 'deployment', '--all', '-n', ns, '--timeout=120s'], { timeoutMs: 150_000 });
    }
    const sets = await list(cp, 'statefulsets', env.namespaces.platform);
    expect(sets.map((s) => [s.metadata.name, (s.status as { readyReplicas?: number }).readyReplicas])).toEqual(
      sets.map((s) => [s.metadata.name, (s.spec as { replicas: number }).replicas]),
    );
  }, 900_000);

  test('a second pulumi up reports no changes', async () => {
    const result = await stack.up({ expectNoChanges: true, onOutput: () => undefined });
    expect(Object.keys(result.summary.resourceChanges ?? {})).toEqual(['same']);
  }, 600_000);

  test('pulumi destroy removes everything, the namespaces included (the garbage collector runs)', async () => {
    const result = await stack.destroy({ onOutput: () => undefined });
    expect(result.summary.result).toBe('succeeded');
    expect(await stackObjects(stack)).toEqual([]);
    for (const ns of Object.values(env.namespaces)) {
      const r = await cp.kubectl(['get', 'namespace', ns], { allowFailure: true });
      expect({ ns, code: r.code, err: r.stderr.trim() }).toEqual({ ns, code: 1, err: expect.stringContaining('NotFound') });
    }
  }, 900_000);
});
