import { App } from 'cdk8s';
import { defineEnvironment, extendEnvironment, builtInEnvironments, EnvironmentValidationError } from '../../api/environments';
import { k8s, MlopsPlatform, podGroup, standardLabels, TrainingCronJob, type ExtensionContext } from '../../api/constructs';
import { renderEnvironment, synthPlatform, type PlatformExtension } from '../../api/synth';
import { PolicyViolationError, type KubeRule } from '../../api/policies';
import { platformProperties, synthesize, unselectedPods } from '../../api/testing';
import { testImageLockFile } from '../helpers/image-lock';

/*
 * The extension points a team uses from its own repository, through the package's entries (api/): its own
 * construct with the built-in parts' facts, per-part props from the environment, extra policy rules and
 * exceptions, extra models and a pipeline (a retraining CronJob) — all without touching the blueprint.
 */

const dev = () => defineEnvironment(builtInEnvironments.dev);
const lock = { imageLock: testImageLockFile() };

/** A team Ingress publishing the tracking server under the team's own host, built from the facts. */
function teamIngress(host: string): PlatformExtension {
  return {
    part: 'team-ingress',
    construct: ({ chart, env, facts }: ExtensionContext) => {
      const tracking = new URL(facts.endpoints.tracking);
      new k8s.KubeIngress(chart, 'ingress', {
        metadata: {
          name: 'team-tracking',
          namespace: env.namespaces.platform,
          labels: standardLabels(env, 'team-tracking', 'ingress'),
          annotations: {
            'team.example.com/upstream-host': tracking.host,
            'nginx.ingress.kubernetes.io/auth-type': 'basic',
            'nginx.ingress.kubernetes.io/auth-secret': 'ingress-basic-auth',
          },
        },
        spec: {
          ingressClassName: env.ingress.className,
          rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'tracking', port: { number: 5000 } } } }] } }],
        },
      });
    },
  };
}

