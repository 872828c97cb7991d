import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { EnvironmentConfig } from '../../environments';
import type { KubeObject } from '../../policies/types';
import { asArray, asRecord } from '../../policies/rule';
import { gpuPoolNodeLabels } from '../../constructs/common';
import { allCrdFiles } from './cache';
import { KUBERNETES_VERSION, KWOK_NODE_ANNOTATION, type ControlPlane } from './control-plane';

/** Nodes the suites create: what the environment's node groups would give a real cluster. */
export interface Nodes {
  cpu: string[];
  /** Pool name → its node names. */
  gpu: Record<string, string[]>;
}

export const GPUS_PER_NODE = 4;
const ZONES = ['zone-a', 'zone-b', 'zone-c'];

function node(name: string, zone: string, labels: Record<string, string>, taints: unknown[], capacity: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'topology.kubernetes.io/zone': zone, ...labels },
    },
    spec: { taints },
    // Created with capacity/allocatable, a node keeps them: kwok only maintains conditions and leases.
    status: { capacity, allocatable: capacity, nodeInfo: { kubeletVersion: KUBERNETES_VERSION, architecture: 'amd64', operatingSystem: 'linux' } },
  };
}

/**
 * Three CPU nodes (one per zone, roomy enough for prod's replicas and quotas) and, for each GPU pool, two
 * nodes with the pool's labels (or the label the cloud stack sets), its taints and `nvidia.com/gpu` capacity.
 */
export async function createNodes(cp: ControlPlane, env: EnvironmentConfig): Promise<Nodes> {
  const nodes: KubeObject[] = [];
  const out: Nodes = { cpu: [], gpu: {} };
  const base = { cpu: '16', memory: '64Gi', pods: '110', 'ephemeral-storage': '200Gi' };
  ZONES.forEach((zone, i) => {
    const name = `cpu-${i}`;
    nodes.push(node(name, zone, {}, [], base));
    out.cpu.push(name);
  });
  for (const pool of env.gpu.pools) {
    out.gpu[pool.name] = [];
    for (let i = 0; i < 2; i++) {
      const name = `${pool.name}-${i}`;
      const taints = pool.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect }));
      nodes.push(node(name, ZONES[i], gpuPoolNodeLabels(pool), taints, { ...base, 'nvidia.com/gpu': String(GPUS_PER_NODE) }));
      out.gpu[pool.name].push(name);
    }
  }
  await cp.kubectl(['create', '-f', '-'], { input: nodes.map((n) => stringify(n)).join('---\n') });
  await cp.kubectl(['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
  return out;
}

/**
 * kwok provisions no storage: one PersistentVolume per claim the StatefulSets will make, pre-bound to it
 * (claimRef) with the claim's class, size and access modes, so the PV controller binds exactly that pair.
 */
export async function createVolumes(cp: ControlPlane, objects: readonly KubeObject[]): Promise<string[]> {
  const pvs: KubeObject[] = [];
  for (const sts of objects.filter((o) => o.kind === 'StatefulSet')) {
    const spec = asRecord(sts.spec);
    const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
    for (const t of asArray(spec.volumeClaimTemplates).map(asRecord)) {
      const tspec = asRecord(t.spec);
      for (let i = 0; i < replicas; i++) {
        const claim = `${String(asRecord(t.metadata).name)}-${sts.metadata.name}-${i}`;
        const name = `pv-${sts.metadata.namespace}-${claim}`;
        pvs.push({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name },
          spec: {
            capacity: { storage: String(asRecord(asRecord(tspec.resources).requests).storage) },
            accessModes: tspec.accessModes,
            storageClassName: typeof tspec.storageClassName === 'string' ? tspec.storageClassName : '',
            persistentVolumeReclaimPolicy: 'Delete',
            hostPath: { path: `/var/lib/test-pv/${name}`, type: 'DirectoryOrCreate' },
            claimRef: { namespace: sts.metadata.namespace, name: claim },
          },
        });
      }
    }
  }
  if (pvs.length) await cp.kubectl(['create', '-f', '-'], { input: pvs.map((p) => stringify(p)).join('---\n') });
  return pvs.map((p) => p.metadata.name);
}

/** Installs every pinned upstream CRD set (crds.tsv) and waits until each is established. */
export async function installCrds(cp: ControlPlane): Promise<string[]> {
  const files = allCrdFiles();
  // Server-side: some upstream CRDs are larger than the last-applied annotation allows.
  await cp.kubectl(['apply', '--server-side', '--field-manager=crd-install', ...files.flatMap((f) => ['-f', f])], { timeoutMs: 600_000 });
  return (await waitEstablished(cp)).map((c) => c.metadata.name);
}

interface CrdState extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

const established = (c: CrdState) => c.status?.conditions?.some((k) => k.type === 'Established' && k.status === 'True') === true;

/**
 * Every CRD, once each reports Established=True. Not `kubectl wait --for=condition=Established crd --all`:
 * for a CRD whose status the apiserver has not written yet it fails at once (".status.conditions accessor
 * error: <nil>") instead of waiting, which failed a clean-clone CI run.
 */
async function waitEstablished(cp: ControlPlane): Promise<CrdState[]> {
  const crds = async () => (await cp.getJson<{ items: CrdState[] }>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).items;
  return eventually(
    'every CRD to be Established',
    async () => {
      const items = await crds();
      return items.every(established) ? items : undefined;
    },
    async () =>
      `not established: ${(await crds())
        .filter((c) => !established(c))
        .map((c) => c.metadata.name)
        .join(', ')}`,
  );
}

export const FIELD_MANAGER = 'mlops-blueprint';

/** Server-side applies one file; returns kubectl's warnings (`Warning: …` lines on stderr). */
export async function applyFile(cp: ControlPlane, file: string): Promise<string[]> {
  const r = await cp.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', file], { timeoutMs: 300_000 });
  return r.stderr.split('\n').filter((l) => /^Warning:/i.test(l.trim()));
}

/** The synthesized files of one environment, in apply order (`NN-<part>.k8s.yaml`; Argo CD's own file apart). */
export function outputFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d\d-.*\.k8s\.yaml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Polls until `check` returns a value other than undefined, or fails with the last `describe()` output. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, describe: () => Promise<string>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${await describe()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `kubectl get <resource> -A -o json` items. */
export async function list(cp: ControlPlane, resource: string, namespace?: string): Promise<KubeObject[]> {
  const scope = namespace ? ['-n', namespace] : ['-A'];
  return (JSON.parse((await cp.kubectl(['get', resource, ...scope, '-o', 'json'])).stdout) as { items: KubeObject[] }).items;
}
