import { buildProgram } from '../../cli/main';
import { ENVIRONMENT_NAMES } from '../../environments';
import { mapSelectorMatches } from '../../policies/kube/workloads';
import { Inference, REQUESTS_IN_FLIGHT_METRIC, servingHost, workerCount } from '../../constructs/inference';
import { CLEAN, context, env, named, ofKind, podLabels, podSpec, policyErrors, schemaProblems, synth } from './workload-helpers';
import type { KubeObject } from '../../policies';

const spec = (o: KubeObject): any => o.spec;

describe.each(ENVIRONMENT_NAMES)('Inference in %s', (name) => {
  const e = env(name);
  const objects = synth(e, (s) => new Inference(s, 'inference', { ctx: context(e) }));
  const deployments = ofKind(objects, 'Deployment');

  it('one Deployment per model and canary, each with its Service, HPA and PDB', () => {
    const expected = e.inference.models.flatMap((m) => (m.canary ? [m.name, `${m.name}-canary`] : [m.name]));
    expect(deployments.map((d) => d.metadata.name)).toEqual(expected);
    for (const kind of ['Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'])
      expect(ofKind(objects, kind).map((o) => o.metadata.name)).toEqual(expected);
  });

  it('every Service selects exactly its own Deployment’s pods (the canary is not behind the stable Service)', () => {
    for (const svc of ofKind(objects, 'Service')) {
      const selected = deployments.filter((d) => mapSelectorMatches(spec(svc).selector, podLabels(d)));
      expect(selected.map((d) => d.metadata.name)).toEqual([svc.metadata.name]);
      expect(spec(svc).ports).toEqual([
        { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
        { name: 'grpc', port: 8081, targetPort: 'grpc', protocol: 'TCP' },
      ]);
    }
  });

  it('every HPA targets an existing Deployment, which leaves replicas to it', () => {
    for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler')) {
      const ref = spec(hpa).scaleTargetRef;
      expect(ref.apiVersion).toBe('apps/v1');
      const target = named(objects, ref.kind, ref.name);
      expect(target.metadata.namespace).toBe(hpa.metadata.namespace);
      expect(spec(target).replicas).toBeUndefined();
      expect(spec(hpa).metrics[0]).toEqual({
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } },
      });
    }
  });

  it('pods: component label, restricted, read-only root with emptyDirs for the model cache and /tmp, v2 health probes (liveness over gRPC health), HTTP and gRPC ports', () => {
    for (const d of deployments) {
      const p = podSpec(d);
      const c = p.containers[0];
      expect(podLabels(d)['app.kubernetes.io/component']).toBe('inference');
      expect(p.serviceAccountName).toBe('inference');
      expect(p.automountServiceAccountToken).toBe(false);
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(c.volumeMounts).toEqual([
        { name: 'model-cache', mountPath: '/var/cache/mlops' },
        { name: 'tmp', mountPath: '/tmp' },
      ]);
      expect(p.volumes.map((v: { emptyDir?: unknown }) => v.emptyDir !== undefined)).toEqual([true, true]);
      expect(c.livenessProbe.grpc).toEqual({ port: 8081 });
      expect(c.ports).toEqual([
        { name: 'http', containerPort: 8080, protocol: 'TCP' },
        { name: 'grpc', containerPort: 8081, protocol: 'TCP' },
      ]);
      expect(c.readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
      expect(p.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey)).toContain('kubernetes.io/hostname');
      expect(c.env).toContainEqual({ name: 'MLFLOW_TRACKING_URI', value: `http://tracking.${e.namespaces.platform}.svc:5000` });
    }
  });

  it('the serving Ingress routes /<model>/ on the serving host to each stable Service, behind the edge auth', () => {
    const ing = named(objects, 'Ingress', 'inference');
    const ann = ing.metadata.annotations!;
    expect(spec(ing).rules).toEqual([
      {
        host: servingHost(e),
        http: {
          paths: e.inference.models.map((m) => ({
            path: `/${m.name}(/|$)(.*)`,
            pathType: 'ImplementationSpecific',
            backend: { service: { name: m.name, port: { number: 8080 } } },
          })),
        },
      },
    ]);
    expect(ann['nginx.ingress.kubernetes.io/rewrite-target']).toBe('/$2');
    if (e.ingress.auth.mode === 'basic-auth') expect(ann['nginx.ingress.kubernetes.io/auth-secret']).toBe('ingress-basic-auth');
    else {
      expect(ann['nginx.ingress.kubernetes.io/auth-url']).toBe(`http://oauth2-proxy.${e.namespaces.platform}.svc.cluster.local:4180/oauth2/auth`);
      expect(ann['nginx.ingress.kubernetes.io/auth-signin']).toMatch(new RegExp(`^https://${e.ingress.host.replace(/\./g, '\\.')}/oauth2/start\\?rd=`));
    }
    if (e.ingress.tls.mode === 'cert-manager') {
      expect(ann['cert-manager.io/cluster-issuer']).toBe(e.ingress.tls.clusterIssuer);
      expect(spec(ing).tls).toEqual([{ hosts: [servingHost(e)], secretName: 'inference-tls' }]);
    }
  });

  it('ServiceMonitors exactly when the environment has monitoring, selecting the model’s Services on the metrics path', () => {
    const monitors = ofKind(objects, 'ServiceMonitor');
    if (!e.monitoring.serviceMonitors) {
      expect(monitors).toEqual([]);
      return;
    }
    expect(monitors.map((m) => m.metadata.name)).toEqual(e.inference.models.map((m) => m.name));
    for (const m of monitors) {
      const selected = ofKind(objects, 'Service').filter((s) => mapSelectorMatches(spec(m).selector.matchLabels, s.metadata.labels ?? {}));
      expect(selected.length).toBeGreaterThan(0);
      expect(spec(m).endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    }
  });

  it('passes the policies and the schemas', () => {
    expect(policyErrors(objects, e)).toBe(CLEAN);
    expect(schemaProblems(objects)).toEqual([]);
  });
});

