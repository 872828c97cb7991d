import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { KubeObject } from '../../core/kube-objects';
import { churnPipeline, type PipelineInput } from '../../environments/pipelines';
import { RETRAIN_TRIGGER_SERVICE_ACCOUNT } from '../../constructs/training';
import { startTrackingServer } from '../../runtime/tracking/server';
import { writeSynth } from '../../stacks/gitops';
import { runMlops, runMlopsAsync } from '../helpers/cli';
import { describeWithTool } from '../helpers/tools';
import { pinnedEnvironment, testImageLockFile } from '../helpers/image-lock';
import { bin, cacheAvailability, pinnedVersions } from './cache';
import { startControlPlane, type ControlPlane } from './control-plane';
import { applyFile, createNodes, eventually, installCrds, list, outputFiles, type Nodes } from './cluster-setup';

/*
 * prod with the churn pipeline on (scheduled, and its train step on the gpu-training pool), synthesized as
 * `mlops synth` writes it and applied to a real kube-apiserver with Argo Workflows v4.0.5's CRDs; then the
 * real `mlops pipeline submit` against that API, and the real workflow-controller (v4.0.5, built from its Go
 * module) turning the Workflow into pods, which the real kube-scheduler places on kwok nodes labelled and
 * tainted as the environment's pools say. No kubelet runs a container: the test plays the executor's part
 * for the first step (the WorkflowTaskResult the `wait` container would write, and the pod's exit), so the
 * controller moves the DAG on to the GPU step. A second pipeline has that step distributed (a PyTorchJob): the
 * controller's own resource pod carries the job it would create, which the test creates as the step ServiceAccount,
 * and, with no Training Operator here, the job's replica pods as the operator names and builds them.
 */
const churn = churnPipeline({ schedule: '0 3 * * 0' }) as PipelineInput & { steps: Record<string, Record<string, unknown>> };
// And the same pipeline with its train step as a 2-worker PyTorchJob on that pool.
const churnDistributed = churnPipeline({ training: { gpuPool: 'gpu-training', distributed: { workers: 2, gpusPerWorker: 1 } } });
const env = pinnedEnvironment('prod', {
  pipelines: { churn: { ...churn, steps: { ...churn.steps, train: { ...churn.steps.train, gpuPool: 'gpu-training' } } }, 'churn-dist': churnDistributed },
});
const ns = env.namespaces.training;
const EXECUTOR_IMAGE = `quay.io/argoproj/argoexec:${pinnedVersions().ARGO_WORKFLOWS_VERSION}`;
const WORKFLOW_LABEL = 'workflows.argoproj.io/workflow';

/**
 * The real workflow-controller, namespaced to the training namespace, as its install manifests run it (minus leader
 * election), with their empty `workflow-controller-configmap` (manifests/base/workflow-controller/: the controller
 * exits without it).
 */
async function startWorkflowController(cp: ControlPlane): Promise<{ child: ChildProcess; log: string }> {
  await cp.kubectl(['create', 'configmap', 'workflow-controller-configmap', '-n', ns]);
  const log = path.join(cp.dir, 'workflow-controller.log');
  const fd = fs.openSync(log, 'a');
  const child = spawn(
    bin('argo-workflows', 'workflow-controller'),
    [
      `--kubeconfig=${cp.kubeconfig}`,
      '--namespaced',
      `--managed-namespace=${ns}`,
      `--namespace=${ns}`,
      `--executor-image=${EXECUTOR_IMAGE}`,
      '--loglevel=info',
    ],
    { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, LEADER_ELECTION_DISABLE: 'true' } },
  );
  fs.closeSync(fd);
  return { child, log };
}

const tail = (file: string) => () => Promise.resolve(fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '(no log)');

