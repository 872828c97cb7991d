import { ENVIRONMENT_NAMES } from '../../environments';
import { TrainingCronJob, Training, TrainingJob, trainCommand } from '../../constructs/training';
import { Inference } from '../../constructs/inference';
import { mapSelectorMatches, selectorMatches } from '../../policies/kube/workloads';
import { serviceAccount } from '../../constructs/common';
import { CLEAN, context, env, named, ofKind, podLabels, podSpec, policyErrors, schemaProblems, synth } from './workload-helpers';

describe('TrainingJob', () => {
  const staging = env('staging');
  const objects = synth(staging, (s) => {
    serviceAccount(s, staging, 'training', staging.namespaces.training, 'training');
    new TrainingJob(s, 'train', { ctx: context(staging), name: 'train-churn-1', command: trainCommand(), envFromSecrets: ['feature-store'] });
  });
  const job = named(objects, 'Job', 'train-churn-1');
  const spec = podSpec(job);
  const c = spec.containers[0];

  it('runs `mlops train` for the churn model with the tracking URI and login injected', () => {
    expect(c.command).toEqual(['mlops', 'train', '--experiment', 'churn', '--register', 'churn-predictor']);
    expect(c.image).toBe(staging.training.image);
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'MLFLOW_TRACKING_URI', value: 'http://tracking.mlops-platform.svc:5000' },
        { name: 'MLFLOW_TRACKING_USERNAME', valueFrom: { secretKeyRef: { name: 'tracking-client', key: 'username' } } },
        { name: 'MLFLOW_TRACKING_PASSWORD', valueFrom: { secretKeyRef: { name: 'tracking-client', key: 'password' } } },
      ]),
    );
    expect(c.envFrom).toEqual([{ secretRef: { name: 'feature-store' } }]);
  });

  it('sets retries, TTL and a deadline, and does not count disruptions as failures', () => {
    expect(job.spec).toMatchObject({ backoffLimit: 2, ttlSecondsAfterFinished: 86400, activeDeadlineSeconds: 14400 });
    expect((job.spec as { podFailurePolicy: unknown }).podFailurePolicy).toEqual({
      rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
    });
    expect(spec.restartPolicy).toBe('Never');
  });

  it('lands on the GPU pool the environment assigns: nvidia.com/gpu limit, taint toleration, pool node selector', () => {
    expect(c.resources.limits['nvidia.com/gpu']).toBe('1');
    expect(spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(spec.nodeSelector).toEqual({ 'mlops.example.com/pool': 'gpu-training' });
  });

  it('is labelled as training (NetworkPolicies select it) and runs restricted with scratch on an emptyDir', () => {
    expect(podLabels(job)['app.kubernetes.io/component']).toBe('training');
    expect(spec.serviceAccountName).toBe('training');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(spec.volumes[0].emptyDir.sizeLimit).toBe('2Gi');
    // The scratch emptyDir counts against ephemeral storage: the limit leaves room for it and the logs.
    expect(c.resources.limits['ephemeral-storage']).toBe('2560Mi');
  });

  it('passes the policies and the schemas', () => {
    expect(policyErrors(objects, staging)).toBe(CLEAN);
    expect(schemaProblems(objects)).toEqual([]);
  });

  it('without a GPU pool: no GPU limit, no toleration, no node selector; several GPUs when asked', () => {
    const dev = env('dev');
    const s = podSpec(
      named(
        synth(dev, (sc) => new TrainingJob(sc, 't', { ctx: context(dev), name: 'train', command: trainCommand() })),
        'Job',
        'train',
      ),
    );
    expect(s.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(s.tolerations).toBeUndefined();
    expect(s.nodeSelector).toBeUndefined();
    const four = env('staging', { training: { image: staging.training.image, gpuPool: 'gpu-training', gpus: 4 } });
    const s4 = podSpec(
      named(
        synth(four, (sc) => new TrainingJob(sc, 't', { ctx: context(four), name: 'train', command: trainCommand() })),
        'Job',
        'train',
      ),
    );
    expect(s4.containers[0].resources.limits['nvidia.com/gpu']).toBe('4');
  });

  it('leaves the login out when the tracking server runs without auth', () => {
    const dev = env('dev');
    const s = podSpec(
      named(
        synth(dev, (sc) => new TrainingJob(sc, 't', { ctx: context(dev), name: 'train', command: trainCommand(), trackingCredentialsSecret: null })),
        'Job',
        'train',
      ),
    );
    expect(s.containers[0].env.map((e: { name: string }) => e.name)).not.toContain('MLFLOW_TRACKING_PASSWORD');
  });

  it('rejects names that are not DNS labels, and CronJob names too long for their Jobs', () => {
    const dev = env('dev');
    expect(() => synth(dev, (s) => new TrainingJob(s, 't', { ctx: context(dev), name: 'Train_Churn', command: trainCommand() }))).toThrow(
      /must be a DNS label/,
    );
    expect(() =>
      synth(dev, (s) => new TrainingCronJob(s, 't', { ctx: context(dev), name: 'r'.repeat(53), schedule: '0 3 * * *', command: trainCommand() })),
    ).toThrow(/at most 52/);
    expect(() => synth(dev, (s) => new TrainingCronJob(s, 't', { ctx: context(dev), name: 'retrain', schedule: 'daily', command: trainCommand() }))).toThrow(
      /five-field cron/,
    );
  });
});

