import { App } from 'cdk8s';
import { validateEnvironment, type EnvironmentConfig } from '../../environments';
import { environmentVariants } from '../../policies/platform';
import { podTemplates, type KubeObject } from '../../core/kube-objects';
import { workflowStepPods } from '../../core/argo-pods';
import { MlopsPlatform } from '../../constructs/platform';
import { IRSA_ANNOTATION } from '../../constructs/facts';

/*
 * The typed facts MlopsPlatform exposes (pods per namespace, cloud identities, endpoints) say exactly what
 * its synthesized objects hold: each is checked against the objects themselves, read the way a cluster
 * would (pod templates, annotated ServiceAccounts, Ingress rules), for every built-in environment in both
 * secrets modes, with and without cloud values, and with the optional parts switched on.
 */

const CLOUD = {
  artifactBucket: 'facts-test-artifacts',
  trackingRoleArn: 'arn:aws:iam::000000000000:role/facts-tracking',
  trainingRoleArn: 'arn:aws:iam::000000000000:role/facts-training',
  inferenceRoleArn: 'arn:aws:iam::000000000000:role/facts-inference',
  databaseHost: 'db.facts.invalid',
};
const OIDC = { mode: 'oidc', issuerUrl: 'https://idp.example.com', clientId: 'mlflow' };
const STORES = { artifactStore: { kind: 'minio' }, metadataStore: { kind: 'in-cluster-postgres' } };

function variants(): Array<[string, EnvironmentConfig]> {
  return environmentVariants().flatMap(({ label, env }) => {
    const more: Array<[string, EnvironmentConfig]> = [[label, env]];
    if (env.ingress.auth.mode !== 'oidc') more.push([`${label} + oidc`, validateEnvironment({ ...env, ingress: { ...env.ingress, auth: OIDC } }, label)]);
    if (env.artifactStore.kind !== 'minio') more.push([`${label} + in-cluster stores`, validateEnvironment({ ...env, ...STORES }, label)]);
    if (env.inference.models.length > 0 && !env.training.retrainSchedule)
      more.push([`${label} without models`, validateEnvironment({ ...env, inference: { ...env.inference, models: [] } }, label)]);
    return more;
  });
}

const canonical = (items: readonly object[]) => items.map((i) => JSON.stringify(i, Object.keys(i).sort())).sort();
const sortedLabels = (labels: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

/** Model → URL as the serving Ingress routes it: the non-canary Ingress rule whose backend is the model's Service. */
function ingressUrls(env: EnvironmentConfig, objects: readonly KubeObject[]): Record<string, string> {
  const scheme = env.ingress.tls.mode === 'none' ? 'http' : 'https';
  const out: Record<string, string> = {};
  for (const o of objects) {
    if (o.kind !== 'Ingress' || o.metadata.namespace !== env.namespaces.serving || o.metadata.annotations?.['nginx.ingress.kubernetes.io/canary'] === 'true')
      continue;
    const spec = o.spec as { rules: Array<{ host: string; http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }> };
    for (const rule of spec.rules) for (const p of rule.http.paths) out[p.backend.service.name] ??= `${scheme}://${rule.host}${p.path.replace(/\(.*$/, '')}`;
  }
  return Object.fromEntries(env.inference.models.map((m) => [m.name, out[m.name]]));
}

describe.each(variants())('%s: typed facts match the objects', (_label, env) => {
  for (const [cloudLabel, cloud] of [
    ['no cloud values', {}],
    ['cloud values', CLOUD],
  ] as const) {
    test(cloudLabel, () => {
      const platform = new MlopsPlatform(new App(), env.name, { env, cloud });
      const objects = platform.charts.flatMap(({ chart }) => chart.toJson() as KubeObject[]);

      // Argo step pods as the workflow controller creates them from the WorkflowTemplates' container templates.
      const scannedPods = podTemplates([...objects, ...workflowStepPods(objects)]).map(({ tpl }) => ({
        namespace: tpl.namespace,
        labels: sortedLabels(tpl.labels),
      }));
      expect(canonical(platform.pods.map((p) => ({ namespace: p.namespace, labels: sortedLabels(p.labels) })))).toEqual(canonical(scannedPods));

      const annotated = objects
        .filter((o) => o.kind === 'ServiceAccount' && o.metadata.annotations?.[IRSA_ANNOTATION])
        .map((o) => ({ namespace: o.metadata.namespace, serviceAccount: o.metadata.name, roleArn: o.metadata.annotations?.[IRSA_ANNOTATION] }));
      expect(canonical(platform.identities.map(({ namespace, serviceAccount, roleArn }) => ({ namespace, serviceAccount, roleArn })))).toEqual(
        canonical(annotated),
      );
      for (const i of platform.identities) expect(i.roleArn).toBe(CLOUD[`${i.identity}RoleArn`]);

      expect(platform.endpoints.inference).toEqual(ingressUrls(env, objects));
      const trackingIngress = objects.find((o) => o.kind === 'Ingress' && o.metadata.namespace === env.namespaces.platform);
      const host = (trackingIngress?.spec as { rules: Array<{ host: string }> }).rules[0].host;
      expect(platform.endpoints.tracking).toBe(`${env.ingress.tls.mode === 'none' ? 'http' : 'https'}://${host}`);
    });
  }
});

test('the variants switch on every optional part at least once (pods in every namespace, identities, no models)', () => {
  const all = variants().map(([, env]) => new MlopsPlatform(new App(), env.name, { env, cloud: CLOUD }));
  expect(all.some((p) => p.identities.length === 3)).toBe(true);
  expect(all.some((p) => Object.keys(p.endpoints.inference).length === 0)).toBe(true);
  expect(all.some((p) => p.pods.some((g) => g.labels['app.kubernetes.io/name'] === 'oauth2-proxy'))).toBe(true);
  expect(all.some((p) => p.pods.some((g) => g.labels['app.kubernetes.io/name'] === 'minio'))).toBe(true);
});
