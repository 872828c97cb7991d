import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as pulumi from '@pulumi/pulumi';
import { deployedEnvironment, readSettings, stackEnvironment } from '../../stacks/program';
import { testImageLockFile } from '../helpers/image-lock';

/** A stand-in for `new pulumi.Config('mlops')` holding plain (non-secret) values, as `pulumi config set` stores them. */
function config(values: Record<string, unknown>): pulumi.Config {
  return {
    get: (key: string) => (typeof values[key] === 'string' ? values[key] : undefined),
    getObject: (key: string) => values[key],
    getSecret: () => undefined,
  } as unknown as pulumi.Config;
}

describe('stack settings: config overrides the environment', () => {
  it('the stack name selects the environment; images, region and bucket land on their fields', () => {
    const env = stackEnvironment(
      readSettings(
        'staging',
        config({
          trackingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-blueprint/tracking:0.2.0',
          region: 'us-east-2',
          artifactBucket: 'acme-mlops-staging',
        }),
      ),
    );
    expect(env.name).toBe('staging');
    expect(env.tracking.image).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-blueprint/tracking:0.2.0');
    // Training runs from the tracking image unless it has its own.
    expect(env.training.image).toBe(env.tracking.image);
    expect(env.cluster).toMatchObject({ region: 'us-east-2' });
    expect(env.artifactStore).toMatchObject({ bucket: 'acme-mlops-staging' });
  });

  it('mlops:overrides deep-merges any documented field and keeps the rest of the environment', () => {
    const base = stackEnvironment(readSettings('prod', config({})));
    const env = stackEnvironment(readSettings('prod', config({ overrides: { tracking: { replicas: { max: base.tracking.replicas.max + 3 } } } })));
    expect(env.tracking.replicas).toEqual({ ...base.tracking.replicas, max: base.tracking.replicas.max + 3 });
    expect(env.inference).toEqual(base.inference);
  });

  it('mlops:environment picks another built-in environment for a differently named stack', () => {
    expect(stackEnvironment(readSettings('prod-eu', config({ environment: 'prod' }))).name).toBe('prod');
  });

  it('an invalid value fails with a message naming the field', () => {
    expect(() => stackEnvironment(readSettings('staging', config({ trackingImage: 'ghcr.io/acme/tracking:latest' })))).toThrow(/tracking\.image: .*latest/);
    expect(() => stackEnvironment(readSettings('staging', config({ overrides: { tracking: { replicas: { min: 5, max: 2 } } } })))).toThrow(
      /tracking\.replicas\.max/,
    );
    expect(() => readSettings('staging', config({ secretsMode: 'plaintext' }))).toThrow(
      'mlops:secretsMode must be "pulumi" or "external-secrets", got "plaintext"',
    );
    expect(() => readSettings('dev', config({ credentialSource: 'vault' }))).toThrow('mlops:credentialSource must be "generate" or "config", got "vault"');
    expect(() => stackEnvironment(readSettings('qa', config({})))).toThrow('unknown environment "qa" (known: dev, staging, prod)');
  });
});

describe('stack settings: image digests', () => {
  it('prod deploys only with every image pinned: by mlops:imageLock, or inline in the image config', () => {
    const empty = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-stack-lock-')), 'empty.lock.json');
    fs.writeFileSync(empty, '{"lockfileVersion":1,"images":{}}\n');
    expect(() => deployedEnvironment(readSettings('prod', config({ imageLock: empty })))).toThrow(
      /environment "prod" requires every image pinned by digest[\s\S]*tracking\.image: /,
    );
    const pinned = deployedEnvironment(readSettings('prod', config({ imageLock: testImageLockFile() })));
    expect(pinned.tracking.image).toMatch(/^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/mlops-blueprint\/tracking:0\.1\.0@sha256:[0-9a-f]{64}$/);
    // An inline digest in the stack config counts; the rest still comes from the lock.
    const inline = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-blueprint/tracking:0.2.0@sha256:${'c'.repeat(64)}`;
    expect(deployedEnvironment(readSettings('prod', config({ imageLock: testImageLockFile(), trackingImage: inline }))).tracking.image).toBe(inline);
    // dev needs no digests: an empty lock leaves its images as written.
    expect(deployedEnvironment(readSettings('dev', config({ imageLock: empty }))).tracking.image).toBe('localhost:5001/mlops-blueprint/tracking:0.1.0');
  });
});
