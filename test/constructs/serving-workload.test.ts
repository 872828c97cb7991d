import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { k8s } from '../../constructs/common';
import { ServingWorkload, StatefulWorkload, type ServingWorkloadProps, type StatefulWorkloadProps } from '../../constructs/serving-workload';
import { mapSelectorMatches, podTemplate } from '../../policies/kube/workloads';
import type { KubeObject } from '../../policies/types';
import { named, schemaProblems } from './workload-helpers';

/*
 * The serving-workload building blocks on their own: what each method writes, in which order the objects
 * reach the manifest, and that bad props fail at construction naming the prop. The platform suites check
 * the parts built from them (snapshots, policies, schemas).
 */

const labels = { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'test', 'app.kubernetes.io/version': '1.2.3' };
const selector = { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'test' };
const container: k8s.Container = { name: 'web', image: 'registry.example.com/web:1.2.3', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] };

function serving(overrides: Partial<ServingWorkloadProps> = {}): ServingWorkloadProps {
  return {
    name: 'web',
    namespace: 'apps',
    labels,
    selector,
    serviceAccountName: 'web',
    securityContext: { runAsNonRoot: true },
    containers: [container],
    ...overrides,
  };
}

function stateful(overrides: Partial<StatefulWorkloadProps> = {}): StatefulWorkloadProps {
  return {
    name: 'db',
    namespace: 'apps',
    labels: { ...labels, 'app.kubernetes.io/name': 'db' },
    selector: { ...selector, 'app.kubernetes.io/name': 'db' },
    serviceAccountName: 'db',
    securityContext: { runAsNonRoot: true },
    containers: [{ name: 'db', image: 'registry.example.com/db:16', ports: [{ name: 'sql', containerPort: 5432, protocol: 'TCP' }] }],
    governingService: { ports: [{ name: 'sql', port: 5432 }] },
    dataVolume: { name: 'data', size: '5Gi', labels: { 'app.kubernetes.io/name': 'data' } },
    ...overrides,
  };
}

function synth(build: (scope: Construct) => void): KubeObject[] {
  const chart = new Chart(new App(), 'test', { disableResourceNameHashes: true });
  build(chart);
  return chart.toJson() as KubeObject[];
}

const order = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);

