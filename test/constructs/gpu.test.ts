import { checkManifests } from '../../policies';
import { DEVICE_PLUGIN_NAMESPACE, GpuDevicePlugin, KUBELET_DEVICE_PLUGINS_DIR } from '../../constructs/gpu';
import { CLEAN, env, named, ofKind, podSpec, policyErrors, schemaProblems, synth } from './workload-helpers';

describe('GpuDevicePlugin', () => {
  const prod = env('prod');
  const objects = synth(prod, (s) => new GpuDevicePlugin(s, 'gpu', { env: prod }));
  const ds = named(objects, 'DaemonSet', 'nvidia-device-plugin');
  const spec = podSpec(ds);

  it('runs the pinned image from the environment in its own namespace, PSA privileged there only', () => {
    expect(ds.metadata.namespace).toBe(DEVICE_PLUGIN_NAMESPACE);
    expect(spec.containers[0].image).toBe(prod.gpu.devicePluginImage);
    const ns = named(objects, 'Namespace', DEVICE_PLUGIN_NAMESPACE);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    // warn and audit at the level the namespace enforces: no PodSecurity warning on every apply.
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/warn']).toBe('privileged');
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/audit']).toBe('privileged');
    for (const platformNs of Object.values(prod.namespaces)) {
      expect(named(objects, 'Namespace', platformNs).metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    }
  });

  it('tolerates the GPU taint and is confined to the GPU pools by node affinity (one term per pool)', () => {
    expect(spec.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' });
    const terms = spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(terms).toEqual([
      { matchExpressions: [{ key: 'mlops.example.com/pool', operator: 'In', values: ['gpu-training'] }] },
      { matchExpressions: [{ key: 'mlops.example.com/pool', operator: 'In', values: ['gpu-inference'] }] },
    ]);
    expect(spec.priorityClassName).toBe('system-node-critical');
  });

  it('a pool without labels is selected by the label the cloud stack puts on its nodes; custom taints are tolerated once', () => {
    const e = env('prod', {
      gpu: {
        pools: [
          {
            name: 'a100',
            instanceTypes: ['p4d.24xlarge'],
            minSize: 0,
            maxSize: 1,
            taints: [
              { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' },
              { key: 'dedicated', value: 'ml', effect: 'NoExecute' },
            ],
          },
        ],
      },
      training: { image: prod.training.image, gpuPool: 'a100' },
      inference: { image: prod.inference.image, models: [] },
    });
    const s = podSpec(
      named(
        synth(e, (sc) => new GpuDevicePlugin(sc, 'gpu', { env: e })),
        'DaemonSet',
        'nvidia-device-plugin',
      ),
    );
    expect(s.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'mlops-blueprint.io/gpu-pool', operator: 'In', values: ['a100'] }] },
    ]);
    expect(s.tolerations).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
      { key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoExecute' },
    ]);
  });

  it('has the least host access the kubelet API allows: the device-plugins hostPath, no privileges, no network', () => {
    const c = spec.containers[0];
    expect(spec.volumes).toEqual([{ name: 'device-plugin', hostPath: { path: KUBELET_DEVICE_PLUGINS_DIR, type: 'Directory' } }]);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.hostNetwork).toBeUndefined();
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(named(objects, 'ServiceAccount', 'nvidia-device-plugin').automountServiceAccountToken).toBe(false);
    const deny = ofKind(objects, 'NetworkPolicy').filter((n) => n.metadata.namespace === DEVICE_PLUGIN_NAMESPACE);
    expect(deny.map((d) => d.spec)).toEqual([{ podSelector: {}, policyTypes: ['Ingress', 'Egress'] }]);
  });

  it('passes the policies: only the three host-access rules are waived, each with a written reason', () => {
    expect(policyErrors(objects, prod)).toBe(CLEAN);
    const excepted = checkManifests(objects, { mode: 'gitops', environment: prod }).filter((v) => v.exception);
    expect(excepted.map((v) => v.ruleId).sort()).toEqual(['no-host-path', 'restricted-volume-types', 'run-as-non-root']);
    for (const v of excepted) expect(v.exception!.reason.length).toBeGreaterThan(40);
  });

  it('objects match their Kubernetes schemas', () => {
    expect(schemaProblems(objects)).toEqual([]);
  });

  it('refuses an environment without GPU pools, and a platform (restricted) namespace', () => {
    const dev = env('dev');
    expect(() => synth(dev, (s) => new GpuDevicePlugin(s, 'gpu', { env: dev }))).toThrow(/needs at least one GPU pool in gpu\.pools/);
    expect(() => synth(prod, (s) => new GpuDevicePlugin(s, 'gpu', { env: prod, namespace: 'ml-training' }), { namespaces: false })).toThrow(
      /platform namespace/,
    );
  });
});
