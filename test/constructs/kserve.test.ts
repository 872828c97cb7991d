import { loadEnvironment, type EnvironmentConfig } from '../../environments';
import { prod } from '../../environments/prod';
import { KSERVE_RUNTIME, kservePodLabels } from '../../constructs/inference-kserve';
import { podTemplates, selectorMatches, type KubeObject } from '../../core/kube-objects';
import { checkManifests } from '../../policies';
import { unselectedPods } from '../../testing/properties';
import { synthesize } from '../../testing/synth';
import { env as pinned } from './workload-helpers';

/*
 * `inference.delivery: kserve`: what the platform renders instead of its own Deployments, synthesized
 * through synth's gates (every object against its schema — KServe's derived from the official SDK — and
 * every policy), and the policies catching KServe objects that break the platform's rules.
 */

const spec = (o: KubeObject): any => o.spec;
const prodModels = (prod.inference.models ?? []).map((m) => ({ ...m, autoscaling: { ...m.autoscaling, targetRequestsInFlight: undefined } }));
/** prod with KServe delivery (its requests-in-flight target dropped: KServe's HPA class scales on CPU/memory only). */
function kserveEnv(): EnvironmentConfig {
  return pinned('prod', { inference: { ...prod.inference, delivery: 'kserve', models: prodModels } });
}

