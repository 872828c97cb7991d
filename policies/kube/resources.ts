import type { KubeRule } from '../rule';
import { asArray, asRecord, containerName, containers, LONG_RUNNING_KINDS, objectPodTemplates, type ContainerRef } from '../../core/kube-objects';

const PROBE_ACTIONS = ['httpGet', 'tcpSocket', 'grpc'] as const;

/** A serving container: in a long-running workload (or a KServe ServingRuntime, which only serves) and declaring a port. */
function servingContainers(obj: Parameters<KubeRule['check']>[0]): ContainerRef[] {
  const tpls = objectPodTemplates(obj).filter((t) => LONG_RUNNING_KINDS.has(obj.kind) || t.fragment);
  return tpls.flatMap((tpl) => containers(tpl).filter((c) => !c.init && asArray(c.container.ports).length > 0));
}

export const resourceRules: KubeRule[] = [
  {
    id: 'resource-requests',
    severity: 'error',
    description: 'CPU and memory requests on every container',
    remediation: 'Set resources.requests.cpu and resources.requests.memory.',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return containers(tpl).flatMap((c) => {
          const requests = asRecord(asRecord(c.container.resources).requests);
          const missing = ['cpu', 'memory'].filter((k) => requests[k] === undefined);
          return missing.length
            ? [{ field: `${c.path}.resources.requests.${missing[0]}`, message: `container "${containerName(c)}" has no ${missing.join(' and ')} request` }]
            : [];
        });
      }),
  },
  {
    id: 'memory-limit',
    severity: 'error',
    description: 'A memory limit on every container',
    remediation: 'Set resources.limits.memory.',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return containers(tpl).flatMap((c) =>
          asRecord(asRecord(c.container.resources).limits).memory === undefined
            ? [{ field: `${c.path}.resources.limits.memory`, message: `container "${containerName(c)}" has no memory limit` }]
            : [],
        );
      }),
  },
  {
    id: 'cpu-limit',
    severity: 'warning',
    description: 'A CPU limit on every container (advisory: where throttling is the greater risk, record an exception with the reason)',
    remediation: 'Set resources.limits.cpu, or record why not in the object\'s exceptions annotation ({"cpu-limit": "<reason>"}).',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return containers(tpl).flatMap((c) =>
          asRecord(asRecord(c.container.resources).limits).cpu === undefined
            ? [{ field: `${c.path}.resources.limits.cpu`, message: `container "${containerName(c)}" has no CPU limit` }]
            : [],
        );
      }),
  },
  {
    id: 'serving-probes',
    severity: 'error',
    description: 'Readiness and liveness probes on serving containers',
    remediation: 'Add readinessProbe and livenessProbe (httpGet on the health endpoint) to the container.',
    check: (obj) =>
      servingContainers(obj).flatMap((c) =>
        (['readinessProbe', 'livenessProbe'] as const)
          .filter((p) => c.container[p] === undefined)
          .map((p) => ({ field: `${c.path}.${p}`, message: `serving container "${containerName(c)}" has no ${p}` })),
      ),
  },
  {
    id: 'probe-port-declared',
    severity: 'error',
    description: 'Probes target a port the container declares',
    remediation: 'Point the probe at one of the container ports (by number or name).',
    check: (obj) =>
      objectPodTemplates(obj).flatMap((tpl) => {
        return containers(tpl).flatMap((c) => {
          const ports = asArray(c.container.ports).map(asRecord);
          const declared = new Set<unknown>([...ports.map((p) => p.containerPort), ...ports.map((p) => p.name).filter(Boolean)]);
          return (['readinessProbe', 'livenessProbe', 'startupProbe'] as const).flatMap((probe) => {
            const pr = asRecord(c.container[probe]);
            const action = PROBE_ACTIONS.find((a) => pr[a] !== undefined);
            if (!action) return [];
            const port = asRecord(pr[action]).port;
            return declared.has(port)
              ? []
              : [
                  {
                    field: `${c.path}.${probe}.${action}.port`,
                    message: `container "${containerName(c)}" ${probe} targets port ${String(port)}, which the container does not declare`,
                  },
                ];
          });
        });
      }),
  },
];
