import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import { gpuPoolNodeLabels, imageVersion, k8s, selectorLabels, serviceAccount, standardLabels } from './common';
import { deviationAnnotations, type Deviation } from './deviations';
import { podGroup, type PodGroup } from './facts';

/** The device plugin's namespace when none is given. */
export const DEVICE_PLUGIN_NAMESPACE = 'nvidia-device-plugin';
export const DEVICE_PLUGIN_NAME = 'nvidia-device-plugin';
/** Where the kubelet expects device plugins to create their gRPC socket. */
export const KUBELET_DEVICE_PLUGINS_DIR = '/var/lib/kubelet/device-plugins';
/** The taint every GPU node carries by default, which the plugin always tolerates. */
export const NVIDIA_GPU_TAINT = { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' } as const;

/** The rules the plugin cannot meet, each with its reason (written onto the DaemonSet). */
const DEVICE_PLUGIN_DEVIATIONS: Deviation[] = [
  {
    rule: 'run-as-non-root',
    checkov: ['CKV_K8S_23', 'CKV_K8S_40'],
    kubeScore: ['container-security-context-user-group-id'],
    reason:
      'The plugin creates its socket in the root-owned (0750) kubelet device-plugins directory and opens the NVIDIA device nodes; it runs as uid 0 without capabilities or privilege escalation.',
  },
  {
    rule: 'no-host-path',
    reason: `The kubelet device plugin API is a unix socket under ${KUBELET_DEVICE_PLUGINS_DIR} on the host; there is no other way to register.`,
  },
  { rule: 'restricted-volume-types', reason: `Same hostPath (${KUBELET_DEVICE_PLUGINS_DIR}); the namespace enforces PSA privileged for this reason only.` },
  {
    checkov: ['CKV_K8S_8', 'CKV_K8S_9'],
    reason:
      'No liveness or readiness probe: the plugin serves no HTTP, TCP or gRPC endpoint a probe could reach (the kubelet talks to it over the device-plugin socket), and FAIL_ON_INIT_ERROR makes it exit, and restart, when NVML fails.',
  },
];

export interface GpuDevicePluginProps {
  readonly env: EnvironmentConfig;
  /**
   * Namespace of the plugin, created here. It is not one of the platform's namespaces because those
   * enforce PSA `restricted`, which the plugin cannot meet. @default "nvidia-device-plugin"
   */
  readonly namespace?: string;
  /** Container resources. @default 50m CPU / 64Mi requested, 256Mi memory limit */
  readonly resources?: { requests: { cpu: string; memory: string }; limits: { memory: string } };
}

/**
 * The NVIDIA device plugin DaemonSet on the environment's GPU pools: it advertises `nvidia.com/gpu`
 * to the kubelet so that training and inference pods can request GPUs.
 *
 * Why its own namespace, labelled PSA `privileged`: the plugin registers with the kubelet by creating
 * a unix socket in the host directory /var/lib/kubelet/device-plugins (root-owned, mode 0750), so it
 * needs a hostPath volume and uid 0 — both forbidden by the `baseline` and `restricted` profiles the
 * platform namespaces enforce. Putting it into kube-system would hide it among cluster components
 * and share that namespace's broad exemptions; a dedicated namespace confines the exemption to this
 * one pod, still with a default-deny NetworkPolicy (it needs no network at all), no API token, no
 * capabilities, no privilege escalation and a read-only root filesystem. The policy exceptions on
 * the DaemonSet name exactly the rules it cannot meet, each with its reason.
 */
export class GpuDevicePlugin extends Construct {
  readonly namespace: string;
  /** The plugin's pods (one per GPU node). */
  readonly pods: readonly PodGroup[];

  constructor(scope: Construct, id: string, props: GpuDevicePluginProps) {
    super(scope, id);
    const { env } = props;
    if (env.gpu.pools.length === 0) throw new Error(`environment "${env.name}": the NVIDIA device plugin needs at least one GPU pool in gpu.pools`);
    const ns = (this.namespace = props.namespace ?? DEVICE_PLUGIN_NAMESPACE);
    if (Object.values(env.namespaces).includes(ns)) {
      throw new Error(`device plugin namespace "${ns}" is a platform namespace (PSA restricted); give it its own namespace`);
    }
    const version = imageVersion(env.gpu.devicePluginImage);
    const labels = standardLabels(env, DEVICE_PLUGIN_NAME, 'gpu', version);
    this.pods = [podGroup(ns, labels)];

    privilegedNamespace(this, env, ns);
    new k8s.KubeNetworkPolicy(this, 'deny', {
      metadata: { name: 'default-deny-all', namespace: ns, labels: standardLabels(env, 'default-deny-all', 'network-policy') },
      // The plugin talks to the kubelet over a unix socket only: no ingress, no egress, not even DNS.
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    serviceAccount(this, env, DEVICE_PLUGIN_NAME, ns, 'gpu');

    new k8s.KubeDaemonSet(this, 'daemonset', {
      metadata: {
        name: DEVICE_PLUGIN_NAME,
        namespace: ns,
        labels,
        annotations: deviationAnnotations(DEVICE_PLUGIN_DEVIATIONS),
      },
      spec: {
        selector: { matchLabels: selectorLabels(env, DEVICE_PLUGIN_NAME) },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {
          metadata: { labels },
          spec: devicePluginPodSpec(env, props.resources ?? { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } }),
        },
      },
    });
  }
}

/** The plugin's own namespace, labelled Pod Security `privileged`. */
function privilegedNamespace(scope: Construct, env: EnvironmentConfig, ns: string): void {
  new k8s.KubeNamespace(scope, 'namespace', {
    metadata: {
      name: ns,
      labels: {
        ...standardLabels(env, ns, 'namespace'),
        'kubernetes.io/metadata.name': ns,
        // Privileged (its hostPath is forbidden from baseline up), and warn/audit at the same level: a stricter
        // one would print a PodSecurity warning on every apply for the one pod this namespace exists for.
        // The gap is recorded instead as the DaemonSet's policy exceptions, with their reasons.
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/audit': 'privileged',
        'pod-security.kubernetes.io/audit-version': 'latest',
        'pod-security.kubernetes.io/warn': 'privileged',
        'pod-security.kubernetes.io/warn-version': 'latest',
      },
    },
  });
}

/** The plugin's pod: node-critical, on GPU nodes only, uid 0 without capabilities, the kubelet's socket directory mounted. */
function devicePluginPodSpec(env: EnvironmentConfig, r: NonNullable<GpuDevicePluginProps['resources']>): k8s.PodSpec {
  const q = (v: string) => k8s.Quantity.fromString(v);
  return {
    serviceAccountName: DEVICE_PLUGIN_NAME,
    automountServiceAccountToken: false,
    // Without the plugin no GPU pod can start on the node: it must not be preempted.
    priorityClassName: 'system-node-critical',
    tolerations: devicePluginTolerations(env),
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: gpuNodeSelectorTerms(env) } } },
    securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'nvidia-device-plugin',
        image: env.gpu.devicePluginImage,
        // Fail (and be restarted) instead of idling silently when NVML cannot initialise.
        env: [{ name: 'FAIL_ON_INIT_ERROR', value: 'true' }],
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        // It writes nothing but its socket (on the hostPath) and logs.
        resources: {
          requests: { cpu: q(r.requests.cpu), memory: q(r.requests.memory), 'ephemeral-storage': q('16Mi') },
          limits: { memory: q(r.limits.memory), 'ephemeral-storage': q('128Mi') },
        },
        volumeMounts: [{ name: 'device-plugin', mountPath: KUBELET_DEVICE_PLUGINS_DIR }],
      },
    ],
    volumes: [{ name: 'device-plugin', hostPath: { path: KUBELET_DEVICE_PLUGINS_DIR, type: 'Directory' } }],
  };
}

/** The GPU taint plus every pool's own taints, once each. */
export function devicePluginTolerations(env: EnvironmentConfig): k8s.Toleration[] {
  const seen = new Set<string>();
  const out: k8s.Toleration[] = [];
  for (const t of [NVIDIA_GPU_TAINT, ...env.gpu.pools.flatMap((p) => p.taints)]) {
    const key = `${t.key}=${t.value}:${t.effect}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ key: t.key, operator: 'Equal', value: t.value, effect: t.effect });
  }
  return out;
}

/** One node selector term per pool (terms are ORed, expressions within a term ANDed): GPU nodes only. */
export function gpuNodeSelectorTerms(env: EnvironmentConfig): k8s.NodeSelectorTerm[] {
  return env.gpu.pools.map((pool) => ({
    matchExpressions: Object.entries(gpuPoolNodeLabels(pool)).map(([key, value]) => ({ key, operator: 'In', values: [value] })),
  }));
}