describe('a team construct through the extension hook', () => {
  test('gets its own part after the built-in ones, sees the facts, and passes every gate', () => {
    const seen: ExtensionContext[] = [];
    const ext = teamIngress('mlflow.team.127.0.0.1.nip.io');
    const spy: PlatformExtension = {
      ...ext,
      construct: (c) => {
        seen.push(c);
        ext.construct!(c);
      },
    };
    const { files, violations } = renderEnvironment(dev(), { ...lock, extensions: [spy] });
    expect(files.map((f) => f.name).at(-1)).toBe(`${String(files.length - 1).padStart(2, '0')}-team-ingress.k8s.yaml`);
    const [ing] = files.at(-1)!.objects;
    expect(ing).toMatchObject({
      kind: 'Ingress',
      metadata: { name: 'team-tracking', namespace: 'mlops-platform', annotations: { 'team.example.com/upstream-host': 'mlflow.127.0.0.1.nip.io' } },
    });
    expect(seen[0].facts.pods.map((p) => p.labels['app.kubernetes.io/name'])).toEqual(expect.arrayContaining(['tracking', 'postgres', 'minio']));
    expect(seen[0].env.name).toBe('dev');
    expect(violations.filter((v) => v.severity === 'error' && !v.exception)).toEqual([]);
  });

  test('refuses a part named like a built-in one, or given twice', () => {
    expect(() => synthPlatform(dev(), { extensions: [{ part: 'tracking' }] })).toThrow(/extension part "tracking" is a built-in part/);
    expect(() => synthPlatform(dev(), { extensions: [{ part: 'x' }, { part: 'x' }] })).toThrow(/given twice/);
    expect(() => synthPlatform(dev(), { extensions: [{ part: 'Team_Ingress' }] })).toThrow(/DNS-1123 label/);
  });

  test('a pipeline of the team (a retraining CronJob) reports its pods, and the platform opens its flows to the tracking server', () => {
    const env = extendEnvironment('dev', {});
    const pipeline: PlatformExtension = {
      part: 'team-pipelines',
      construct: ({ chart, ctx, addPods }) => {
        const job = new TrainingCronJob(chart, 'nightly', {
          ctx,
          name: 'team-nightly-retrain',
          schedule: '0 3 * * *',
          command: ['mlops', 'train', '--experiment', 'team-churn'],
        });
        addPods(job.pods);
      },
    };
    const app = new App();
    const platform = new MlopsPlatform(app, 'dev', { env: defineEnvironment(env), extensions: [pipeline] });
    expect(platform.pods).toContainEqual(
      expect.objectContaining({ namespace: 'ml-training', labels: expect.objectContaining({ 'app.kubernetes.io/name': 'team-nightly-retrain' }) }),
    );
    const out = synthesize(defineEnvironment(env), { ...lock, extensions: [pipeline] });
    expect(out.objects.filter((o) => o.kind === 'CronJob').map((o) => o.metadata.name)).toContain('team-nightly-retrain');
    expect(platformProperties(out.objects, out.env)).toEqual({
      networkPolicies: [],
      services: [],
      hpaTargets: [],
      secretData: [],
      podSecurity: [],
      policies: [],
    });
  });

  test('pods an extension runs without a NetworkPolicy of their own are caught by the property check', () => {
    const bare: PlatformExtension = {
      part: 'team-cache',
      construct: ({ chart, env, addPods }) => {
        const labels = standardLabels(env, 'team-cache', 'cache');
        new k8s.KubeDeployment(chart, 'cache', {
          metadata: { name: 'team-cache', namespace: env.namespaces.platform, labels },
          spec: {
            selector: { matchLabels: { 'app.kubernetes.io/name': 'team-cache' } },
            template: { metadata: { labels }, spec: { containers: [{ name: 'cache', image: 'docker.io/library/redis:7.4.1' }] } },
          },
        });
        addPods(podGroup(env.namespaces.platform, labels));
      },
    };
    const out = synthesize(dev(), { gates: false, extensions: [bare] });
    expect(unselectedPods(out.objects)).toEqual(['Deployment/mlops-platform/team-cache: only a namespace-wide NetworkPolicy selects its pods']);
    expect(out.facts.pods.map((p) => p.labels['app.kubernetes.io/name'])).toContain('team-cache');
  });
});

describe('per-part props through the environment', () => {
  test('namespaces, inference and minio take the overrides; left-out props keep their defaults', () => {
    const env = defineEnvironment(
      extendEnvironment('dev', { parts: { namespaces: { cpuRequestsQuota: '32' }, inference: { modelCacheSize: '4Gi' }, minio: { jobTtlSeconds: 600 } } }),
    );
    const objects = synthPlatform(env).files.flatMap((f) => f.objects) as unknown as Array<{
      kind: string;
      metadata: { name: string; namespace?: string };
      spec: any;
    }>;
    const quota = objects.find((o) => o.kind === 'ResourceQuota' && o.metadata.namespace === 'ml-serving')!;
    expect(quota.spec.hard).toEqual({ 'requests.cpu': '32', 'requests.memory': '64Gi' });
    const model = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'churn-predictor')!;
    expect(model.spec.template.spec.volumes.find((v: any) => v.emptyDir && v.name.includes('cache')).emptyDir.sizeLimit).toBe('4Gi');
    expect(objects.find((o) => o.kind === 'Job' && o.metadata.name === 'minio-bucket')!.spec.ttlSecondsAfterFinished).toBe(600);
    const plain = synthPlatform(dev()).files.flatMap((f) => f.objects) as unknown as typeof objects;
    expect(plain.find((o) => o.kind === 'Job' && o.metadata.name === 'minio-bucket')!.spec.ttlSecondsAfterFinished).toBe(86400);
  });

  test('an unknown part or prop, or a bad value, is refused with its field path', () => {
    const bad = (parts: unknown) => () => defineEnvironment({ ...builtInEnvironments.dev, parts } as never);
    expect(bad({ tracking: {} })).toThrow(EnvironmentValidationError);
    expect(bad({ tracking: {} })).toThrow(/parts: unknown field "tracking"/);
    expect(bad({ namespaces: { cpuQuota: '1' } })).toThrow(/parts\.namespaces: unknown field "cpuQuota"/);
    expect(bad({ inference: { modelCacheSize: 'big' } })).toThrow(/parts\.inference\.modelCacheSize: must be a Kubernetes quantity/);
  });
});

