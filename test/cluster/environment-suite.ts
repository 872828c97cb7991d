import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadEnvironment, type EnvironmentConfig } from '../../environments';
import type { KubeObject } from '../../policies/types';
import { asArray, asRecord } from '../../policies/rule';
import { podTemplate } from '../../policies/kube/workloads';
import { writeSynth } from '../../stacks/gitops';
import { DEVICE_PLUGIN_NAME } from '../../constructs/gpu';
import { describeWithTool } from '../helpers/tools';
import { ifStarted } from '../helpers/lifecycle';
import { testImageLockFile } from '../helpers/image-lock';
import { cacheAvailability } from './cache';
import { startControlPlane, type ControlPlane } from './control-plane';
import { applyFile, createNodes, createVolumes, eventually, FIELD_MANAGER, installCrds, list, outputFiles, type Nodes } from './cluster-setup';
import { providedObjects, unresolvedReferences } from './references';
import { startupOrderProblems } from './startup-order';

/** The environment's `mlops synth` output (the same writer the CLI uses), in a temporary directory. */
function synthesize(env: EnvironmentConfig): { dir: string; files: Array<{ file: string; objects: KubeObject[] }> } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `mlops-synth-${env.name}-`));
  // staging and prod require digests: the test lock pins them (kwok pulls no image, so synthetic digests suffice).
  writeSynth([env], out, { imageLock: testImageLockFile() });
  const dir = path.join(out, env.name);
  const files = outputFiles(dir).map((file) => ({
    file,
    objects: parseAllDocuments(fs.readFileSync(file, 'utf8'), { version: '1.1' }).map((d) => d.toJSON() as KubeObject),
  }));
  return { dir, files };
}

const ref = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const nsArgs = (o: KubeObject) => (o.metadata.namespace ? ['-n', o.metadata.namespace] : []);
type Status = Record<string, unknown>;
const statusOf = (o: KubeObject): Status => asRecord(o.status);

/**
 * Namespaces the platform relies on without owning: Prometheus's (ServiceMonitors are found from there, and the
 * custom-metrics adapter's rules live there) and Argo CD's (the Application, written apart from the parts).
 */
function prerequisiteNamespaces(env: EnvironmentConfig): string[] {
  return [env.monitoring.prometheusNamespace, ...(env.gitops ? [env.gitops.argocdNamespace] : [])];
}

/**
 * The only warnings allowed: PodSecurity's, for workloads in a namespace that declares the gap itself by warning
 * at a stricter level than it enforces (the GPU device plugin's: enforce privileged, warn restricted) — one per
 * workload. Anything else (a deprecated API, a PodSecurity warning elsewhere) fails.
 */
function expectedWarnings(fileObjects: KubeObject[], all: KubeObject[]): { podSecurity: number; other: string[] } {
  const gaps = new Set(
    all
      .filter((o) => o.kind === 'Namespace')
      .filter((n) => {
        const l: Partial<Record<string, string>> = n.metadata.labels ?? {};
        return l['pod-security.kubernetes.io/warn'] !== undefined && l['pod-security.kubernetes.io/warn'] !== l['pod-security.kubernetes.io/enforce'];
      })
      .map((n) => n.metadata.name),
  );
  return { podSecurity: fileObjects.filter((o) => podTemplate(o) && gaps.has(String(o.metadata.namespace))).length, other: [] };
}

function classify(lines: string[]): { podSecurity: number; other: string[] } {
  const ps = lines.filter((l) => /would violate PodSecurity/.test(l));
  return { podSecurity: ps.length, other: lines.filter((l) => !ps.includes(l)) };
}

/** Replicas a Deployment must reach: its own, or the floor of the HPA that owns its scale. */
function desiredReplicas(d: KubeObject, all: KubeObject[]): number {
  const own = asRecord(d.spec).replicas;
  if (typeof own === 'number') return own;
  const hpa = all.find(
    (h) =>
      h.kind === 'HorizontalPodAutoscaler' &&
      h.metadata.namespace === d.metadata.namespace &&
      asRecord(asRecord(h.spec).scaleTargetRef).name === d.metadata.name,
  );
  return hpa ? Number(asRecord(hpa.spec).minReplicas ?? 1) : 1;
}