const of = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: KubeObject[], kind: string, name: string): KubeObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not synthesized`);
  return found;
};

describe('inference.delivery', () => {
  it('defaults to the platform’s own Deployments: no KServe object', () => {
    const e = pinned('prod');
    expect(e.inference.delivery).toBe('deployments');
    const { objects } = synthesize(e);
    expect(objects.filter((o) => o.apiVersion.startsWith('serving.kserve.io/'))).toEqual([]);
    expect(of(objects, 'Deployment').map((d) => d.metadata.name)).toEqual(expect.arrayContaining(['churn-predictor', 'churn-predictor-canary']));
  });

  it('refuses a requests-in-flight target and too long a model name with kserve, naming the field', () => {
    expect(() => loadEnvironment('prod', { inference: { ...prod.inference, delivery: 'kserve' } })).toThrow(
      /inference\.models\[0\]\.autoscaling\.targetRequestsInFlight: is not supported with inference\.delivery "kserve"/,
    );
    const long = { ...prodModels[1], name: 'm'.repeat(47) };
    expect(() => loadEnvironment('prod', { inference: { ...prod.inference, delivery: 'kserve', models: [long] } })).toThrow(
      /inference\.models\[0\]\.name: must be at most 46 characters/,
    );
  });
});

describe('KServe delivery (prod, a canary and a GPU model), through synth’s gates', () => {
  const e = kserveEnv();
  const { objects } = synthesize(e);
  const ns = e.namespaces.serving;
  const isvcs = of(objects, 'InferenceService');
  const stable = named(objects, 'InferenceService', 'churn-predictor');
  const gpu = named(objects, 'InferenceService', 'churn-predictor-gpu');

  it('one ServingRuntime and an InferenceService per model, instead of the models’ Deployments, Services, HPAs and PDBs', () => {
    expect(of(objects, 'ServingRuntime').map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual([`${ns}/${KSERVE_RUNTIME}`]);
    expect(isvcs.map((o) => o.metadata.name)).toEqual(['churn-predictor', 'churn-predictor-gpu']);
    for (const kind of ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'])
      expect(of(objects, kind).filter((o) => o.metadata.namespace === ns)).toEqual([]);
  });

  it('RawDeployment mode with the HPA autoscaler, cluster-local (the platform’s Ingress is the one way in)', () => {
    for (const isvc of isvcs) {
      expect(isvc.apiVersion).toBe('serving.kserve.io/v1beta1');
      expect(isvc.metadata.annotations).toMatchObject({ 'serving.kserve.io/deploymentMode': 'RawDeployment', 'serving.kserve.io/autoscalerClass': 'hpa' });
      expect(isvc.metadata.labels).toMatchObject({ 'networking.kserve.io/visibility': 'cluster-local', 'app.kubernetes.io/component': 'inference' });
    }
  });

  it('the predictor asks the runtime for the ONNX model over v2, serving the stable alias with the model’s batching', () => {
    const model = spec(stable).predictor.model;
    expect(model).toMatchObject({ modelFormat: { name: 'onnx' }, runtime: KSERVE_RUNTIME, protocolVersion: 'v2' });
    expect(model.args.slice(0, 4)).toEqual(['-m', 'models:/churn-predictor@champion', '--name', 'churn-predictor']);
    expect(model.args).toEqual(expect.arrayContaining(['--workers', '1', '--max-batch-size', '1024', '--max-batch-bytes', '16777216']));
    const runtime = spec(named(objects, 'ServingRuntime', KSERVE_RUNTIME));
    expect(runtime.supportedModelFormats).toEqual([{ name: 'onnx', autoSelect: false }]);
    expect(runtime.protocolVersions).toEqual(['v2', 'grpc-v2']);
    const c = runtime.containers[0];
    expect(c.name).toBe('kserve-container');
    expect(c.image).toBe(e.inference.image);
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'grpc', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(c.livenessProbe.grpc).toEqual({ port: 8081 });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
  });

  it('canary: spec.canary carries the environment’s weight as trafficPercent, the canary alias and its replicas', () => {
    const m = e.inference.models[0];
    expect(spec(stable).canary).toHaveLength(1);
    const [canary] = spec(stable).canary;
    expect(canary.trafficPercent).toBe(m.canary?.weight);
    expect(canary.predictor.name).toBe('canary');
    expect(canary.predictor.minReplicas).toBe(m.canary?.replicas);
    expect(canary.predictor.model.args.slice(0, 2)).toEqual(['-m', 'models:/churn-predictor@challenger']);
    // KServe refuses autoscaling fields on a canary, and the deprecated knob would be ignored in RawDeployment.
    expect(canary.predictor.maxReplicas).toBeUndefined();
    expect(canary.predictor.autoScaling).toBeUndefined();
    expect(spec(stable).predictor.canaryTrafficPercent).toBeUndefined();
    expect(spec(gpu).canary).toBeUndefined();
  });

  it('scaling: min/max replicas and a CPU utilization target from the environment, scale-down slowed', () => {
    for (const [isvc, m] of [
      [stable, e.inference.models[0]],
      [gpu, e.inference.models[1]],
    ] as const) {
      const p = spec(isvc).predictor;
      expect([p.minReplicas, p.maxReplicas]).toEqual([m.autoscaling.minReplicas, m.autoscaling.maxReplicas]);
      expect(p.autoScaling.metrics).toEqual([
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: m.autoscaling.targetCPUUtilization } } },
      ]);
      expect(p.autoScaling.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
      expect(p.deploymentStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    }
  });

  it('restricted pods: uid 10001, non-root, RuntimeDefault seccomp, no token, read-only root and no capabilities on every container spec', () => {
    const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } };
    for (const p of [spec(stable).predictor, spec(stable).canary[0].predictor, spec(gpu).predictor]) {
      expect(p.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
      expect(p.serviceAccountName).toBe('inference');
      expect(p.automountServiceAccountToken).toBe(false);
      expect(p.model.securityContext).toMatchObject(restricted);
    }
    expect(spec(named(objects, 'ServingRuntime', KSERVE_RUNTIME)).containers[0].securityContext).toMatchObject(restricted);
  });

  it('resources and GPU placement from the environment on the model', () => {
    const m = e.inference.models[1];
    const p = spec(gpu).predictor;
    expect(p.model.resources.requests).toMatchObject({ cpu: m.resources.requests.cpu, memory: m.resources.requests.memory });
    expect(p.model.resources.limits).toMatchObject({ memory: m.resources.limits.memory, 'nvidia.com/gpu': '1' });
    expect(p.nodeSelector).toEqual({ 'mlops.example.com/pool': 'gpu-inference' });
    expect(spec(stable).predictor.model.resources.limits['nvidia.com/gpu']).toBeUndefined();
  });

  it('the NetworkPolicies select KServe’s predictor pods (by the labels KServe gives them) and let them reach tracking', () => {
    const pods = podTemplates(objects).filter(({ obj }) => obj.kind === 'InferenceService');
    expect(pods.map(({ tpl }) => tpl.labels.app)).toEqual([
      'isvc.churn-predictor-predictor',
      'isvc.churn-predictor-canary-predictor',
      'isvc.churn-predictor-gpu-predictor',
    ]);
    const inference = named(objects, 'NetworkPolicy', 'inference');
    expect(spec(inference).podSelector.matchLabels).toEqual({ 'app.kubernetes.io/component': 'inference', component: 'predictor' });
    for (const { tpl } of pods) expect(selectorMatches(spec(inference).podSelector, tpl.labels)).toBe(true);
    const labels = kservePodLabels(stable.metadata.labels ?? {}, e.inference.models[0], 'canary');
    expect(labels).toMatchObject({ 'serving.kserve.io/inferenceservice': 'churn-predictor', component: 'predictor' });
    const fromServing = spec(named(objects, 'NetworkPolicy', 'tracking')).ingress[0].from.filter(
      (p: any) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === ns,
    );
    expect(fromServing.map((p: any) => p.podSelector)).toEqual([{ matchLabels: { 'app.kubernetes.io/component': 'inference', component: 'predictor' } }]);
  });

  it('retraining reads drift from KServe’s stable predictor Service, and its policy admits it to those pods', () => {
    const retrain = named(objects, 'CronJob', 'retrain-churn');
    const command: string[] = spec(retrain).jobTemplate.spec.template.spec.containers[0].command;
    expect(command[command.indexOf('--inference-url') + 1]).toBe(`http://churn-predictor-predictor.${ns}.svc:80`);
    const policy = named(objects, 'NetworkPolicy', 'churn-predictor-from-retrain-churn');
    const stablePods = podTemplates(objects).find(({ tpl }) => tpl.labels.app === 'isvc.churn-predictor-predictor');
    expect(stablePods && selectorMatches(spec(policy).podSelector, stablePods.tpl.labels)).toBe(true);
  });

  it('the serving Ingresses route to KServe’s predictor Services on port 80, the canary share to the canary’s', () => {
    const backends = (name: string) =>
      spec(named(objects, 'Ingress', name)).rules.flatMap((r: any) => r.http.paths.map((p: any) => p.backend.service as { name: string; port: unknown }));
    expect(backends('inference')).toEqual([
      { name: 'churn-predictor-predictor', port: { number: 80 } },
      { name: 'churn-predictor-gpu-predictor', port: { number: 80 } },
    ]);
    expect(backends('churn-predictor-canary')).toEqual([{ name: 'churn-predictor-canary-predictor', port: { number: 80 } }]);
  });
});

