import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderEnvironment } from '../../stacks/gitops';
import { compileCrdSchema, crdSchemaProblems, validatorProblems } from '../../constructs/crd-schema';
import { podTemplates, type KubeObject } from '../../core/kube-objects';
import { describeWithTool } from '../helpers/tools';
import { cacheAvailability, crdDir } from '../cluster/cache';
import { env } from './workload-helpers';
import { checkManifests } from '../../policies';

const DISTRIBUTED = { workers: 4, gpusPerWorker: 1 };
const TUNING = {
  objective: { metric: 'auc', type: 'maximize' },
  algorithm: 'random',
  parameters: [
    { name: 'learning-rate', type: 'double', min: 0.05, max: 1 },
    { name: 'epochs', type: 'int', min: 50, max: 400 },
  ],
  maxTrials: 6,
  parallelTrials: 2,
};

function prodWith(training: Record<string, unknown>) {
  return env('prod', { training });
}
function objectsOf(training: Record<string, unknown>): KubeObject[] {
  return renderEnvironment(prodWith(training)).files.flatMap((f) => f.objects);
}
const find = (objects: KubeObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name}`);
  return o as KubeObject & { spec: Record<string, any> };
};

describe('training.distributed renders a PyTorchJob through every synth gate (schema, policies)', () => {
  const objects = objectsOf({ distributed: DISTRIBUTED });
  const job = find(objects, 'PyTorchJob', 'train-churn-distributed');

  it('has one Master (rank 0) and workers - 1 Workers, suspended as the on-demand template', () => {
    expect(job.apiVersion).toBe('kubeflow.org/v1');
    expect(job.spec.pytorchReplicaSpecs.Master.replicas).toBe(1);
    expect(job.spec.pytorchReplicaSpecs.Worker.replicas).toBe(3);
    expect(job.spec.runPolicy).toMatchObject({ suspend: true, cleanPodPolicy: 'Running', backoffLimit: 2 });
    expect(job.spec.nprocPerNode).toBe('1');
  });

  it('puts every replica on the GPU pool, restricted, with the pinned image and the tracking login', () => {
    const tpls = podTemplates([job]);
    expect(tpls.map((t) => t.tpl.path)).toEqual(['spec.pytorchReplicaSpecs.Master.template.spec', 'spec.pytorchReplicaSpecs.Worker.template.spec']);
    for (const { tpl } of tpls) {
      const spec = tpl.spec as any;
      expect(spec.nodeSelector).toEqual({ 'mlops.example.com/pool': 'gpu-training' });
      expect(spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      const c = spec.containers[0];
      expect(c.name).toBe('pytorch');
      expect(c.image).toMatch(/@sha256:[0-9a-f]{64}$/);
      expect(c.resources.limits['nvidia.com/gpu']).toBe('1');
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.env).toEqual(
        expect.arrayContaining([
          { name: 'MLFLOW_TRACKING_URI', value: 'http://tracking.mlops-platform.svc:5000' },
          { name: 'MLFLOW_TRACKING_PASSWORD', valueFrom: { secretKeyRef: { name: 'tracking-client', key: 'password' } } },
          { name: 'MLOPS_DIST_BACKEND', value: 'nccl' },
        ]),
      );
      expect(c.ports).toEqual([{ name: 'pytorchjob-port', containerPort: 23456, protocol: 'TCP' }]);
    }
  });

  it("the Pod Security rules read every replica's pod and the Katib trial's (a privileged one is an error naming its path)", () => {
    const tuned = objectsOf({ distributed: DISTRIBUTED, tuning: TUNING });
    const e = prodWith({ distributed: DISTRIBUTED, tuning: TUNING });
    const errors = (objs: KubeObject[]) => checkManifests(objs, { mode: 'gitops', environment: e }).filter((v) => v.severity === 'error' && !v.exception);
    expect(errors(tuned)).toEqual([]);
    const bad = tuned.map((o) => JSON.parse(JSON.stringify(o)) as KubeObject & { spec: any });
    const pj = bad.find((o) => o.kind === 'PyTorchJob')!;
    pj.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged = true;
    const exp = bad.find((o) => o.kind === 'Experiment')!;
    exp.spec.trialTemplate.trialSpec.spec.pytorchReplicaSpecs.Master.template.spec.hostNetwork = true;
    expect(errors(bad).map((v) => [v.object, v.field])).toEqual(
      expect.arrayContaining([
        ['PyTorchJob/ml-training/train-churn-distributed', 'spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged'],
        ['Experiment/ml-training/tune-churn', 'spec.trialTemplate.trialSpec.spec.pytorchReplicaSpecs.Master.template.spec.hostNetwork'],
      ]),
    );
  });

  it("opens the master port between the job's own pods only", () => {
    const np = find(objects, 'NetworkPolicy', 'train-churn-distributed-peers');
    const peer = [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'train-churn-distributed', 'app.kubernetes.io/instance': 'prod' } } }];
    expect(np.spec).toEqual({
      podSelector: peer[0].podSelector,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: peer, ports: [{ port: 23456, protocol: 'TCP' }] }],
      egress: [{ to: peer, ports: [{ port: 23456, protocol: 'TCP' }] }],
    });
  });

  it('elastic: Workers only, between min and max, c10d rendezvous on 29400 (also opened between peers)', () => {
    const elastic = objectsOf({ distributed: { workers: 3, gpusPerWorker: 1, elastic: { minWorkers: 2, maxWorkers: 6 } } });
    const ej = find(elastic, 'PyTorchJob', 'train-churn-distributed');
    expect(ej.spec.pytorchReplicaSpecs.Master).toBeUndefined();
    expect(ej.spec.pytorchReplicaSpecs.Worker.replicas).toBe(3);
    expect(ej.spec.elasticPolicy).toEqual({ minReplicas: 2, maxReplicas: 6, maxRestarts: 3, rdzvBackend: 'c10d', rdzvPort: 29400 });
    expect(find(elastic, 'NetworkPolicy', 'train-churn-distributed-peers').spec.ingress[0].ports).toEqual([
      { port: 23456, protocol: 'TCP' },
      { port: 29400, protocol: 'TCP' },
    ]);
  });

  it('CPU workers: gloo, no GPU limit, not on the GPU pool', () => {
    const cpu = find(objectsOf({ distributed: { workers: 2 } }), 'PyTorchJob', 'train-churn-distributed');
    const spec = cpu.spec.pytorchReplicaSpecs.Worker.template.spec;
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(spec.containers[0].env).toContainEqual({ name: 'MLOPS_DIST_BACKEND', value: 'gloo' });
  });
});

describe('training.tuning renders a Katib Experiment whose trials are the training step', () => {
  it('as a Job: objective, algorithm, parameter space, trial counts, StdOut collector, the trial command', () => {
    const objects = objectsOf({ tuning: TUNING });
    const exp = find(objects, 'Experiment', 'tune-churn');
    expect(exp.apiVersion).toBe('kubeflow.org/v1beta1');
    expect(exp.spec).toMatchObject({
      objective: { type: 'maximize', objectiveMetricName: 'auc', additionalMetricNames: ['accuracy', 'logloss'] },
      algorithm: { algorithmName: 'random' },
      maxTrialCount: 6,
      parallelTrialCount: 2,
      maxFailedTrialCount: 3,
      parameters: [
        { name: 'learning-rate', parameterType: 'double', feasibleSpace: { min: '0.05', max: '1' } },
        { name: 'epochs', parameterType: 'int', feasibleSpace: { min: '50', max: '400' } },
      ],
      metricsCollectorSpec: { collector: { kind: 'StdOut' } },
    });
    const trial = exp.spec.trialTemplate;
    expect(trial.primaryContainerName).toBe('train');
    expect(trial.trialParameters).toEqual([
      { name: 'learningRate', reference: 'learning-rate', description: 'mlops train --learning-rate' },
      { name: 'epochs', reference: 'epochs', description: 'mlops train --epochs' },
    ]);
    expect(trial.trialSpec.kind).toBe('Job');
    expect(trial.trialSpec.spec.template.spec.containers[0].command).toEqual([
      'mlops',
      'tune',
      'trial',
      '--tuning',
      'tune-churn',
      '--experiment',
      'churn',
      '--metric',
      'auc',
      '--goal',
      'maximize',
      '--register',
      'churn-predictor',
      '--learning-rate=${trialParameters.learningRate}',
      '--epochs=${trialParameters.epochs}',
    ]);
    const np = find(objects, 'NetworkPolicy', 'tune-churn-to-katib');
    expect(np.spec.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kubeflow' } },
            podSelector: { matchLabels: { 'katib.kubeflow.org/component': 'db-manager' } },
          },
        ],
        ports: [{ port: 6789, protocol: 'TCP' }],
      },
    ]);
  });

  it('as the PyTorchJob when distributed: the trial object is validated too, metrics from the Master', () => {
    const objects = objectsOf({ distributed: DISTRIBUTED, tuning: TUNING });
    const exp = find(objects, 'Experiment', 'tune-churn');
    const trial = exp.spec.trialTemplate;
    expect(trial.trialSpec.kind).toBe('PyTorchJob');
    expect(trial.primaryContainerName).toBe('pytorch');
    expect(trial.primaryPodLabels).toEqual({ 'training.kubeflow.org/job-role': 'master' });
    expect(crdSchemaProblems({ ...trial.trialSpec, metadata: { name: 'trial' } })).toEqual([]);
    expect(podTemplates([exp]).map((t) => t.tpl.path)).toEqual([
      'spec.trialTemplate.trialSpec.spec.pytorchReplicaSpecs.Master.template.spec',
      'spec.trialTemplate.trialSpec.spec.pytorchReplicaSpecs.Worker.template.spec',
    ]);
    expect(objects.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'tune-churn-peers')).toBe(true);
  });
});

describe('the committed schemas reject what the API server would not keep', () => {
  const base = () => JSON.parse(JSON.stringify(find(objectsOf({ distributed: DISTRIBUTED }), 'PyTorchJob', 'train-churn-distributed')));
  it('a misspelt field, a wrong type, a misspelt container field', () => {
    const typo = base();
    typo.spec.pytorchReplicaSpecs.Worker.replica = 2;
    expect(crdSchemaProblems(typo)).toEqual(['/spec/pytorchReplicaSpecs/Worker: must NOT have additional properties "replica"']);
    const type = base();
    type.spec.pytorchReplicaSpecs.Worker.replicas = 'three';
    expect(crdSchemaProblems(type)[0]).toMatch(/replicas: must be integer/);
    const container = base();
    container.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].imagePullPolice = 'Always';
    expect(crdSchemaProblems(container)).toEqual([
      '/spec/pytorchReplicaSpecs/Master/template/spec/containers/0: must NOT have additional properties "imagePullPolice"',
    ]);
  });
});

describeWithTool('the committed schemas are the pinned upstream ones', cacheAvailability([], true), () => {
  it('PyTorchJob: identical to the v1 openAPIV3Schema of training-operator v1.8.1, and the rendered job passes it', () => {
    const file = path.join(crdDir('training-operator'), 'kubeflow.org_pytorchjobs.yaml');
    const crd = parseAllDocuments(fs.readFileSync(file, 'utf8'))[0].toJSON();
    const upstream = crd.spec.versions.find((v: any) => v.name === 'v1').schema.openAPIV3Schema;
    const committed = JSON.parse(fs.readFileSync(path.join(__dirname, '../../constructs/imports/schemas/kubeflow.org_v1_PyTorchJob.json'), 'utf8'));
    expect(committed).toEqual(upstream);
    const job = find(objectsOf({ distributed: DISTRIBUTED }), 'PyTorchJob', 'train-churn-distributed');
    expect(validatorProblems(compileCrdSchema(upstream), job)).toEqual([]);
  });
});

describe('environment validation of training.distributed / training.tuning (one line naming the field)', () => {
  const problems = (training: Record<string, unknown>, base = 'prod') => {
    try {
      env(base, { training });
      return '';
    } catch (err) {
      return (err as Error).message
        .split('\n')
        .slice(1)
        .map((l) => l.trim())
        .join('\n');
    }
  };
  it.each([
    [{ distributed: { workers: 2, gpusPerWorker: 1 } }, 'dev', 'training.distributed.gpusPerWorker: needs training.gpuPool (GPU pools: none)'],
    [
      { gpuPool: 'gpu-training', distributed: { workers: 2, gpusPerWorker: 4 } },
      'prod',
      'training.distributed.gpusPerWorker: must be ≤ gpusPerNode of GPU pool "gpu-training" (1): a worker runs on one node',
    ],
    [
      { distributed: { workers: 3, elastic: { minWorkers: 4, maxWorkers: 2 } } },
      'prod',
      'training.distributed.elastic.minWorkers: must be ≤ elastic.maxWorkers (2)',
    ],
    [
      { distributed: { workers: 8, elastic: { minWorkers: 2, maxWorkers: 4 } } },
      'prod',
      'training.distributed.workers: must be between elastic.minWorkers and elastic.maxWorkers (2..4)',
    ],
    [
      { distributed: { workers: 2, backend: 'nccl' } },
      'prod',
      'training.distributed.backend: "nccl" needs GPUs (gpusPerWorker ≥ 1); use "gloo" on CPU workers',
    ],
    [{ distributed: { workers: 1 } }, 'prod', 'training.distributed.workers: must be at least 2 (one pod is the plain training Job)'],
    [{ tuning: { ...TUNING, parallelTrials: 9 } }, 'prod', 'training.tuning.parallelTrials: must be ≤ maxTrials (6)'],
    [
      { tuning: { ...TUNING, parameters: [{ name: 'l2', type: 'double', min: 1, max: 0.1 }] } },
      'prod',
      'training.tuning.parameters[0].min: must be ≤ max (0.1)',
    ],
    [{ tuning: { ...TUNING, algorithm: 'grid' } }, 'prod', 'training.tuning.parameters[0].step: is required for a double parameter with the grid algorithm'],
  ])('%j on %s', (training, base, message) => {
    expect(problems(training, base)).toBe(message);
  });
  it('defaults: maxFailedTrials 3, no backend (derived from the GPUs), no elastic block', () => {
    const t = prodWith({ distributed: DISTRIBUTED, tuning: TUNING }).training;
    expect(t.distributed).toEqual({ workers: 4, gpusPerWorker: 1 });
    expect(t.tuning?.maxFailedTrials).toBe(3);
  });
});