function requestsGpu(pod: KubeObject): boolean {
  return asArray(asRecord(pod.spec).containers).some((c) => asRecord(asRecord(asRecord(c).resources).limits)['nvidia.com/gpu'] !== undefined);
}

/**
 * The per-environment suite: the static reference and start-up order checks (always), then, on a real
 * control plane with kwok nodes (skipped locally without the binaries, failing under CI), the environment's
 * synthesized files applied in order with server-side apply and checked the way a cluster operator would.
 */
export function environmentSuite(name: string): void {
  const env = loadEnvironment(name);
  const synth = synthesize(env);
  const objects = synth.files.flatMap((f) => f.objects);
  afterAll(() => fs.rmSync(path.dirname(synth.dir), { recursive: true, force: true }));

  describe(`${name}: what kwok cannot check`, () => {
    test('every Secret, ConfigMap, ServiceAccount and PVC a pod references is in the output or a declared prerequisite (keys included)', () => {
      const provided = providedObjects(objects, env, env.secrets.mode);
      expect(unresolvedReferences(objects, provided)).toEqual([]);
    });
    test('start-up order is enforced by the objects themselves', () => {
      expect(startupOrderProblems(objects)).toEqual([]);
    });
  });

  describeWithTool(
    `${name} on a real control plane (kube-apiserver, controllers, scheduler, kwok nodes)`,
    cacheAvailability(['kubernetes', 'etcd', 'kwok'], true),
    () => {
      let cp: ControlPlane;
      let nodes: Nodes;
      const warnings = new Map<string, string[]>();

      beforeAll(async () => {
        cp = await startControlPlane();
        await installCrds(cp);
        nodes = await createNodes(cp, env);
        await createVolumes(cp, objects);
        // Namespaces the output puts objects in without creating them: each must be a declared prerequisite.
        const created = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
        const foreign = [...new Set(objects.map((o) => o.metadata.namespace).filter((n): n is string => !!n && !created.has(n)))];
        expect(foreign.every((n) => prerequisiteNamespaces(env).includes(n))).toBe(true);
        for (const n of foreign) await cp.kubectl(['create', 'namespace', n]);
        for (const f of synth.files) warnings.set(path.basename(f.file), await applyFile(cp, f.file));
      }, 900_000);
      afterAll(async () => {
        await ifStarted(cp)?.stop();
      }, 60_000);
      // Each check waits on controllers and kwok; on two busy cores that takes a while.
      const T = 300_000;

      test(
        'every object is admitted, in file order, with no PodSecurity or deprecation warning but the declared ones',
        async () => {
          expect(Object.fromEntries([...warnings].map(([f, w]) => [f, classify(w)]))).toEqual(
            Object.fromEntries(synth.files.map((f) => [path.basename(f.file), expectedWarnings(f.objects, objects)])),
          );
          for (const f of synth.files) {
            const got = JSON.parse((await cp.kubectl(['get', '-f', f.file, '-o', 'json'])).stdout) as { items?: KubeObject[] } & KubeObject;
            const items = got.items ?? [got];
            expect(items.map(ref)).toEqual(f.objects.map(ref));
          }
        },
        T,
      );

      test(
        'the PrometheusRules (prometheus-operator CRD) and the Grafana dashboard ConfigMaps are admitted as synthesized',
        async () => {
          const rules = objects.filter((o) => o.kind === 'PrometheusRule');
          const dashboards = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
          // dev has no prometheus-operator (monitoring.alerts.enabled false); every environment ships the dashboards.
          expect([rules.length > 0, dashboards.length]).toEqual([env.monitoring.alerts.enabled, env.inference.models.length > 0 ? 4 : 3]);
          for (const r of rules) {
            const got = JSON.parse((await cp.kubectl(['get', 'prometheusrule', r.metadata.name, ...nsArgs(r), '-o', 'json'])).stdout) as KubeObject;
            expect(asRecord(got.spec).groups).toEqual(asRecord(r.spec).groups);
          }
          const { items } = JSON.parse((await cp.kubectl(['get', 'configmaps', '-A', '-l', 'grafana_dashboard=1', '-o', 'json'])).stdout) as {
            items: KubeObject[];
          };
          expect(items.map(ref).sort()).toEqual(dashboards.map(ref).sort());
          for (const d of items)
            expect(Object.values(asRecord(d.data)).map((j) => (JSON.parse(String(j)) as { schemaVersion: number }).schemaVersion)).toEqual([39]);
        },
        T,
      );

      test(
        'every custom resource uses the version its upstream CRD stores (not one kept only for conversion)',
        async () => {
          const crds = await list(cp, 'customresourcedefinitions');
          // dev has none (no ServiceMonitors, no ExternalSecrets); staging and prod have several.
          const custom = objects.filter((o) => o.apiVersion.includes('.') && !/\.k8s\.io\//.test(o.apiVersion));
          for (const o of custom) {
            const [group, version] = o.apiVersion.split('/');
            const crd = crds.find((c) => asRecord(c.spec).group === group && asRecord(asRecord(c.spec).names).kind === o.kind);
            expect({ object: ref(o), crd: crd?.metadata.name ?? 'none' }).toEqual({ object: ref(o), crd: expect.stringContaining(group) });
            const v = asArray(asRecord(crd!.spec).versions)
              .map(asRecord)
              .find((x) => x.name === version);
            expect({ object: ref(o), version, served: v?.served, storage: v?.storage, deprecated: v?.deprecated ?? false }).toEqual({
              object: ref(o),
              version,
              served: true,
              storage: true,
              deprecated: false,
            });
          }
        },
        T,
      );

      test(
        'Deployments and StatefulSets reach their ready replicas on kwok nodes; claims bind; DaemonSets cover their nodes',
        async () => {
          for (const d of objects.filter((o) => o.kind === 'Deployment')) {
            const want = desiredReplicas(d, objects);
            await eventually(
              `${ref(d)} ${want} ready`,
              async () => {
                const s = statusOf(JSON.parse((await cp.kubectl(['get', 'deployment', d.metadata.name, ...nsArgs(d), '-o', 'json'])).stdout) as KubeObject);
                return s.readyReplicas === want && s.updatedReplicas === want && s.replicas === want ? true : undefined;
              },
              async () => (await cp.kubectl(['describe', 'deployment', d.metadata.name, ...nsArgs(d)])).stdout,
            );
          }
          for (const s of objects.filter((o) => o.kind === 'StatefulSet')) {
            const want = Number(asRecord(s.spec).replicas ?? 1);
            await eventually(
              `${ref(s)} ${want} ready`,
              async () => {
                const st = statusOf(JSON.parse((await cp.kubectl(['get', 'statefulset', s.metadata.name, ...nsArgs(s), '-o', 'json'])).stdout) as KubeObject);
                return st.readyReplicas === want ? true : undefined;
              },
              async () => (await cp.kubectl(['describe', 'pods', '-l', `app.kubernetes.io/name=${s.metadata.name}`, ...nsArgs(s)])).stdout,
            );
          }
          const pvcs = objects.some((o) => o.kind === 'StatefulSet') ? await list(cp, 'persistentvolumeclaims') : [];
          expect(pvcs.map((p) => [p.metadata.name, statusOf(p).phase, asRecord(p.spec).volumeName])).toEqual(
            pvcs.map((p) => [p.metadata.name, 'Bound', `pv-${p.metadata.namespace}-${p.metadata.name}`]),
          );
          for (const ds of objects.filter((o) => o.kind === 'DaemonSet')) {
            const gpuNodes = Object.values(nodes.gpu).flat().length;
            await eventually(
              `${ref(ds)} on ${gpuNodes} GPU nodes`,
              async () => {
                const st = statusOf(JSON.parse((await cp.kubectl(['get', 'daemonset', ds.metadata.name, ...nsArgs(ds), '-o', 'json'])).stdout) as KubeObject);
                return st.desiredNumberScheduled === gpuNodes && st.numberReady === gpuNodes ? true : undefined;
              },
              async () => (await cp.kubectl(['describe', 'daemonset', ds.metadata.name, ...nsArgs(ds)])).stdout,
            );
          }
        },
        T,
      );

      test(
        'the Jobs complete (the migration among them), and each CronJob is accepted and its Job runs',
        async () => {
          const jobs = objects.filter((o) => o.kind === 'Job');
          expect(jobs.some((j) => j.metadata.name.startsWith('tracking-db-upgrade-'))).toBe(true);
          for (const c of objects.filter((o) => o.kind === 'CronJob')) {
            const r = await cp.kubectl(['create', 'job', `${c.metadata.name}-now`, `--from=cronjob/${c.metadata.name}`, ...nsArgs(c)]);
            expect(r.stderr).not.toMatch(/Warning:/i);
            jobs.push({ ...c, kind: 'Job', metadata: { ...c.metadata, name: `${c.metadata.name}-now` } });
          }
          for (const j of jobs) {
            await cp.kubectl(['wait', '--for=condition=Complete', `job/${j.metadata.name}`, ...nsArgs(j), '--timeout=120s']);
          }
        },
        T,
      );

      test(
        "GPU pods run only on their pool's GPU nodes, and nothing else lands there but the device plugin",
        async () => {
          const pools = Object.entries(nodes.gpu);
          const gpuNode = (n: string) => pools.find(([, names]) => names.includes(n))?.[0];
          const pods = (await list(cp, 'pods')).filter((p) => asRecord(p.spec).nodeName);
          const misplaced: string[] = [];
          for (const p of pods) {
            const node = String(asRecord(p.spec).nodeName);
            const plugin = asArray(p.metadata.ownerReferences).some((o) => asRecord(o).kind === 'DaemonSet' && asRecord(o).name === DEVICE_PLUGIN_NAME);
            if (requestsGpu(p) && !gpuNode(node)) misplaced.push(`${ref(p)} requests a GPU but runs on ${node}`);
            if (!requestsGpu(p) && !plugin && gpuNode(node)) misplaced.push(`${ref(p)} needs no GPU but runs on GPU node ${node}`);
            if (plugin && !gpuNode(node)) misplaced.push(`${ref(p)} (device plugin) runs on non-GPU node ${node}`);
          }
          expect(misplaced).toEqual([]);
          const gpuPods = pods.filter(requestsGpu);
          // Every environment with GPU pools runs something on them (training Jobs, GPU inference); dev has none.
          expect(gpuPods.length > 0).toBe(pools.length > 0);
        },
        T,
      );

      test(
        "every Service has ready endpoints; every HPA's target exists and can be scaled",
        async () => {
          for (const s of objects.filter((o) => o.kind === 'Service')) {
            await eventually(
              `endpoints of ${ref(s)}`,
              async () => {
                const slices = await list(cp, 'endpointslices.discovery.k8s.io', s.metadata.namespace);
                const mine = slices.filter((e) => e.metadata.labels?.['kubernetes.io/service-name'] === s.metadata.name);
                const ready = mine.flatMap((e) => asArray(e.endpoints).map(asRecord)).filter((e) => asRecord(e.conditions).ready === true);
                const ports = mine.flatMap((e) => asArray(e.ports));
                return ready.length > 0 && ports.length > 0 ? true : undefined;
              },
              async () => (await cp.kubectl(['describe', 'service', s.metadata.name, ...nsArgs(s)])).stdout,
            );
          }
          for (const h of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
            const target = asRecord(asRecord(h.spec).scaleTargetRef);
            await cp.kubectl(['get', `${String(target.kind).toLowerCase()}/${String(target.name)}`, ...nsArgs(h)]);
            await eventually(
              `${ref(h)} AbleToScale`,
              async () => {
                const live = JSON.parse((await cp.kubectl(['get', 'hpa', h.metadata.name, ...nsArgs(h), '-o', 'json'])).stdout) as KubeObject;
                return asArray(statusOf(live).conditions)
                  .map(asRecord)
                  .some((c) => c.type === 'AbleToScale' && c.status === 'True')
                  ? true
                  : undefined;
              },
              async () => (await cp.kubectl(['describe', 'hpa', h.metadata.name, ...nsArgs(h)])).stdout,
            );
          }
        },
        T,
      );

      test(
        'custom-metric HPAs use an API that an APIService in the output registers',
        async () => {
          const usesCustom = objects.filter(
            (h) => h.kind === 'HorizontalPodAutoscaler' && asArray(asRecord(h.spec).metrics).some((m) => ['Pods', 'Object'].includes(String(asRecord(m).type))),
          );
          const services = await list(cp, 'apiservices');
          const registered = services.filter(
            (a) => asRecord(a.spec).group === 'custom.metrics.k8s.io' && asRecord(a.spec).version === 'v1beta2' && asRecord(a.spec).service,
          );
          // The HPA controller reads Pods/Object metrics from custom.metrics.k8s.io/v1beta2.
          expect(registered.length > 0).toBe(usesCustom.length > 0);
          for (const a of registered) {
            const svc = asRecord(asRecord(a.spec).service);
            expect(objects.some((o) => o.kind === 'APIService' && o.metadata.name === a.metadata.name)).toBe(true);
            expect(svc).toEqual(expect.objectContaining({ name: expect.any(String), namespace: env.monitoring.prometheusNamespace }));
          }
        },
        T,
      );

      test(
        "a second apply changes nothing: `kubectl diff` is empty and no object's generation moves",
        async () => {
          const generations = async () => {
            const out: Record<string, unknown> = {};
            for (const f of synth.files) {
              const got = JSON.parse((await cp.kubectl(['get', '-f', f.file, '-o', 'json'])).stdout) as { items?: KubeObject[] } & KubeObject;
              for (const o of got.items ?? [got]) out[ref(o)] = o.metadata.generation;
            }
            return out;
          };
          const before = await generations();
          for (const f of synth.files) expect(classify(await applyFile(cp, f.file))).toEqual(expectedWarnings(f.objects, objects));
          expect(await generations()).toEqual(before);
          for (const f of synth.files) {
            const d = await cp.kubectl(['diff', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', f.file], { allowFailure: true });
            expect({ file: path.basename(f.file), code: d.code, diff: d.stdout }).toEqual({ file: path.basename(f.file), code: 0, diff: '' });
          }
        },
        T,
      );

      test(
        'evictions through the Eviction API stop exactly where each PodDisruptionBudget says',
        async () => {
          // Cordoned nodes keep the evicted pods' replacements Pending, so each budget is consumed, not refilled.
          const allNodes = [...nodes.cpu, ...Object.values(nodes.gpu).flat()];
          await cp.kubectl(['cordon', ...allNodes]);
          try {
            for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) await checkBudget(cp, pdb);
          } finally {
            await cp.kubectl(['uncordon', ...allNodes]);
          }
        },
        T,
      );
    },
  );
}

async function evict(cp: ControlPlane, pod: KubeObject) {
  const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace } });
  return cp.kubectl(['create', '--raw', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/eviction`, '-f', '-'], {
    input: body,
    allowFailure: true,
  });
}

/** Evicts the budget's pods one by one: `disruptionsAllowed` succeed, the next is refused (429). */
async function checkBudget(cp: ControlPlane, pdb: KubeObject): Promise<void> {
  const ns = String(pdb.metadata.namespace);
  const live = await eventually(
    `${ref(pdb)} observed`,
    async () => {
      const p = JSON.parse((await cp.kubectl(['get', 'pdb', pdb.metadata.name, '-n', ns, '-o', 'json'])).stdout) as KubeObject;
      const s = statusOf(p);
      return s.observedGeneration === p.metadata.generation && Number(s.currentHealthy) > 0 && s.currentHealthy === s.expectedPods ? s : undefined;
    },
    async () => (await cp.kubectl(['describe', 'pdb', pdb.metadata.name, '-n', ns])).stdout,
  );
  const allowed = Number(live.disruptionsAllowed);
  const maxUnavailable = asRecord(pdb.spec).maxUnavailable;
  // maxUnavailable: N of healthy pods means N may go at once (never more than there are).
  expect({ pdb: ref(pdb), allowed }).toEqual({ pdb: ref(pdb), allowed: Math.min(Number(maxUnavailable), Number(live.expectedPods)) });
  const pods = (await list(cp, `pods`, ns)).filter(
    (p) =>
      Object.entries(asRecord(asRecord(asRecord(pdb.spec).selector).matchLabels)).every(([k, v]) => p.metadata.labels?.[k] === v) &&
      !p.metadata.deletionTimestamp,
  );
  expect(pods.length).toBe(Number(live.expectedPods));
  for (let i = 0; i < allowed; i++) {
    const r = await evict(cp, pods[i]);
    expect({ pod: ref(pods[i]), code: r.code, err: r.stderr.trim() }).toEqual({ pod: ref(pods[i]), code: 0, err: '' });
  }
  if (pods.length > allowed) {
    const refused = await evict(cp, pods[allowed]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/TooManyRequests|would violate the pod's disruption budget/);
  }
}