describeWithTool(
  'prod with the churn pipeline on a real control plane and the Argo workflow-controller',
  cacheAvailability(['kubernetes', 'etcd', 'kwok', 'argo-workflows'], true),
  () => {
    let cp: ControlPlane | undefined;
    let controller: { child: ChildProcess; log: string } | undefined;
    let out: string;
    let objects: KubeObject[];
    let nodes: Nodes;
    const warnings: string[] = [];
    const kubeEnv = () => ({ KUBECONFIG: (cp as ControlPlane).kubeconfig });

    beforeAll(async () => {
      out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-synth-pipelines-'));
      writeSynth([env], out, { imageLock: testImageLockFile() });
      const files = outputFiles(path.join(out, env.name));
      objects = files.flatMap((f) => parseAllDocuments(fs.readFileSync(f, 'utf8'), { version: '1.1' }).map((d) => d.toJSON() as KubeObject));
      const plane = (cp = await startControlPlane());
      await installCrds(plane);
      await plane.kubectl(['create', 'namespace', env.monitoring.prometheusNamespace]);
      for (const f of files) warnings.push(...(await applyFile(plane, f)));
      nodes = await createNodes(plane, env);
    }, 900_000);
    afterAll(async () => {
      const child = controller?.child;
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        // It drains its workers on SIGTERM for longer than a suite should wait.
        process.kill(-child.pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 5_000)));
        if ((await Promise.race([exited, grace])) === 'timeout') process.kill(-child.pid, 'SIGKILL');
        clearTimeout(timer);
        await exited;
      }
      await cp?.stop();
      if (out) fs.rmSync(out, { recursive: true, force: true });
    }, 60_000);

    test.each([
      ['workflowtemplates.argoproj.io', 'WorkflowTemplate', 'churn'],
      ['cronworkflows.argoproj.io', 'CronWorkflow', 'churn'],
      ['workflowtemplates.argoproj.io', 'WorkflowTemplate', 'churn-dist'],
    ])(
      '%s/%s is admitted and read back with the spec as rendered',
      async (resource, kind, name) => {
        const rendered = objects.find((o) => o.kind === kind && o.metadata.name === name)!;
        const live = JSON.parse((await (cp as ControlPlane).kubectl(['get', resource, name, '-n', ns, '-o', 'json'])).stdout) as KubeObject;
        expect(live.spec).toEqual(rendered.spec);
      },
      120_000,
    );

    test('no warnings on apply', () => {
      expect(warnings).toEqual([]);
    });

    test('mlops pipeline submit with an unknown parameter: a one-line error naming the declared ones, no Workflow', async () => {
      const r = runMlops(['pipeline', 'submit', 'churn', '-n', ns, '--param', 'rows=100', '--param', 'epochz=3'], { env: kubeEnv() });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^mlops: pipeline submit: pipeline "churn" has no parameter "epochz" \(declared: experiment, /),
      ]);
      expect(await list(cp as ControlPlane, 'workflows.argoproj.io', ns)).toEqual([]);
      const missing = runMlops(['pipeline', 'submit', 'nope', '-n', ns], { env: kubeEnv() });
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/no WorkflowTemplate "nope" in namespace ml-training/);
    });

    test('submit --watch: the controller runs prepare-data on a CPU node, then train on a gpu-training node; the watch ends with the final phase', async () => {
      const plane = cp as ControlPlane;
      controller = await startWorkflowController(plane);
      const watch = runMlopsAsync(['pipeline', 'submit', 'churn', '-n', ns, '--param', 'rows=2000', '--param', 'seed=7', '--watch', '--timeout', '500'], {
        env: kubeEnv(),
        timeoutMs: 540_000,
      });
      const wf = await eventually(
        'the submitted Workflow',
        async () => (await list(plane, 'workflows.argoproj.io', ns)).at(0),
        () => Promise.resolve('none yet'),
        60_000,
      );
      expect(wf.metadata.name).toMatch(/^churn-[a-z0-9]{5}$/);
      expect(wf.spec).toMatchObject({
        workflowTemplateRef: { name: 'churn' },
        arguments: {
          parameters: [
            { name: 'rows', value: '2000' },
            { name: 'seed', value: '7' },
          ],
        },
      });
      const gpu = nodes.gpu['gpu-training'];
      const inference = nodes.gpu['gpu-inference'];
      const prepare = await scheduledStepPod(plane, wf.metadata.name, 'prepare-data', controller);
      expect(nodes.cpu).toContain(prepare.spec.nodeName);
      await completeAsExecutor(plane, wf.metadata.name, prepare);
      const train = await scheduledStepPod(plane, wf.metadata.name, 'train', controller);
      expect(gpu).toContain(train.spec.nodeName);
      expect([...nodes.cpu, ...inference]).not.toContain(train.spec.nodeName);
      // The real train step's request on the pool, as rendered.
      const main = train.spec.containers.find((c) => c.name === 'main');
      expect(main?.resources?.limits?.['nvidia.com/gpu']).toBe('1');
      // `argo terminate`: the controller stops the run and fails it; the watch reports that and exits 1.
      await plane.kubectl(['patch', 'workflows.argoproj.io', wf.metadata.name, '-n', ns, '--type=merge', '-p', '{"spec":{"shutdown":"Terminate"}}']);
      const r = await watch;
      // The README's `mlops pipeline submit --watch` transcript comes from here (MLOPS_DOCS_TRANSCRIPT=<file>).
      if (process.env.MLOPS_DOCS_TRANSCRIPT) fs.writeFileSync(process.env.MLOPS_DOCS_TRANSCRIPT, r.stdout + r.stderr);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toBe(`workflow ${ns}/${wf.metadata.name} submitted from WorkflowTemplate churn`);
      expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^prepare-data +Running$/), expect.stringMatching(/^prepare-data +Succeeded$/)]));
      expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^train +(Pending|Running)/)]));
      expect(lines.at(-1)).toMatch(new RegExp(`^${wf.metadata.name}: Failed`));
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(`mlops: pipeline submit: workflow ${wf.metadata.name} ended Failed`);
    }, 600_000);

    test('the drift trigger: as ServiceAccount retrain-trigger, `mlops retrain --pipeline churn` submits the pipeline; its Role allows nothing more', async () => {
      const plane = cp as ControlPlane;
      const as = `--as=system:serviceaccount:${ns}:${RETRAIN_TRIGGER_SERVICE_ACCOUNT}`;
      const can = async (...args: string[]) => (await plane.kubectl(['auth', 'can-i', as, '-n', ns, ...args], { allowFailure: true })).stdout.trim();
      expect(await can('create', 'workflows.argoproj.io')).toBe('yes');
      expect(await can('get', 'workflowtemplates.argoproj.io/churn')).toBe('yes');
      for (const denied of [
        ['get', 'workflowtemplates.argoproj.io/other'],
        ['list', 'workflowtemplates.argoproj.io'],
        ['get', 'workflows.argoproj.io/x'],
        ['list', 'workflows.argoproj.io'],
        ['delete', 'workflows.argoproj.io/x'],
        ['create', 'pods'],
        ['get', 'secrets'],
      ])
        expect([denied, await can(...denied)]).toEqual([denied, 'no']);
      // The pod's view: the ServiceAccount's token (as the kubelet would mount it) in a kubeconfig of its own.
      const token = (await plane.kubectl(['create', 'token', RETRAIN_TRIGGER_SERVICE_ACCOUNT, '-n', ns])).stdout.trim();
      const admin = parse(fs.readFileSync(plane.kubeconfig, 'utf8')) as { clusters: Array<{ cluster: Record<string, string> }> };
      const kubeconfig = path.join(out, 'retrain-trigger.kubeconfig');
      fs.writeFileSync(
        kubeconfig,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'test', cluster: admin.clusters[0].cluster }],
          users: [{ name: 'retrain-trigger', user: { token } }],
          contexts: [{ name: 'test', context: { cluster: 'test', user: 'retrain-trigger', namespace: ns } }],
          'current-context': 'test',
        }),
        { mode: 0o600 },
      );
      // A real tracking server for the alias lookup; --force retrains without a drift reading, so its own /metrics
      // (real Prometheus text, no drift series) stands in for the inference server's.
      const tracking = await startTrackingServer({ port: 0, backendStoreUri: `sqlite:///${path.join(out, 'mlflow.db')}`, upgradeDb: true, logger: false });
      const before = new Set((await list(plane, 'workflows.argoproj.io', ns)).map((w) => w.metadata.name));
      try {
        const cron = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === 'retrain-churn') as KubeObject & { spec: any };
        const command = cron.spec.jobTemplate.spec.template.spec.containers[0].command as string[];
        expect(command.slice(-4)).toEqual(['--pipeline', 'churn', '--pipeline-namespace', ns]);
        const args = [...command.slice(1).map((a) => (a.startsWith('http://churn-predictor.') ? tracking.url : a)), '--force', '--tracking-uri', tracking.url];
        const r = await runMlopsAsync(args, { env: { KUBECONFIG: kubeconfig }, timeoutMs: 120_000 });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const created = (await list(plane, 'workflows.argoproj.io', ns)).filter((w) => !before.has(w.metadata.name));
        expect(created).toHaveLength(1);
        expect(r.stdout).toContain(`submitted pipeline churn: workflow ${ns}/${created[0].metadata.name}`);
        expect(r.stdout.trim().split('\n').at(-1)).toBe(`retrained: submitted workflow ${created[0].metadata.name}`);
        expect(created[0].spec).toEqual({
          workflowTemplateRef: { name: 'churn' },
          arguments: {
            parameters: [
              { name: 'experiment', value: 'churn' },
              { name: 'registered-model', value: 'churn-predictor' },
              { name: 'alias', value: 'champion' },
            ],
          },
        });
      } finally {
        await tracking.close();
      }
    }, 180_000);

    test('a distributed step: its Argo pod lands on a CPU node; the PyTorchJob it creates is admitted as the step ServiceAccount; its replicas land on gpu-training nodes only', async () => {
      const plane = cp as ControlPlane;
      controller ??= await startWorkflowController(plane);
      const r = await runMlopsAsync(['pipeline', 'submit', 'churn-dist', '-n', ns, '--param', 'rows=2000'], { env: kubeEnv(), timeoutMs: 60_000 });
      expect(r.status).toBe(0);
      const workflow = new RegExp(`^workflow ${ns}/(churn-dist-[a-z0-9]{5}) submitted`, 'm').exec(r.stdout)?.[1] ?? '';
      expect(workflow).not.toBe('');
      await completeAsExecutor(plane, workflow, await scheduledStepPod(plane, workflow, 'prepare-data', controller));
      // The resource template's pod: argoexec only (init writes the template, main creates and watches the job).
      const launcher = (await scheduledStepPod(plane, workflow, 'train', controller)) as unknown as { spec: Record<string, any> };
      expect(nodes.cpu).toContain(launcher.spec.nodeName);
      expect(launcher.spec.containers.map((c: { name: string }) => c.name)).toEqual(['main']);
      // Under v4's emissary wrapper (`/var/run/argo/argoexec emissary … --`), the resource executor's own command.
      const main = launcher.spec.containers[0] as { command: string[]; args?: string[] };
      expect([...main.command, ...(main.args ?? [])].join(' ')).toMatch(/ -- argoexec resource create( |$)/);
      // What argoexec would create: the manifest as the controller filled it in (parameters, owner), from its template.
      const template = launcher.spec.initContainers[0].env.find((e: { name: string }) => e.name === 'ARGO_TEMPLATE').value as string;
      const manifest = (JSON.parse(template) as { resource: { manifest: string } }).resource.manifest;
      expect(manifest).not.toContain('{{');
      const job = parse(manifest) as KubeObject & { spec: any };
      expect(job.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Workflow', name: workflow, controller: true })]);
      const container = job.spec.pytorchReplicaSpecs.Master.template.spec.containers[0];
      expect(container.args).toEqual(expect.arrayContaining(['--rows', '2000']));
      expect(container.env).toContainEqual({ name: 'MLOPS_PIPELINE_RUN', value: workflow });
      // Created as argoexec would: with the step pods' ServiceAccount, whose Role allows create and get, nothing more.
      const as = `--as=system:serviceaccount:${ns}:pipeline`;
      const created = JSON.parse((await plane.kubectl(['create', as, '-n', ns, '-f', '-', '-o', 'json'], { input: manifest })).stdout) as KubeObject & {
        spec: any;
      };
      expect(created.metadata.name).toMatch(/^churn-dist-train-[a-z0-9]{5}$/);
      // As rendered, plus the one default the CRD's schema fills in.
      expect(created.spec).toEqual({ ...job.spec, runPolicy: { ...job.spec.runPolicy, suspend: false } });
      const can = async (...args: string[]) => (await plane.kubectl(['auth', 'can-i', as, '-n', ns, ...args], { allowFailure: true })).stdout.trim();
      expect(await can('get', `pytorchjobs.kubeflow.org/${created.metadata.name}`)).toBe('yes');
      for (const denied of [
        ['list', 'pytorchjobs.kubeflow.org'],
        ['delete', 'pytorchjobs.kubeflow.org/x'],
        ['patch', 'pytorchjobs.kubeflow.org/x'],
        ['create', 'pods'],
      ])
        expect([denied, await can(...denied)]).toEqual([denied, 'no']);
      // No Training Operator runs here: the test creates the replica pods as it would (one per replica, its names, the
      // job's templates); Pod Security admission judges them and the scheduler places them.
      const replicas: string[] = [];
      for (const [type, spec] of Object.entries(created.spec.pytorchReplicaSpecs as Record<string, { replicas: number; template: any }>)) {
        for (let i = 0; i < spec.replicas; i++) {
          const name = `${created.metadata.name}-${type.toLowerCase()}-${i}`;
          const pod = {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name, namespace: ns, labels: spec.template.metadata.labels },
            spec: { ...spec.template.spec, restartPolicy: 'Never' },
          };
          await plane.kubectl(['create', '-f', '-'], { input: JSON.stringify(pod) });
          replicas.push(name);
        }
      }
      expect(replicas).toHaveLength(2);
      const placed = await eventually(
        'both replicas scheduled',
        async () => {
          const pods = (await list(plane, 'pods', ns)) as unknown as StepPod[];
          const bound = replicas.map((n) => pods.find((p) => p.metadata.name === n)?.spec.nodeName);
          return bound.every(Boolean) ? bound : undefined;
        },
        async () => (await plane.kubectl(['get', 'pods', '-n', ns, '-o', 'wide'], { allowFailure: true })).stdout,
        120_000,
      );
      for (const node of placed) expect(nodes.gpu['gpu-training']).toContain(node);
      await plane.kubectl(['patch', 'workflows.argoproj.io', workflow, '-n', ns, '--type=merge', '-p', '{"spec":{"shutdown":"Terminate"}}']);
    }, 600_000);
  },
);

