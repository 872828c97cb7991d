import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runMlops } from '../helpers/cli';
import {
  ENVIRONMENT_NAMES,
  EnvironmentValidationError,
  builtInEnvironments,
  type BuiltInEnvironmentName,
  deepMerge,
  loadEnvironment,
  loadEnvironmentFile,
  validateEnvironment,
} from '../../environments';

/** Validates `dev` with `patch` merged in and returns the problems (field path → message). */
function problemsOf(patch: Record<string, unknown>, base: BuiltInEnvironmentName = 'dev'): Record<string, string> {
  try {
    validateEnvironment(deepMerge(builtInEnvironments[base], patch));
  } catch (err) {
    expect(err).toBeInstanceOf(EnvironmentValidationError);
    return Object.fromEntries((err as EnvironmentValidationError).problems.map((p) => [p.path, p.message]));
  }
  throw new Error('expected the configuration to be invalid');
}

describe('built-in environments', () => {
  test.each(ENVIRONMENT_NAMES)('%s validates', (name) => {
    const cfg = loadEnvironment(name);
    expect(cfg.name).toBe(name);
    expect(cfg.namespaces).toEqual({ platform: 'mlops-platform', training: 'ml-training', serving: 'ml-serving' });
  });

  test('ships exactly dev, staging and prod', () => {
    expect([...ENVIRONMENT_NAMES].sort()).toEqual(['dev', 'prod', 'staging']);
  });

  test('dev targets a local cluster with in-cluster stores; staging and prod target EKS', () => {
    const dev = loadEnvironment('dev');
    expect(dev.cluster.kind).toBe('local');
    expect(dev.metadataStore.kind).toBe('in-cluster-postgres');
    expect(dev.artifactStore.kind).toBe('minio');
    for (const name of ['staging', 'prod']) expect(loadEnvironment(name).cluster.kind).toBe('eks');
  });

  test('prod uses RDS, S3, OIDC, TLS and GPU pools with the NVIDIA taint by default', () => {
    const prod = loadEnvironment('prod');
    expect(prod.metadataStore).toMatchObject({ kind: 'external-postgres', rds: true });
    expect(prod.artifactStore.kind).toBe('s3');
    expect(prod.ingress.auth.mode).toBe('oidc');
    expect(prod.ingress.tls.mode).toBe('cert-manager');
    expect(prod.gpu.pools.map((p) => p.name)).toEqual(['gpu-training', 'gpu-inference']);
    for (const pool of prod.gpu.pools) expect(pool.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]);
    expect(prod.cluster.kind === 'eks' && prod.cluster.rds?.backupRetentionDays).toBeGreaterThanOrEqual(7);
  });

  test('defaults are filled in', () => {
    const dev = loadEnvironment('dev');
    expect(dev.ingress.className).toBe('nginx');
    expect(dev.inference.models[0].batching).toEqual({ maxBatchSize: 1024, maxBatchBytes: 16 * 1024 * 1024, maxBatchDelayMs: 2, maxQueue: 256 });
    expect(dev.monitoring.driftPsiThreshold).toBe(0.2);
  });

  test('overrides merge into an environment and are validated too', () => {
    expect(loadEnvironment('dev', { ingress: { host: 'ml.local.test' } }).ingress.host).toBe('ml.local.test');
    expect(() => loadEnvironment('dev', { ingress: { host: 'Not A Host' } })).toThrow(/ingress\.host: must be a lowercase DNS hostname/);
  });

  test('an unknown environment name is an error naming the known ones', () => {
    expect(() => loadEnvironment('qa')).toThrow('unknown environment "qa" (known: dev, staging, prod)');
  });
});

