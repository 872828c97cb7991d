import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENT_NAMES, loadEnvironment } from '../../environments';
import { synthEnvironment, writeSynth } from '../../stacks/gitops';
import { PLATFORM_SECRETS, requiredSecrets, secretNamespace } from '../../constructs/secrets';

describe.each(ENVIRONMENT_NAMES)('%s', (name) => {
  const env = loadEnvironment(name);
  const files = synthEnvironment(env);

  it('starts with the namespaces, PSA restricted enforced', () => {
    expect(files[0].name).toBe('00-namespaces.k8s.yaml');
    const nss = files[0].objects.filter((o) => o.kind === 'Namespace');
    expect(nss.map((n) => n.metadata.name)).toEqual([env.namespaces.platform, env.namespaces.training, env.namespaces.serving]);
    for (const n of nss) expect(n.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('denies all ingress and egress by default in every namespace', () => {
    const deny = files[0].objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny-all');
    expect(deny.map((d) => d.metadata.namespace).sort()).toEqual(Object.values(env.namespaces).sort());
    for (const d of deny) expect(d.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  it('labels every object', () => {
    for (const o of files.flatMap((f) => f.objects)) {
      for (const k of ['name', 'instance', 'component', 'part-of', 'managed-by', 'version']) {
        expect(o.metadata.labels?.[`app.kubernetes.io/${k}`]).toBeTruthy();
      }
    }
  });

  it('matches the snapshot (namespaces part)', () => {
    expect(files[0]).toMatchSnapshot();
  });
});

it('writeSynth writes dist/<env>/NN-<part>.k8s.yaml and leaves no temp dir', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-'));
  writeSynth([loadEnvironment('dev')], out);
  expect(fs.readdirSync(out)).toEqual(['dev']);
  const names = fs.readdirSync(path.join(out, 'dev'));
  expect(names[0]).toBe('00-namespaces.k8s.yaml');
  expect(names).toContain('mlops-environment');
  for (const n of names.filter((name) => name !== 'mlops-environment')) expect(n).toMatch(/^\d{2}-[a-z0-9-]+\.k8s\.yaml$/);
  fs.rmSync(out, { recursive: true, force: true });
});

it('staging (external-secrets) emits an ExternalSecret per required Secret and no Secret', () => {
  const env = loadEnvironment('staging');
  const objects = synthEnvironment(env).flatMap((f) => f.objects);
  expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
  const es = objects.filter((o) => o.kind === 'ExternalSecret').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  expect(es).toEqual(expect.arrayContaining(['mlops-platform/tracking-db', 'mlops-platform/tracking-admin', 'mlops-platform/oauth2-proxy']));
  expect(es.sort()).toEqual(
    requiredSecrets(env)
      .map((id) => `${secretNamespace(env, PLATFORM_SECRETS[id])}/${PLATFORM_SECRETS[id].name}`)
      .sort(),
  );
});

it('external-secrets mode without a store in the environment is an error', () => {
  expect(() => synthEnvironment(loadEnvironment('dev'), { secretsMode: 'external-secrets' })).toThrow(/secrets.store/);
});