describe('Training (the platform part)', () => {
  it('staging: the retraining CronJob on the environment schedule, never overlapping, drift-gated', () => {
    const staging = env('staging');
    const objects = synth(staging, (s) => {
      new Training(s, 'training', { ctx: context(staging) });
      new Inference(s, 'inference', { ctx: context(staging) });
    });
    const cron = named(objects, 'CronJob', 'retrain-churn');
    expect(cron.spec).toMatchObject({ schedule: '0 3 * * 1', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 3600 });
    expect(podSpec(cron).containers[0].command).toEqual([
      'mlops',
      'retrain',
      '--experiment',
      'churn',
      '--register',
      'churn-predictor',
      '--alias',
      'champion',
      '--inference-url',
      'http://churn-predictor.ml-serving.svc:8080',
      '--drift-threshold',
      '0.2',
    ]);
    expect(podSpec(cron).containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
    expect(podLabels(cron)['app.kubernetes.io/component']).toBe('training');
    expect(ofKind(objects, 'Job')).toEqual([]);
  });

  it('lets exactly the retrain pods reach the drift source’s pods on 8080 (egress in training, ingress in serving)', () => {
    const prod = env('prod');
    const objects = synth(prod, (s) => {
      new Training(s, 'training', { ctx: context(prod) });
      new Inference(s, 'inference', { ctx: context(prod) });
    });
    // prod serves churn-predictor on CPU and on GPU: drift is read from the CPU model.
    expect(podSpec(named(objects, 'CronJob', 'retrain-churn')).containers[0].command).toContain('http://churn-predictor.ml-serving.svc:8080');
    const egress = named(objects, 'NetworkPolicy', 'retrain-churn-to-churn-predictor');
    const ingress = named(objects, 'NetworkPolicy', 'churn-predictor-from-retrain-churn');
    const retrainPods = podLabels(named(objects, 'CronJob', 'retrain-churn'));

    const es = egress.spec as any,
      is = ingress.spec as any;
    expect(selectorMatches(es.podSelector, retrainPods)).toBe(true);
    expect(es.egress[0].ports).toEqual([{ protocol: 'TCP', port: 8080 }]);
    const selected = ofKind(objects, 'Deployment').filter((d) => selectorMatches(is.podSelector, podLabels(d)));
    expect(selected.map((d) => d.metadata.name)).toEqual(['churn-predictor']);
    expect(mapSelectorMatches(is.ingress[0].from[0].podSelector.matchLabels, retrainPods)).toBe(true);
  });

  it('a retrain schedule without a model serving the registered model is an error', () => {
    const staging = env('staging');
    const none = env('staging', { inference: { image: staging.inference.image, models: [] } });
    expect(() => synth(none, (s) => new Training(s, 'training', { ctx: context(none) }))).toThrow(
      /retrainSchedule needs an inference model serving "churn-predictor"/,
    );
  });

  it('dev: no schedule, so the ServiceAccount and the suspended on-demand template only; a one-off Job only when named', () => {
    const dev = env('dev');
    const objects = synth(dev, (s) => new Training(s, 'training', { ctx: context(dev) }), { namespaces: false });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ServiceAccount/training', 'CronJob/train-churn']);
    const template = named(objects, 'CronJob', 'train-churn');
    expect(template.spec).toMatchObject({ suspend: true, concurrencyPolicy: 'Forbid' });
    expect(podSpec(template).containers[0].command).toEqual(['mlops', 'train', '--experiment', 'churn', '--register', 'churn-predictor']);
    const withJob = synth(dev, (s) => new Training(s, 'training', { ctx: context(dev), initialJobName: 'train-churn' }), { namespaces: false });
    expect(named(withJob, 'Job', 'train-churn').metadata.namespace).toBe('ml-training');
  });

  it('the ServiceAccount mounts no token and carries the IRSA role when the cloud stack gives one', () => {
    const prod = env('prod');
    const arn = 'arn:aws:iam::123456789012:role/mlops-prod-training';
    const objects = synth(prod, (s) => new Training(s, 'training', { ctx: context(prod, { trainingRoleArn: arn }) }), { namespaces: false });
    const sa = named(objects, 'ServiceAccount', 'training');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(sa.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': arn });
  });

  it.each(ENVIRONMENT_NAMES)('%s: passes the policies and the schemas', (name) => {
    const e = env(name);
    const objects = synth(e, (s) => {
      new Training(s, 'training', { ctx: context(e), initialJobName: 'train-churn' });
      new Inference(s, 'inference', { ctx: context(e) });
    });
    expect(policyErrors(objects, e)).toBe(CLEAN);
    expect(schemaProblems(objects)).toEqual([]);
  });
});