interface StepPod {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { nodeName?: string; containers: Array<{ name: string; resources?: { limits?: Record<string, string> } }> };
  status?: { phase?: string };
}

/** The pod the controller created for a step, once the scheduler has bound it to a node. */
async function scheduledStepPod(cp: ControlPlane, workflow: string, step: string, controller: { child: ChildProcess; log: string }): Promise<StepPod> {
  const log = controller.log;
  return eventually(
    `a scheduled pod for step ${step}`,
    async () => {
      if (controller.child.exitCode !== null) throw new Error(`the workflow-controller exited (${controller.child.exitCode}):\n${await tail(log)()}`);
      const pods = (await list(cp, 'pods', ns)) as unknown as StepPod[];
      return pods.find(
        (p) =>
          p.metadata.annotations?.['workflows.argoproj.io/node-name']?.startsWith(`${workflow}.${step}`) && p.spec.nodeName && p.status?.phase === 'Running',
      );
    },
    async () => `${(await cp.kubectl(['get', 'pods,workflows', '-n', ns, '-o', 'wide'], { allowFailure: true })).stdout}\n${await tail(log)()}`,
    240_000,
  );
}

/**
 * What the executor's `wait` container and the kubelet would do when a step's main container exits 0: the
 * WorkflowTaskResult with the step's outputs (its artifact's key in the repository), marked complete, then
 * the pod's terminal status.
 */
