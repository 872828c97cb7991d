import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { parse, stringify } from 'yaml';
import { builtInEnvironments, loadEnvironment, validateEnvironment, type EnvironmentConfig } from '../../environments';
import { churnPipeline } from '../../environments/pipelines';
import { MlopsPlatform } from '../../constructs/platform';
import { argoSchemaProblems } from '../../constructs/pipelines/argo-schema';
import { workflowCreatedObjects, workflowStepPods } from '../../core/argo-pods';
import type { KubeObject } from '../../core/kube-objects';
import { checkManifests } from '../../policies';
import { crdSchemaProblems } from '../../constructs/crd-schema';
import { schemaProblems } from '../../stacks/gitops';
import { describeWithTool } from '../helpers/tools';
import { cacheAvailability, crdDir } from '../cluster/cache';

const objectsOf = (env: EnvironmentConfig, cloud = {}): KubeObject[] =>
  new MlopsPlatform(new App(), env.name, { env, cloud }).charts.flatMap(({ chart }) => chart.toJson() as KubeObject[]);
const find = (objects: KubeObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name}`);
  return o as KubeObject & { spec: any; data?: Record<string, string>; rules?: any[]; subjects?: any[] };
};

/** dev with the default pipeline (no built-in environment turns one on while its step commands are unbuilt). */
const devWithPipeline = (): EnvironmentConfig => loadEnvironment('dev', { pipelines: { churn: churnPipeline() } });

/** prod (GPU pools, S3, IRSA) with a pipeline whose train step runs on the training GPU pool, scheduled nightly. */
function prodWithGpuPipeline(): EnvironmentConfig {
  const churn = churnPipeline({ schedule: '0 3 * * *' });
  const steps = churn.steps as Record<string, Record<string, unknown>>;
  steps.train = { ...steps.train, gpuPool: 'gpu-training', gpus: 2 };
  // Digests not required here: the repository's image lock pins none of prod's images (image-digest stays a warning).
  return validateEnvironment(
    {
      ...builtInEnvironments.prod,
      images: { requireDigests: false },
      training: { ...builtInEnvironments.prod.training, retrainSchedule: undefined },
      pipelines: { churn },
    },
    'prod+pipelines',
  );
}

describe('pipelines: rendered objects', () => {
  // dev with the default pipeline turned on (no built-in environment turns it on while its step commands are unbuilt).
  const dev = objectsOf(devWithPipeline());

  test('environments without pipelines render none of it (staging and prod output unchanged)', () => {
    for (const name of ['staging', 'prod']) {
      const objects = objectsOf(loadEnvironment(name));
      expect(objects.filter((o) => o.apiVersion.startsWith('argoproj.io/') && o.kind !== 'Application')).toEqual([]);
      expect(objects.some((o) => o.metadata.name === 'pipeline-steps' || o.metadata.name === 'artifact-repositories')).toBe(false);
    }
  });

  test('the churn WorkflowTemplate: a DAG of the five steps passing run ids, model URIs and the dataset artifact', () => {
    const wt = find(dev, 'WorkflowTemplate', 'churn');
    expect(wt.metadata.namespace).toBe('ml-training');
    const dag = wt.spec.templates[0];
    expect(dag.name).toBe('main');
    expect(dag.dag.tasks.map((t: any) => [t.name, t.dependencies ?? []])).toEqual([
      ['prepare-data', []],
      ['train', ['prepare-data']],
      ['evaluate', ['train']],
      ['register', ['evaluate']],
      ['promote', ['register']],
    ]);
    const evaluate = dag.dag.tasks.find((t: any) => t.name === 'evaluate');
    expect(evaluate.arguments).toEqual({
      parameters: [{ name: 'train-run-id', value: '{{tasks.train.outputs.parameters.run-id}}' }],
      artifacts: [{ name: 'dataset', from: '{{tasks.prepare-data.outputs.artifacts.dataset}}' }],
    });
    const train = wt.spec.templates.find((t: any) => t.name === 'step-train');
    expect(train.outputs.parameters).toEqual([
      { name: 'run-id', valueFrom: { path: '/tmp/outputs/run-id' } },
      { name: 'model-uri', valueFrom: { path: '/tmp/outputs/model-uri' } },
    ]);
    expect(train.inputs.artifacts).toEqual([{ name: 'dataset', path: '/tmp/artifacts/dataset' }]);
    expect(train.retryStrategy).toMatchObject({ limit: 1 });
    expect(train.activeDeadlineSeconds).toBe(3600);
    const promote = wt.spec.templates.find((t: any) => t.name === 'step-promote');
    expect(promote.container.args).toEqual(
      expect.arrayContaining(['--version', '{{inputs.parameters.register-version}}', '--require', 'metrics.eval_auc >= {{workflow.parameters.min-auc}}']),
    );
    expect(wt.spec.arguments.parameters).toContainEqual({ name: 'registered-model', value: 'churn-predictor' });
  });

  test('every step pod: restricted security, the training image, the tracking login from the training Secret, no CronWorkflow unscheduled', () => {
    const wt = find(dev, 'WorkflowTemplate', 'churn');
    const job = find(dev, 'CronJob', 'train-churn').spec.jobTemplate.spec.template.spec;
    expect(wt.spec.securityContext).toEqual(job.securityContext);
    expect(wt.spec.serviceAccountName).toBe('pipeline');
    for (const t of wt.spec.templates.slice(1)) {
      expect(t.container.image).toBe(job.containers[0].image);
      expect(t.container.securityContext).toEqual(job.containers[0].securityContext);
      expect(t.container.env.slice(0, 3)).toEqual(job.containers[0].env.slice(0, 3));
      expect(t.container.env).toContainEqual({ name: 'MLOPS_PIPELINE_RUN', value: '{{workflow.name}}' });
    }
    expect(dev.some((o) => o.kind === 'CronWorkflow')).toBe(false);
  });

  test('the executor ServiceAccount holds exactly what Argo v4 emissary needs: workflowtaskresults create and patch', () => {
    const role = find(dev, 'Role', 'pipeline-executor');
    expect(role.rules).toEqual([{ apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] }]);
    expect(find(dev, 'RoleBinding', 'pipeline-executor').subjects).toEqual([{ kind: 'ServiceAccount', name: 'pipeline', namespace: 'ml-training' }]);
  });

  test("the artifact repository is the platform's MinIO bucket under pipelines/, with the pipelines' own login (no anonymous access)", () => {
    const cm = find(dev, 'ConfigMap', 'artifact-repositories');
    expect(cm.metadata.annotations).toEqual({ 'workflows.argoproj.io/default-artifact-repository': 'default-v1' });
    expect(parse(cm.data!['default-v1'])).toEqual({
      s3: {
        bucket: 'mlflow-artifacts',
        endpoint: 'minio.mlops-platform.svc:9000',
        insecure: true,
        keyFormat: 'pipelines/{{workflow.name}}/{{pod.name}}',
        accessKeySecret: { name: 'pipeline-artifacts', key: 'access-key' },
        secretKeySecret: { name: 'pipeline-artifacts', key: 'secret-key' },
      },
    });
  });

  test('NetworkPolicies: step pods reach MinIO and the API server (tracking through the training policy); MinIO admits them', () => {
    const np = find(dev, 'NetworkPolicy', 'pipeline-steps');
    expect(np.spec.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mlops-platform' } },
            podSelector: { matchLabels: expect.objectContaining({ 'app.kubernetes.io/name': 'minio' }) },
          },
        ],
        ports: [{ protocol: 'TCP', port: 9000 }],
      },
      {
        ports: [
          { protocol: 'TCP', port: 443 },
          { protocol: 'TCP', port: 6443 },
        ],
      },
    ]);
    expect(np.spec.ingress).toBeUndefined();
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const pods = workflowStepPods(dev);
    expect(pods.map((p) => p.metadata.labels?.['app.kubernetes.io/component'])).toEqual(Array(5).fill('training'));
    const minio = find(dev, 'NetworkPolicy', 'minio');
    expect(JSON.stringify(minio.spec.ingress)).toContain('mlops-blueprint.io/pipeline');
  });

  test('a GPU step gets its pool toleration, node selector and GPU limit; a scheduled pipeline a CronWorkflow; S3 through IRSA', () => {
    const cloud = { trainingRoleArn: 'arn:aws:iam::000000000000:role/training' };
    const objects = objectsOf(prodWithGpuPipeline(), cloud);
    const wt = find(objects, 'WorkflowTemplate', 'churn');
    const train = wt.spec.templates.find((t: any) => t.name === 'step-train');
    expect(train.nodeSelector).toEqual({ 'mlops.example.com/pool': 'gpu-training' });
    expect(train.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(train.container.resources.limits['nvidia.com/gpu']).toBe('2');
    const cpuSteps = wt.spec.templates.filter((t: any) => t.name !== 'step-train' && t.container);
    for (const t of cpuSteps)
      expect([t.nodeSelector, t.tolerations, t.container.resources.limits['nvidia.com/gpu']]).toEqual([undefined, undefined, undefined]);
    const cron = find(objects, 'CronWorkflow', 'churn');
    expect(cron.spec).toMatchObject({ schedules: ['0 3 * * *'], concurrencyPolicy: 'Forbid', workflowSpec: { workflowTemplateRef: { name: 'churn' } } });
    expect(find(objects, 'ServiceAccount', 'pipeline').metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': cloud.trainingRoleArn });
    const repo = parse(find(objects, 'ConfigMap', 'artifact-repositories').data!['default-v1']);
    expect(repo.s3).toMatchObject({ useSDKCreds: true, keyFormat: 'mlflow/pipelines/{{workflow.name}}/{{pod.name}}' });
    expect(repo.s3.accessKeySecret).toBeUndefined();
    // The retraining CronJob is replaced by the pipeline.
    expect(objects.some((o) => o.kind === 'CronJob' && o.metadata.name === 'retrain-churn')).toBe(false);
  });

  test('every policy passes on the output, step pods included (checked as the Pods Argo creates)', () => {
    for (const env of [devWithPipeline(), prodWithGpuPipeline()]) {
      const objects = objectsOf(env, {});
      const errors = checkManifests(objects, { mode: 'gitops', environment: env }).filter((v) => v.severity === 'error' && !v.exception);
      expect(errors).toEqual([]);
      expect(checkManifests(objects, { mode: 'gitops', environment: env }).some((v) => v.object.startsWith('Pod/ml-training/churn-step-'))).toBe(true);
    }
  });

  test('a step pod that breaks Pod Security restricted is an error (the expansion is checked, not skipped)', () => {
    const env = devWithPipeline();
    const objects = objectsOf(env).map((o) => (o.kind === 'WorkflowTemplate' ? (JSON.parse(JSON.stringify(o)) as KubeObject) : o));
    const wt = find(objects, 'WorkflowTemplate', 'churn');
    wt.spec.templates[1].container.securityContext.allowPrivilegeEscalation = true;
    const errors = checkManifests(objects, { mode: 'gitops', environment: env }).filter((v) => v.severity === 'error' && !v.exception);
    expect(errors.map((e) => [e.object, e.field])).toContainEqual([
      'Pod/ml-training/churn-step-prepare-data',
      'spec.containers[0].securityContext.allowPrivilegeEscalation',
    ]);
  });

  test('the vendored v4.0.5 schema rejects an unknown field and a wrong type, naming the field', () => {
    const wt = find(dev, 'WorkflowTemplate', 'churn');
    expect(argoSchemaProblems(wt)).toEqual([]);
    const bad = JSON.parse(JSON.stringify(wt));
    bad.spec.templates[1].retryStrategy = { limit: 1, retryPolicy: 'Always', backof: {} };
    expect(argoSchemaProblems(bad)).toEqual(['spec.templates.1.retryStrategy: must NOT have additional properties "backof"']);
    bad.spec.templates[1].retryStrategy = { limit: 1 };
    bad.spec.activeDeadlineSeconds = 'soon';
    expect(argoSchemaProblems(bad)[0]).toMatch(/^spec\.activeDeadlineSeconds: /);
  });
});

describeWithTool('pipelines: the upstream v4.0.5 CRDs judge the rendered objects', cacheAvailability([], true), () => {
  const crdSchema = (file: string) => {
    const crd = parse(fs.readFileSync(path.join(crdDir('argo-workflows'), file), 'utf8'));
    return crd.spec.versions.find((v: any) => v.storage).schema.openAPIV3Schema;
  };

  test('the vendored schema is the CRD schema with its descriptions dropped, and every WorkflowTemplate and CronWorkflow passes it', () => {
    const vendored = JSON.parse(fs.readFileSync(path.join(__dirname, '../../constructs/imports/argo-workflows.json'), 'utf8'));
    const strip = (n: unknown, inProps = false): unknown =>
      Array.isArray(n)
        ? n.map((x) => strip(x))
        : n && typeof n === 'object'
          ? Object.fromEntries(
              Object.entries(n)
                .filter(([k]) => inProps || k !== 'description')
                .map(([k, v]) => [k, strip(v, k === 'properties' && !inProps)]),
            )
          : n;
    // Descriptions never change what validates: checking against the vendored schema is checking against the CRD's.
    expect(vendored.kinds.WorkflowTemplate.schema).toEqual(strip(crdSchema('argoproj.io_workflowtemplates.yaml')));
    expect(vendored.kinds.CronWorkflow.schema).toEqual(strip(crdSchema('argoproj.io_cronworkflows.yaml')));
    const objects = [...objectsOf(devWithPipeline()), ...objectsOf(prodWithGpuPipeline())].filter(
      (o) => o.kind === 'WorkflowTemplate' || o.kind === 'CronWorkflow',
    );
    expect(objects.map((o) => o.kind).sort()).toEqual(['CronWorkflow', 'WorkflowTemplate', 'WorkflowTemplate']);
    for (const o of objects)
      expect({ object: `${o.kind}/${o.metadata.name}`, problems: argoSchemaProblems(o) }).toEqual({ object: `${o.kind}/${o.metadata.name}`, problems: [] });
  });
});

/** prod with the churn pipeline's train step as a 3-worker PyTorchJob on the training GPU pool. */
function prodWithDistributedPipeline(): EnvironmentConfig {
  const churn = churnPipeline({ training: { gpuPool: 'gpu-training', distributed: { workers: 3, gpusPerWorker: 1 } } });
  return validateEnvironment(
    {
      ...builtInEnvironments.prod,
      images: { requireDigests: false },
      training: { ...builtInEnvironments.prod.training, retrainSchedule: undefined },
      pipelines: { churn },
    },
    'prod+distributed',
  );
}

describe('pipelines: a distributed step', () => {
  const env = prodWithDistributedPipeline();
  const objects = objectsOf(env);
  const wt = find(objects, 'WorkflowTemplate', 'churn');
  const train = wt.spec.templates.find((t: any) => t.name === 'step-train');
  const job = parse(train.resource.manifest);

  test('is a resource template creating a PyTorchJob owned by the workflow, done when rank 0 is', () => {
    expect(wt.spec.templates[0].dag.tasks.map((t: any) => [t.name, t.dependencies ?? []])).toEqual([
      ['prepare-data', []],
      ['train', ['prepare-data']],
      ['train-run', ['train']],
      ['evaluate', ['train-run']],
      ['register', ['evaluate']],
      ['promote', ['register']],
    ]);
    expect(train).toMatchObject({ activeDeadlineSeconds: 3600, retryStrategy: { limit: 1 } });
    expect(train.container).toBeUndefined();
    expect({ ...train.resource, manifest: undefined }).toEqual({
      action: 'create',
      setOwnerReference: true,
      successCondition: 'status.replicaStatuses.Master.succeeded > 0',
      failureCondition: 'status.replicaStatuses.Master.failed > 0',
      manifest: undefined,
    });
    // The executor patch is on container templates only: the resource pod has no init/wait container to patch.
    expect(wt.spec.podSpecPatch).toBeUndefined();
    expect(train.podSpecPatch).toBeUndefined();
    for (const t of wt.spec.templates.filter((x: any) => x.container)) expect(JSON.parse(t.podSpecPatch).containers[0].name).toBe('wait');
  });

  test("every replica runs the step's container on the pool: restricted, the GPU, Argo's placeholders, the pipeline tags", () => {
    expect(job).toMatchObject({ apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { generateName: 'churn-train-' } });
    expect(job.spec.runPolicy).toEqual({ cleanPodPolicy: 'Running', backoffLimit: 0, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 86400 });
    const { Master, Worker } = job.spec.pytorchReplicaSpecs;
    expect([Master.replicas, Worker.replicas, Master.restartPolicy, Worker.restartPolicy]).toEqual([1, 2, 'Never', 'Never']);
    expect(Worker.template).toEqual(Master.template);
    const pod = Master.template.spec;
    expect(pod.nodeSelector).toEqual({ 'mlops.example.com/pool': 'gpu-training' });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toEqual(wt.spec.securityContext);
    const [c] = pod.containers;
    expect([c.name, c.ports, c.resources.limits['nvidia.com/gpu']]).toEqual([
      'pytorch',
      [{ name: 'pytorchjob-port', containerPort: 23456, protocol: 'TCP' }],
      '1',
    ]);
    expect([c.command, c.args.slice(0, 6)]).toEqual([
      ['mlops', 'train'],
      ['--experiment', '{{workflow.parameters.experiment}}', '--rows', '{{workflow.parameters.rows}}', '--seed', '{{workflow.parameters.seed}}'],
    ]);
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'MLOPS_PIPELINE_RUN', value: '{{workflow.name}}' },
        { name: 'MLOPS_PIPELINE_STEP', value: 'train' },
        { name: 'MLOPS_DIST_BACKEND', value: 'nccl' },
      ]),
    );
    expect(Master.template.metadata.labels).toMatchObject({ 'mlops-blueprint.io/pipeline': 'churn', 'mlops-blueprint.io/distributed-step': 'true' });
    expect(crdSchemaProblems(job)).toEqual([]);
  });

  test('the executor Role adds create and get on pytorchjobs, and only where a step is distributed', () => {
    expect(find(objects, 'Role', 'pipeline-executor').rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
      { apiGroups: ['kubeflow.org'], resources: ['pytorchjobs'], verbs: ['create', 'get'] },
    ]);
    expect(find(objectsOf(prodWithGpuPipeline()), 'Role', 'pipeline-executor').rules).toHaveLength(1);
  });

  test('the replicas reach each other on MASTER_PORT; the Argo pod creating the job is not selected', () => {
    const np = find(objects, 'NetworkPolicy', 'churn-train-peers');
    const selector = { 'mlops-blueprint.io/pipeline': 'churn', 'mlops-blueprint.io/pipeline-step': 'train', 'mlops-blueprint.io/distributed-step': 'true' };
    expect(np.spec).toEqual({
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: selector } }], ports: [{ protocol: 'TCP', port: 23456 }] }],
      egress: [{ to: [{ podSelector: { matchLabels: selector } }], ports: [{ protocol: 'TCP', port: 23456 }] }],
    });
    expect(train.metadata.labels['mlops-blueprint.io/distributed-step']).toBeUndefined();
  });

  test('the policies check the replicas (a privileged one is an error) and pass the rendered ones; the synth gate checks the job against its CRD', () => {
    const policy = (objs: KubeObject[]) => checkManifests(objs, { mode: 'gitops', environment: env }).filter((v) => v.severity === 'error' && !v.exception);
    expect(policy(objects)).toEqual([]);
    const bad = objects.map((o) => JSON.parse(JSON.stringify(o)) as KubeObject);
    const badWt = find(bad, 'WorkflowTemplate', 'churn');
    const badTrain = badWt.spec.templates.find((t: any) => t.name === 'step-train');
    const manifest = parse(badTrain.resource.manifest);
    manifest.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged = true;
    manifest.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].imagePullPolice = 'Always';
    badTrain.resource.manifest = stringify(manifest);
    expect(policy(bad).map((e) => [e.object, e.field])).toContainEqual([
      'PyTorchJob/ml-training/churn-step-train',
      'spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged',
    ]);
    expect(schemaProblems(badWt)).toEqual([
      'WorkflowTemplate/churn templates[2]: /spec/pytorchReplicaSpecs/Worker/template/spec/containers/0: must NOT have additional properties "imagePullPolice"',
    ]);
    expect(schemaProblems(wt)).toEqual([]);
  });

  test('a resource manifest that is not YAML (a hand-written WorkflowTemplate) is no object to check, not a crash of the policies', () => {
    const bad = JSON.parse(JSON.stringify(wt)) as KubeObject & { spec: any };
    bad.spec.templates.find((t: any) => t.name === 'step-train').resource.manifest = 'kind: [unclosed';
    expect(workflowCreatedObjects([bad])).toEqual([]);
    expect(workflowCreatedObjects([wt]).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['PyTorchJob/churn-step-train']);
    expect(() => checkManifests([bad], { mode: 'gitops', environment: env })).not.toThrow();
  });

  test('a dev pipeline with a CPU-only distributed step renders the gloo backend and no GPU', () => {
    const dev = loadEnvironment('dev', { pipelines: { churn: churnPipeline({ training: { distributed: { workers: 2 } } }) } });
    const t = find(objectsOf(dev), 'WorkflowTemplate', 'churn').spec.templates.find((x: any) => x.name === 'step-train');
    const c = parse(t.resource.manifest).spec.pytorchReplicaSpecs.Master.template.spec.containers[0];
    expect(c.env).toContainEqual({ name: 'MLOPS_DIST_BACKEND', value: 'gloo' });
    expect(c.resources.limits['nvidia.com/gpu']).toBeUndefined();
  });
});
