import type { KubeRule, Finding } from '../rule';
import { asArray, asRecord, isRecord, containerName, containers, objectPodTemplates, type ContainerRef, type PodTemplate } from '../../core/kube-objects';

/** Runs `fn` on every container of a workload's pod template. */
function perContainer(fn: (c: ContainerRef, tpl: PodTemplate) => Finding | undefined): KubeRule['check'] {
  return (obj) => {
    return objectPodTemplates(obj).flatMap((tpl) => containers(tpl).flatMap((c) => fn(c, tpl) ?? []));
  };
}

function sc(c: ContainerRef): Record<string, unknown> {
  return asRecord(c.container.securityContext);
}

function podSc(tpl: PodTemplate): Record<string, unknown> {
  return asRecord(tpl.spec.securityContext);
}

/** Volume types the Pod Security Standards' "restricted" profile allows. */
export const ALLOWED_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

export const podSecurityRules: KubeRule[] = [
  {
    id: 'no-privileged',
    severity: 'error',
    description: 'Containers must not run privileged',
    remediation: 'Remove securityContext.privileged (or set it to false).',
    check: perContainer((c) =>
      sc(c).privileged === true ? { field: `${c.path}.securityContext.privileged`, message: `container "${containerName(c)}" runs privileged` } : undefined,
    ),
  },
  {
    id: 'no-privilege-escalation',
    severity: 'error',
    description: 'allowPrivilegeEscalation must be false',
    remediation: 'Set securityContext.allowPrivilegeEscalation: false on the container.',
    check: perContainer((c) =>
      sc(c).allowPrivilegeEscalation === false
        ? undefined
        : {
            field: `${c.path}.securityContext.allowPrivilegeEscalation`,
            message: `container "${containerName(c)}" does not set allowPrivilegeEscalation to false`,
          },
    ),
  },
  {
    id: 'run-as-non-root',
    severity: 'error',
    description: 'Containers run as non-root with a non-zero uid',
    remediation: 'Set securityContext.runAsNonRoot: true and a non-zero runAsUser (pod or container level).',
    check: perContainer((c, tpl) => {
      const nonRoot = sc(c).runAsNonRoot ?? podSc(tpl).runAsNonRoot;
      const uid = sc(c).runAsUser ?? podSc(tpl).runAsUser;
      if (uid === 0) return { field: `${c.path}.securityContext.runAsUser`, message: `container "${containerName(c)}" runs as uid 0 (root)` };
      if (nonRoot !== true)
        return { field: `${c.path}.securityContext.runAsNonRoot`, message: `container "${containerName(c)}" does not set runAsNonRoot: true` };
      return undefined;
    }),
  },
  {
    id: 'drop-all-capabilities',
    severity: 'error',
    description: 'Capabilities drop ALL and add at most NET_BIND_SERVICE',
    remediation: 'Set securityContext.capabilities: { drop: [ALL] } and add only NET_BIND_SERVICE if a port below 1024 is needed.',
    check: perContainer((c) => {
      const caps = asRecord(sc(c).capabilities);
      const added = asArray(caps.add)
        .map(String)
        .filter((a) => a !== 'NET_BIND_SERVICE');
      if (added.length)
        return { field: `${c.path}.securityContext.capabilities.add`, message: `container "${containerName(c)}" adds capabilities ${added.join(', ')}` };
      if (!asArray(caps.drop).map(String).includes('ALL'))
        return { field: `${c.path}.securityContext.capabilities.drop`, message: `container "${containerName(c)}" does not drop ALL capabilities` };
      return undefined;
    }),
  },
  {
    id: 'seccomp-profile',
    severity: 'error',
    description: 'Seccomp profile RuntimeDefault or Localhost',
    remediation: 'Set securityContext.seccompProfile.type: RuntimeDefault on the pod.',
    check: perContainer((c, tpl) => {
      const type = asRecord(sc(c).seccompProfile).type ?? asRecord(podSc(tpl).seccompProfile).type;
      return type === 'RuntimeDefault' || type === 'Localhost'
        ? undefined
        : {
            field: `${c.path}.securityContext.seccompProfile.type`,
            message: `container "${containerName(c)}" has seccomp profile ${type === undefined ? '(unset)' : JSON.stringify(type)}`,
          };
    }),
  },
  {
    id: 'read-only-root-filesystem',
    severity: 'error',
    description: 'Root filesystem is read-only',
    remediation: 'Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process writes.',
    check: perContainer((c) =>
      sc(c).readOnlyRootFilesystem === true
        ? undefined
        : { field: `${c.path}.securityContext.readOnlyRootFilesystem`, message: `container "${containerName(c)}" has a writable root filesystem` },
    ),
  },
  {
    id: 'no-host-namespaces',
    severity: 'error',
    description: 'No host network, PID or IPC namespace',
    remediation: 'Remove hostNetwork, hostPID and hostIPC from the pod spec.',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return (['hostNetwork', 'hostPID', 'hostIPC'] as const)
          .filter((k) => tpl.spec[k] === true)
          .map((k) => ({ field: `${tpl.path}.${k}`, message: `pod template sets ${k}: true` }));
      }),
  },
  {
    id: 'no-host-port',
    severity: 'error',
    description: 'No hostPort on container ports',
    remediation: 'Remove hostPort; expose the port through a Service.',
    check: perContainer((c) => {
      const i = asArray(c.container.ports).findIndex((p) => asRecord(p).hostPort !== undefined && asRecord(p).hostPort !== 0);
      return i < 0
        ? undefined
        : {
            field: `${c.path}.ports[${i}].hostPort`,
            message: `container "${containerName(c)}" binds hostPort ${String(asRecord(asArray(c.container.ports)[i]).hostPort)}`,
          };
    }),
  },
  {
    id: 'no-host-path',
    severity: 'error',
    description: 'No hostPath volumes (and so no container runtime socket)',
    remediation: 'Replace the hostPath volume with a PersistentVolumeClaim, emptyDir or CSI volume.',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return asArray(tpl.spec.volumes).flatMap((v, i) => {
          const hp = asRecord(v).hostPath;
          if (!isRecord(hp)) return [];
          const p = String(hp.path);
          const socket = /(docker|containerd|crio)\.sock$/.test(p);
          return [
            {
              field: `${tpl.path}.volumes[${i}].hostPath`,
              message: `volume "${String(asRecord(v).name)}" mounts host path ${p}${socket ? ' (the container runtime socket)' : ''}`,
            },
          ];
        });
      }),
  },
  {
    id: 'restricted-volume-types',
    severity: 'error',
    description: `Volumes only of the restricted types (${ALLOWED_VOLUME_TYPES.join(', ')})`,
    remediation: 'Use one of the restricted volume types (PVC, emptyDir, configMap, secret, projected, CSI, ephemeral, downwardAPI).',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return asArray(tpl.spec.volumes).flatMap((v, i) => {
          const types = Object.keys(asRecord(v)).filter((k) => k !== 'name');
          const bad = types.filter((t) => !ALLOWED_VOLUME_TYPES.includes(t));
          return bad.length
            ? [{ field: `${tpl.path}.volumes[${i}].${bad[0]}`, message: `volume "${String(asRecord(v).name)}" has restricted type ${bad[0]}` }]
            : [];
        });
      }),
  },
];