describe('ServingWorkload', () => {
  it('writes a Deployment whose Service, HPA and PDB select its pods; replicas belong to the HPA', () => {
    const objects = synth((s) => {
      const w = new ServingWorkload(s, 'web', serving({ spreadTopologyKeys: ['kubernetes.io/hostname'] }));
      w.exposeViaService({ ports: [{ name: 'http', port: 80 }] });
      w.autoscale({ minReplicas: 2, maxReplicas: 5, targetCPUUtilization: 70 });
      w.limitDisruptions();
    });
    expect(schemaProblems(objects)).toEqual([]);
    expect(order(objects)).toEqual(['Deployment/web', 'Service/web', 'HorizontalPodAutoscaler/web', 'PodDisruptionBudget/web']);
    const deployment = named(objects, 'Deployment', 'web');
    const pods = podTemplate(deployment)!;
    const spec = deployment.spec as Record<string, any>;
    expect(spec.replicas).toBeUndefined();
    expect(spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(pods.spec.automountServiceAccountToken).toBe(false);
    expect(pods.spec.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
    ]);
    const service = named(objects, 'Service', 'web').spec as Record<string, any>;
    expect(mapSelectorMatches(service.selector, pods.labels)).toBe(true);
    expect(service).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
    expect((named(objects, 'HorizontalPodAutoscaler', 'web').spec as Record<string, any>).scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
    });
    expect((named(objects, 'PodDisruptionBudget', 'web').spec as Record<string, any>).selector).toEqual({ matchLabels: selector });
  });

  it('lists the Service first with beforeWorkload, and places what its methods make beside it in call order', () => {
    const objects = synth((s) => {
      const w = new ServingWorkload(s, 'web', serving());
      w.exposeViaService({ ports: [{ name: 'http', port: 80 }], beforeWorkload: true });
      new k8s.KubeConfigMap(s, 'between', { metadata: { name: 'between', namespace: 'apps' } });
      w.autoscale({ minReplicas: 2, maxReplicas: 3, targetCPUUtilization: 70 });
      w.limitDisruptions({ labels: { 'app.kubernetes.io/name': 'web' } });
    });
    expect(order(objects)).toEqual(['Service/web', 'Deployment/web', 'ConfigMap/between', 'HorizontalPodAutoscaler/web', 'PodDisruptionBudget/web']);
    expect(named(objects, 'PodDisruptionBudget', 'web').metadata.labels).toEqual({ 'app.kubernetes.io/name': 'web' });
  });

  it('spreads each revision on its own when asked, and records why a one-replica floor is right', () => {
    const objects = synth((s) => {
      const w = new ServingWorkload(
        s,
        'web',
        serving({ spreadTopologyKeys: ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'], spreadPerRevision: true }),
      );
      w.autoscale({
        minReplicas: 1,
        maxReplicas: 2,
        targetCPUUtilization: 60,
        singleReplicaReason: 'a laptop cluster',
        scaleDown: { stabilizationWindowSeconds: 300 },
      });
    });
    const spread = podTemplate(named(objects, 'Deployment', 'web'))!.spec.topologySpreadConstraints as Array<Record<string, unknown>>;
    expect(spread.map((c) => [c.topologyKey, c.matchLabelKeys])).toEqual([
      ['topology.kubernetes.io/zone', ['pod-template-hash']],
      ['kubernetes.io/hostname', ['pod-template-hash']],
    ]);
    const hpa = named(objects, 'HorizontalPodAutoscaler', 'web');
    expect(hpa.metadata.annotations).toEqual({
      'kube-score/ignore': 'horizontalpodautoscaler-replicas',
      'mlops-blueprint.io/single-replica-reason': 'a laptop cluster',
    });
    expect((hpa.spec as Record<string, any>).behavior).toEqual({ scaleDown: { stabilizationWindowSeconds: 300 } });
    expect(schemaProblems(objects)).toEqual([]);
  });

  it.each<[string, (s: Construct) => void, RegExp]>([
    ['a name that is no DNS label', (s) => new ServingWorkload(s, 'w', serving({ name: 'Web_1' })), /'name' "Web_1" must be a DNS-1123 label/],
    ['no containers', (s) => new ServingWorkload(s, 'w', serving({ containers: [] })), /'containers' must hold at least one container/],
    ['an empty selector', (s) => new ServingWorkload(s, 'w', serving({ selector: {} })), /'selector' is empty/],
    [
      'a selector its pods do not match',
      (s) => new ServingWorkload(s, 'w', serving({ selector: { ...selector, tier: 'front' } })),
      /'selector' must select the workload's own pods; their labels lack tier=front/,
    ],
    ['zero replicas', (s) => new ServingWorkload(s, 'w', serving({ replicas: 0 })), /'replicas' must be a whole number ≥ 1/],
    [
      'an HPA over fixed replicas',
      (s) => new ServingWorkload(s, 'w', serving({ replicas: 2 })).autoscale({ minReplicas: 2, maxReplicas: 3, targetCPUUtilization: 70 }),
      /'replicas' is set/,
    ],
    [
      'maxReplicas below minReplicas',
      (s) => new ServingWorkload(s, 'w', serving()).autoscale({ minReplicas: 3, maxReplicas: 2, targetCPUUtilization: 70 }),
      /'maxReplicas' \(2\) must be a whole number ≥ minReplicas \(3\)/,
    ],
    [
      'one replica without a reason',
      (s) => new ServingWorkload(s, 'w', serving()).autoscale({ minReplicas: 1, maxReplicas: 2, targetCPUUtilization: 70 }),
      /'singleReplicaReason' is required/,
    ],
    [
      'a CPU target of zero',
      (s) => new ServingWorkload(s, 'w', serving()).autoscale({ minReplicas: 2, maxReplicas: 2, targetCPUUtilization: 0 }),
      /'targetCPUUtilization' must be a positive percentage/,
    ],
    [
      'a Service port no container names',
      (s) => new ServingWorkload(s, 'w', serving()).exposeViaService({ ports: [{ name: 'grpc', port: 9000 }] }),
      /port "grpc" targets "grpc", which no container of the workload names/,
    ],
    ['a Service without ports', (s) => new ServingWorkload(s, 'w', serving()).exposeViaService({ ports: [] }), /needs at least one port in 'ports'/],
  ])('rejects %s, naming the prop', (_what, build, message) => {
    expect(() => synth(build)).toThrow(message);
  });
});

describe('StatefulWorkload', () => {
  it('writes the governing headless Service first, then its StatefulSet with retained claims', () => {
    const objects = synth((s) => {
      const w = new StatefulWorkload(s, 'db', stateful({ governingService: { name: 'db-headless', ports: [{ name: 'sql', port: 5432 }] } }));
      w.exposeViaService({ ports: [{ name: 'sql', port: 5432 }], beforeWorkload: true });
      w.limitDisruptions();
    });
    expect(schemaProblems(objects.filter((o) => o.kind !== 'StatefulSet'))).toEqual([]);
    expect(order(objects)).toEqual(['Service/db-headless', 'Service/db', 'StatefulSet/db', 'PodDisruptionBudget/db']);
    expect(named(objects, 'Service', 'db-headless').spec).toMatchObject({ clusterIP: 'None' });
    expect((named(objects, 'Service', 'db-headless').spec as Record<string, unknown>).type).toBeUndefined();
    const sts = named(objects, 'StatefulSet', 'db').spec as Record<string, any>;
    expect(sts).toMatchObject({
      serviceName: 'db-headless',
      replicas: 1,
      updateStrategy: { type: 'RollingUpdate' },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    });
    expect(sts.volumeClaimTemplates).toEqual([
      {
        metadata: { name: 'data', labels: { 'app.kubernetes.io/name': 'data' } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } },
      },
    ]);
  });

  it('rejects a governing Service port its pods do not expose', () => {
    expect(() => synth((s) => new StatefulWorkload(s, 'db', stateful({ governingService: { ports: [{ name: 'http', port: 80 }] } })))).toThrow(
      /port "http" targets "http"/,
    );
  });
});