async function completeAsExecutor(cp: ControlPlane, workflow: string, pod: StepPod): Promise<void> {
  const nodeId = pod.metadata.annotations?.['workflows.argoproj.io/node-id'] ?? '';
  const wf = JSON.parse((await cp.kubectl(['get', 'workflows.argoproj.io', workflow, '-n', ns, '-o', 'json'])).stdout) as KubeObject;
  const result = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'WorkflowTaskResult',
    metadata: {
      name: nodeId,
      namespace: ns,
      labels: { [WORKFLOW_LABEL]: workflow, 'workflows.argoproj.io/report-outputs-completed': 'true' },
      ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', name: workflow, uid: wf.metadata.uid }],
    },
    outputs: { artifacts: [{ name: 'dataset', s3: { key: `pipelines/${workflow}/${pod.metadata.name}/dataset.tgz` } }] },
  };
  await cp.kubectl(['create', '-f', '-'], { input: stringify(result) });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const terminated = (name: string) => ({
    name,
    ready: false,
    restartCount: 0,
    image: 'x',
    imageID: '',
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
  });
  const status = { status: { phase: 'Succeeded', containerStatuses: pod.spec.containers.map((c) => terminated(c.name)) } };
  await cp.kubectl(['patch', 'pod', pod.metadata.name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}