describe('extra policy rules and exceptions', () => {
  /** A team rule: every Ingress names its owner. */
  const ownerRule: KubeRule = {
    id: 'team-ingress-owner',
    severity: 'error',
    description: 'Ingresses carry a team.example.com/owner annotation',
    remediation: 'Annotate the Ingress with team.example.com/owner: <team>.',
    check: (obj) =>
      obj.kind === 'Ingress' && !obj.metadata.annotations?.['team.example.com/owner']
        ? [{ field: 'metadata.annotations', message: `Ingress "${obj.metadata.name}" names no owner` }]
        : [],
  };

  test('a team rule fails synth on the objects it finds, built-in ones included', () => {
    const ext: PlatformExtension = { ...teamIngress('mlflow.team.127.0.0.1.nip.io'), rules: [ownerRule] };
    let err: unknown;
    try {
      renderEnvironment(dev(), { ...lock, extensions: [ext] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyViolationError);
    const refs = (err as PolicyViolationError).violations.filter((v) => v.ruleId === 'team-ingress-owner' && !v.exception).map((v) => v.object);
    expect(refs).toEqual(expect.arrayContaining(['Ingress/mlops-platform/team-tracking', 'Ingress/mlops-platform/tracking']));
  });

  test('reasoned exceptions waive it per object; the excepted violations stay in the report', () => {
    const objectsOf = renderEnvironment(dev(), { ...lock, extensions: [teamIngress('mlflow.team.127.0.0.1.nip.io')] }).files.flatMap((f) => f.objects);
    const ingresses = objectsOf.filter((o) => o.kind === 'Ingress').map((o) => `Ingress/${o.metadata.namespace}/${o.metadata.name}`);
    const ext: PlatformExtension = {
      ...teamIngress('mlflow.team.127.0.0.1.nip.io'),
      rules: [ownerRule],
      exceptions: ingresses.map((object) => ({ rule: 'team-ingress-owner', object, reason: 'owned by the platform team until the owner annotation lands' })),
    };
    const { violations } = renderEnvironment(dev(), { ...lock, extensions: [ext] });
    expect(violations.filter((v) => v.ruleId === 'team-ingress-owner').map((v) => [v.object, v.exception?.reason])).toEqual(
      ingresses.map((o) => [o, 'owned by the platform team until the owner annotation lands']),
    );
  });

  test('a rule id that clashes with a built-in rule is refused', () => {
    expect(() => renderEnvironment(dev(), { ...lock, extensions: [{ part: 'p', rules: [{ ...ownerRule, id: 'no-privileged' }] }] })).toThrow(
      /policy rule "no-privileged" is defined twice/,
    );
  });
});

describe('extra models', () => {
  test('a model added to a built-in environment gets its Deployment, Service and endpoint', () => {
    const base = builtInEnvironments.dev;
    const extra = { name: 'team-fraud', registeredModel: 'fraud-detector', autoscaling: { minReplicas: 1, maxReplicas: 3 } };
    const env = defineEnvironment(extendEnvironment('dev', { inference: { models: [...(base.inference.models ?? []), extra] } }));
    const out = synthesize(env, lock);
    expect(
      out.objects
        .filter((o) => o.metadata.name === 'team-fraud')
        .map((o) => o.kind)
        .sort(),
    ).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);
    expect(out.facts.endpoints.inference['team-fraud']).toBe('http://models.127.0.0.1.nip.io/team-fraud');
    expect(platformProperties(out.objects, out.env)).toEqual({
      networkPolicies: [],
      services: [],
      hpaTargets: [],
      secretData: [],
      podSecurity: [],
      policies: [],
    });
  });
});