describe('policies on KServe objects', () => {
  const e = kserveEnv();
  const { objects } = synthesize(e);
  const errorsOf = (objs: KubeObject[]) =>
    checkManifests(objs, { mode: 'gitops', environment: e })
      .filter((v) => v.severity === 'error' && !v.exception)
      .map((v) => `${v.ruleId} ${v.object} ${v.field ?? ''}`);
  /** The synthesized set with one object changed. */
  function withChange(kind: string, name: string, change: (o: any) => void): KubeObject[] {
    return objects.map((o) => {
      if (o.kind !== kind || o.metadata.name !== name) return o;
      const copy = structuredClone(o) as any;
      change(copy);
      return copy as KubeObject;
    });
  }

  it('the synthesized KServe objects pass every rule', () => {
    expect(errorsOf(objects)).toEqual([]);
  });

  it.each([
    ['no-privileged', 'InferenceService', 'churn-predictor', (o: any) => (o.spec.predictor.model.securityContext.privileged = true), 'spec.predictor.model'],
    [
      'run-as-non-root',
      'InferenceService',
      'churn-predictor',
      (o: any) => (o.spec.canary[0].predictor.securityContext.runAsUser = 0),
      'spec.canary[0].predictor',
    ],
    [
      'read-only-root-filesystem',
      'ServingRuntime',
      KSERVE_RUNTIME,
      (o: any) => delete o.spec.containers[0].securityContext.readOnlyRootFilesystem,
      'spec.containers[0]',
    ],
    [
      'image-tag-pinned',
      'ServingRuntime',
      KSERVE_RUNTIME,
      (o: any) => (o.spec.containers[0].image = 'example.com/mlops/inference:latest'),
      'spec.containers[0].image',
    ],
    ['image-tag-pinned', 'InferenceService', 'churn-predictor', (o: any) => (o.spec.predictor.model.image = 'example.com/other'), 'spec.predictor.model.image'],
    [
      'no-literal-secret-env',
      'ServingRuntime',
      KSERVE_RUNTIME,
      (o: any) => o.spec.containers[0].env.push({ name: 'MLFLOW_TRACKING_PASSWORD', value: 'hunter2' }),
      'spec.containers[0].env',
    ],
    [
      'resource-requests',
      'InferenceService',
      'churn-predictor-gpu',
      (o: any) => delete o.spec.predictor.model.resources.requests.cpu,
      'spec.predictor.model.resources',
    ],
    ['memory-limit', 'ServingRuntime', KSERVE_RUNTIME, (o: any) => delete o.spec.containers[0].resources.limits.memory, 'spec.containers[0].resources'],
    [
      'no-default-service-account',
      'InferenceService',
      'churn-predictor',
      (o: any) => delete o.spec.predictor.serviceAccountName,
      'spec.predictor.serviceAccountName',
    ],
    [
      'no-host-path',
      'ServingRuntime',
      KSERVE_RUNTIME,
      (o: any) => o.spec.volumes.push({ name: 'sock', hostPath: { path: '/run/containerd/containerd.sock' } }),
      'spec.volumes',
    ],
    ['serving-probes', 'ServingRuntime', KSERVE_RUNTIME, (o: any) => delete o.spec.containers[0].readinessProbe, 'spec.containers[0].readinessProbe'],
  ])('%s catches a bad %s (%s)', (rule, kind, name, change, field) => {
    const errors = errorsOf(withChange(kind, name, change));
    expect(errors.filter((x) => x.startsWith(`${rule} ${kind}/${e.namespaces.serving}/${name} ${field}`))).toHaveLength(1);
  });

  it('predictor pods only the namespace default deny selects are caught, and so is a policy selecting no predictor pod', () => {
    const ofIsvcs = (objs: KubeObject[]) => unselectedPods(objs).filter((p) => p.startsWith('InferenceService/'));
    expect(ofIsvcs(objects)).toEqual([]);
    const withoutPolicy = objects.filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'inference'));
    // churn-predictor's pods stay selected by the retraining flow's policy (retrain pods → its /metrics).
    expect(ofIsvcs(withoutPolicy)).toEqual(['InferenceService/ml-serving/churn-predictor-gpu: only a namespace-wide NetworkPolicy selects its pods']);
    const wrong = withChange('NetworkPolicy', 'inference', (o) => (o.spec.podSelector.matchLabels.component = 'transformer'));
    expect(errorsOf(wrong)).toContain('networkpolicy-selects-pods NetworkPolicy/ml-serving/inference spec.podSelector');
  });
});