describe('Inference details', () => {
  const prod = env('prod');
  const objects = synth(prod, (s) => new Inference(s, 'inference', { ctx: context(prod, { inferenceRoleArn: 'arn:aws:iam::123456789012:role/inference' }) }));

  it('serves models:/<name>@<alias> with the batching settings; the canary serves its own alias', () => {
    const stable = podSpec(named(objects, 'Deployment', 'churn-predictor')).containers[0];
    expect(stable.command).toEqual([
      'mlops',
      'serve',
      '-m',
      'models:/churn-predictor@champion',
      '--name',
      'churn-predictor',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--grpc-port',
      '8081',
      '--workers',
      '1',
      '--max-batch-size',
      '1024',
      '--max-batch-bytes',
      '16777216',
      '--max-batch-delay-ms',
      '2',
      '--max-queue',
      '256',
      '--drift-psi-threshold',
      '0.2',
    ]);
    const canary = podSpec(named(objects, 'Deployment', 'churn-predictor-canary')).containers[0];
    expect(canary.command.slice(0, 6)).toEqual(['mlops', 'serve', '-m', 'models:/churn-predictor@challenger', '--name', 'churn-predictor']);
    expect(workerCount('2')).toBe(2);
    expect(workerCount('500m')).toBe(1);
    expect(workerCount('1500m')).toBe(2);
  });

  it('sessions: event-loops gives one listener per requested core, each running its sessions (--workers 0); every flag is one `mlops serve` has', () => {
    const dev = env('dev');
    const [m] = dev.inference.models;
    const loops = env('dev', {
      inference: {
        image: dev.inference.image,
        models: [{ ...m, sessions: 'event-loops', resources: { ...m.resources, requests: { ...m.resources.requests, cpu: '1500m' } } }],
      },
    });
    const [d] = ofKind(
      synth(loops, (s) => new Inference(s, 'inference', { ctx: context(loops) })),
      'Deployment',
    );
    const command: string[] = podSpec(d).containers[0].command;
    const at = command.indexOf('--listeners');
    expect(command.slice(at, at + 4)).toEqual(['--listeners', '2', '--workers', '0']);
    expect(command.filter((a) => a === '--workers')).toHaveLength(1);
    const serve = buildProgram().commands.find((c) => c.name() === 'serve')!;
    const known = serve.options.map((o) => o.long);
    expect(command.filter((a) => a.startsWith('--')).filter((f) => !known.includes(f))).toEqual([]);
  });

  it('the canary Ingress sends the environment’s weight to the canary Service on the same host and path', () => {
    const main = named(objects, 'Ingress', 'inference');
    const canary = named(objects, 'Ingress', 'churn-predictor-canary');
    expect(canary.metadata.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': '5' });
    expect(main.metadata.annotations!['nginx.ingress.kubernetes.io/canary']).toBeUndefined();
    const [rule] = spec(canary).rules;
    const mainPath = spec(main).rules[0].http.paths.find((p: { backend: { service: { name: string } } }) => p.backend.service.name === 'churn-predictor');
    expect(rule.host).toBe('models.example.com');
    expect(rule.http.paths).toEqual([{ ...mainPath, backend: { service: { name: 'churn-predictor-canary', port: { number: 8080 } } } }]);
    // cert-manager issues the certificate for the main Ingress only (two owners of one Secret would fight).
    expect(canary.metadata.annotations!['cert-manager.io/cluster-issuer']).toBeUndefined();
    expect(spec(canary).tls).toEqual(spec(main).tls);
  });

  it('the canary scales from its own replicas up to its share of the stable maximum', () => {
    expect(spec(named(objects, 'HorizontalPodAutoscaler', 'churn-predictor-canary'))).toMatchObject({ minReplicas: 2, maxReplicas: 2 });
    const staging = env('staging');
    const hpa = named(
      synth(staging, (s) => new Inference(s, 'i', { ctx: context(staging) })),
      'HorizontalPodAutoscaler',
      'churn-predictor-canary',
    );
    expect(spec(hpa)).toMatchObject({ minReplicas: 1, maxReplicas: 1 });
    expect(hpa.metadata.annotations?.['kube-score/ignore']).toBe('horizontalpodautoscaler-replicas');
  });

  it('adds the requests-in-flight Pods metric only where the model sets a target', () => {
    const metrics = (n: string) => spec(named(objects, 'HorizontalPodAutoscaler', n)).metrics;
    expect(metrics('churn-predictor')).toContainEqual({
      type: 'Pods',
      pods: { metric: { name: REQUESTS_IN_FLIGHT_METRIC }, target: { type: 'AverageValue', averageValue: '32' } },
    });
    expect(metrics('churn-predictor-gpu')).toHaveLength(1);
  });

  it('GPU only for the model assigned to a GPU pool: one nvidia.com/gpu, toleration and pool node selector', () => {
    const gpu = podSpec(named(objects, 'Deployment', 'churn-predictor-gpu'));
    expect(gpu.containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
    expect(gpu.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(gpu.nodeSelector).toEqual({ 'mlops.example.com/pool': 'gpu-inference' });
    const cpu = podSpec(named(objects, 'Deployment', 'churn-predictor'));
    expect(cpu.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(cpu.tolerations).toBeUndefined();
    expect(cpu.nodeSelector).toBeUndefined();
  });

  it('bounds ephemeral storage by the emptyDirs, and rolls out without losing capacity', () => {
    const d = named(objects, 'Deployment', 'churn-predictor');
    expect(podSpec(d).containers[0].resources.limits['ephemeral-storage']).toBe('2048Mi');
    expect(spec(d).strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  it('the ServiceAccount mounts no token and carries the IRSA role when given', () => {
    const sa = named(objects, 'ServiceAccount', 'inference');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(sa.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/inference' });
  });

  it('without tracking auth no login is injected; an environment without models is an error', () => {
    const dev = env('dev');
    const c = podSpec(
      named(
        synth(dev, (s) => new Inference(s, 'i', { ctx: context(dev), trackingCredentialsSecret: null })),
        'Deployment',
        'churn-predictor',
      ),
    ).containers[0];
    expect(c.env.map((v: { name: string }) => v.name)).toEqual(['MLFLOW_TRACKING_URI', 'MLOPS_MODEL_CACHE', 'TMPDIR', 'HOME']);
    const none = env('dev', { inference: { image: dev.inference.image, models: [] } });
    expect(() => synth(none, (s) => new Inference(s, 'i', { ctx: context(none) }))).toThrow(/inference\.models is empty/);
  });
});