describe('invalid configuration names each field path', () => {
  test('mutable and unpinned images', () => {
    const p = problemsOf({ tracking: { image: 'ghcr.io/acme/tracking:latest' }, inference: { image: 'ghcr.io/acme/inference' } });
    expect(p['tracking.image']).toMatch(/mutable tag "latest"/);
    expect(p['inference.image']).toMatch(/must be pinned with a tag or a digest/);
  });

  test('a digest alone pins an image', () => {
    const digest = `ghcr.io/acme/tracking@sha256:${'a'.repeat(64)}`;
    expect(validateEnvironment(deepMerge(builtInEnvironments.dev, { tracking: { image: digest } })).tracking.image).toBe(digest);
  });

  test('bad namespace names and duplicates', () => {
    const p = problemsOf({ namespaces: { platform: 'MLOps', training: 'default', serving: 'ml-serving' } });
    expect(p['namespaces.platform']).toMatch(/DNS-1123 label/);
    expect(p['namespaces.training']).toMatch(/reserved by Kubernetes/);
    const dup = problemsOf({ namespaces: { platform: 'ml', training: 'ml', serving: 'ml-serving' } });
    expect(dup['namespaces.training']).toMatch(/already used for namespaces\.platform/);
  });

  test('unknown fields are rejected rather than ignored', () => {
    const p = problemsOf({ ingress: { hots: 'x' } });
    expect(p['ingress']).toMatch(/unknown field "hots"/);
  });

  test('resource quantities and autoscaling bounds', () => {
    const p = problemsOf({
      inference: {
        image: builtInEnvironments.dev.inference.image,
        models: [
          {
            name: 'm',
            registeredModel: 'm',
            autoscaling: { minReplicas: 5, maxReplicas: 2 },
            resources: { requests: { cpu: 'lots', memory: '1Gi' }, limits: { memory: '1Gi' } },
          },
        ],
      },
    });
    expect(p['inference.models[0].autoscaling.maxReplicas']).toBe('must be ≥ minReplicas');
    expect(p['inference.models[0].resources.requests.cpu']).toMatch(/Kubernetes quantity/);
  });

  test('references to GPU pools must resolve, and GPU pools need EKS', () => {
    const p = problemsOf({ training: { image: builtInEnvironments.dev.training.image, gpuPool: 'gpu-big' } });
    expect(p['training.gpuPool']).toBe('unknown GPU pool "gpu-big" (defined: none)');
    const q = problemsOf({ gpu: { pools: [{ name: 'gpu', instanceTypes: ['g5.xlarge'], minSize: 0, maxSize: 1 }] } });
    expect(q['gpu.pools']).toBe('GPU node pools need cluster.kind "eks"');
  });

  test('GPU pool sizes and instance types', () => {
    const p = problemsOf({ gpu: { pools: [{ name: 'gpu', instanceTypes: ['huge'], minSize: 3, maxSize: 1, desiredSize: 9 }] } }, 'prod');
    expect(p['gpu.pools[0].instanceTypes[0]']).toMatch(/EC2 instance type/);
    expect(p['gpu.pools[0].maxSize']).toBe('must be ≥ minSize');
    expect(p['gpu.pools[0].desiredSize']).toBe('must be between minSize and maxSize');
  });

  test('discriminated unions name the discriminator', () => {
    const p = problemsOf({ secrets: { mode: 'plaintext' } });
    expect(Object.keys(p)).toEqual(['secrets.mode']);
  });

  test('cloud settings: open API endpoint, short backups, bad region, TLS off on EKS', () => {
    const prod = builtInEnvironments.prod as { cluster: Record<string, unknown> };
    const p = problemsOf(
      {
        cluster: {
          ...prod.cluster,
          region: 'europe',
          publicAccessCidrs: ['0.0.0.0/0'],
          rds: { instanceClass: 'db.r6g.large', allocatedStorageGiB: 100, backupRetentionDays: 1 },
        },
        ingress: { tls: { mode: 'none' } },
      },
      'prod',
    );
    expect(p['cluster.region']).toMatch(/AWS region/);
    expect(p['cluster.publicAccessCidrs[0]']).toMatch(/whole internet/);
    expect(p['cluster.rds.backupRetentionDays']).toBe('must be at least 7 days');
    expect(p['ingress.tls.mode']).toBe('"none" is only allowed for a local cluster');
  });

  test('external Postgres without a host or RDS', () => {
    const p = problemsOf({ metadataStore: { kind: 'external-postgres' } });
    expect(p['metadataStore.host']).toBe('is required unless rds is true');
  });

  test('GitOps with Pulumi-generated Secrets: Git alone could not start it', () => {
    const p = problemsOf({ gitops: { repoURL: 'https://git.example.com/x.git', path: 'dist/dev' } });
    expect(p.gitops).toMatch(/^an environment synced by Argo CD must be deployable from Git alone.*secrets\.mode "external-secrets"/);
    expect(() => loadEnvironment('staging')).not.toThrow();
  });

  test('a canary on the stable alias', () => {
    const m = (builtInEnvironments.staging.inference.models ?? [])[0];
    const p = problemsOf(
      { inference: { image: builtInEnvironments.staging.inference.image, models: [{ ...m, canary: { alias: 'champion', weight: 10 } }] } },
      'staging',
    );
    expect(p['inference.models[0].canary.alias']).toBe('must differ from the stable alias "champion"');
  });

  test('every problem is reported at once, one line each', () => {
    const err = (() => {
      try {
        validateEnvironment({ name: 'Bad Name' }, 'test');
      } catch (e) {
        return e as EnvironmentValidationError;
      }
      throw new Error('expected failure');
    })();
    expect(err.problems.length).toBeGreaterThan(5);
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('invalid environment test:');
    expect(lines).toContain('  name: must be a DNS-1123 label (lowercase letters, digits, "-")');
    expect(lines.length).toBe(err.problems.length + 1);
  });
});

describe('environment files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-env-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a team environment in YAML loads with defaults', () => {
    const file = path.join(dir, 'team.yaml');
    const { stringify } = jest.requireActual<typeof import('yaml')>('yaml');
    fs.writeFileSync(file, stringify({ ...builtInEnvironments.dev, name: 'team-a' }));
    expect(loadEnvironmentFile(file).name).toBe('team-a');
  });

  test('malformed YAML names the file', () => {
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(file, 'name: [unclosed');
    expect(() => loadEnvironmentFile(file)).toThrow(/broken\.yaml:1:\d+: not valid YAML/);
  });

  test('a YAML syntax error names file:line:col and shows the offending line with a caret, through the CLI too', () => {
    const file = path.join(dir, 'team-syntax.yaml');
    fs.writeFileSync(file, 'name: team\ntracking: image: registry.example.com/t:1.0\n');
    const expected = `${file}:2:11: not valid YAML: Nested mappings are not allowed in compact mappings\n  2 | tracking: image: registry.example.com/t:1.0\n    |           ^`;
    expect(() => loadEnvironmentFile(file)).toThrow(expected);
    const validate = runMlops(['env', 'validate', file]);
    expect({ status: validate.status, stderr: validate.stderr }).toEqual({ status: 1, stderr: `${expected}\nmlops: 1 of 1 environment(s) invalid\n` });
    const synth = runMlops(['synth', '--env', file, '--out', path.join(dir, 'out')]);
    expect({ status: synth.status, stderr: synth.stderr }).toEqual({ status: 1, stderr: `mlops: --env: ${expected}\n` });
  });

  test('a JSON syntax error points at its line and column as well', () => {
    const file = path.join(dir, 'team-syntax.json');
    fs.writeFileSync(file, '{"name": "team",\n  "tracking": {"image": "x",}\n}\n');
    expect(() => loadEnvironmentFile(file)).toThrow(/team-syntax\.json:2:29: not valid JSON: .*\n {2}2 \| {3}"tracking": \{"image": "x",\}\n {4}\| {29}\^$/);
  });
});
