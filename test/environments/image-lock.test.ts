import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENT_NAMES, loadEnvironment } from '../../environments';
import {
  environmentImages,
  MANIFEST_MEDIA_TYPES,
  parseImageReference,
  pinImages,
  readImageLock,
  RegistryClient,
  resolveImages,
  unpinnedImages,
  UnpinnedImagesError,
} from '../../environments/image-lock';
import { parseChallenge } from '../../environments/image-lock/registry-client';
import { dockerConfigCredentials } from '../../environments/image-lock/docker-config';
import { renderEnvironment } from '../../stacks/gitops';
import { podTemplates } from '../../policies/kube/workloads';
import { runMlops, runMlopsAsync } from '../helpers/cli';
import { testImageLock } from '../helpers/image-lock';
import { basicHeader, FakeOciRegistry, SCHEMA1, syntheticDigest } from '../helpers/oci-registry';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-image-lock-'));

describe('image references', () => {
  test('are read as Docker reads them: Docker Hub by default, library/ for single names, registries with a dot, a port or localhost', () => {
    expect(parseImageReference('postgres:16')).toMatchObject({ registry: 'docker.io', repository: 'library/postgres', tag: '16' });
    expect(parseImageReference('docker.io/library/postgres:16.4-alpine3.20')).toMatchObject({
      registry: 'docker.io',
      repository: 'library/postgres',
      tag: '16.4-alpine3.20',
    });
    expect(parseImageReference('localhost:5001/mlops-blueprint/tracking:0.1.0')).toMatchObject({
      registry: 'localhost:5001',
      repository: 'mlops-blueprint/tracking',
      tag: '0.1.0',
    });
    expect(parseImageReference(`quay.io/minio/mc:RELEASE.1@sha256:${'a'.repeat(64)}`)).toMatchObject({
      name: 'quay.io/minio/mc:RELEASE.1',
      registry: 'quay.io',
      tag: 'RELEASE.1',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(() => parseImageReference('quay.io/Minio/mc:1')).toThrow(/not a repository path/);
    expect(() => parseImageReference('quay.io/minio/mc@sha256:abc')).toThrow(/digest must be sha256/);
    expect(new RegistryClient().endpoint('docker.io').href).toBe('https://registry-1.docker.io/');
    expect(new RegistryClient().endpoint('localhost:5001').href).toBe('http://localhost:5001/');
  });

  test('challenges are parsed as RFC 7235 auth-params (quoted values keep their commas)', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' },
    });
    expect(parseChallenge('Basic realm="https://123.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"')?.scheme).toBe('basic');
  });
});

describe('the resolver against an OCI registry on loopback', () => {
  let registry: FakeOciRegistry;
  let other: FakeOciRegistry;
  const client = (extra: ConstructorParameters<typeof RegistryClient>[0] = {}) =>
    new RegistryClient({ mirrors: { '*': registry.url, ...extra.mirrors }, ...extra });

  beforeAll(async () => {
    registry = await new FakeOciRegistry().start();
    other = await new FakeOciRegistry('backend.test').start();
  });
  afterAll(async () => {
    await registry.stop();
    await other.stop();
  });
  beforeEach(() => {
    registry.requests.length = 0;
    registry.tokenRequests.length = 0;
  });

  test('anonymous token flow (Docker Hub, ghcr.io, quay.io): 401 challenge, token for the scope, HEAD with every manifest type accepted', async () => {
    const digest = registry.push('library/postgres', '16.4-alpine3.20', {}, 'docker.io/library/postgres:16.4-alpine3.20');
    const r = await client().resolve('docker.io/library/postgres:16.4-alpine3.20');
    expect(r).toEqual({ digest, mediaType: 'application/vnd.oci.image.index.v1+json', via: 'HEAD' });
    expect(registry.tokenRequests.map((p) => [p.get('service'), p.getAll('scope')])).toEqual([['fake-registry.test', ['repository:library/postgres:pull']]]);
    expect(registry.requests.map((q) => [q.method, q.path, q.authorization?.split(' ')[0]])).toEqual([
      ['HEAD', '/v2/library/postgres/manifests/16.4-alpine3.20', undefined],
      ['GET', '/token', undefined],
      ['HEAD', '/v2/library/postgres/manifests/16.4-alpine3.20', 'Bearer'],
    ]);
    for (const q of registry.requests.filter((x) => x.path.includes('/manifests/'))) expect(q.accept?.split(', ')).toEqual([...MANIFEST_MEDIA_TYPES]);
    // One client (one `mlops images lock` run) reuses the token for the same repository.
    const c = client();
    registry.tokenRequests.length = 0;
    await c.resolve('docker.io/library/postgres:16.4-alpine3.20');
    await c.resolve('docker.io/library/postgres:16.4-alpine3.20');
    expect(registry.tokenRequests).toHaveLength(1);
  });

  test('a registry that omits Docker-Content-Digest on HEAD: the manifest is fetched and hashed here', async () => {
    const digest = registry.push('oauth2-proxy/oauth2-proxy', 'v7.7.1', { omitDigestHeader: true }, 'quay.io/oauth2-proxy/oauth2-proxy:v7.7.1');
    const r = await client().resolve('quay.io/oauth2-proxy/oauth2-proxy:v7.7.1');
    expect(r).toMatchObject({ digest, via: 'GET' });
    expect(registry.requests.filter((q) => q.path.includes('/manifests/')).map((q) => q.method)).toEqual(['HEAD', 'HEAD', 'GET']);
  });

  test('a digest header that does not match the bytes is refused', async () => {
    // No header on HEAD sends the client to GET, where the header it does send disagrees with the body.
    registry.push('liar/image', '1.0', { omitDigestHeader: true, wrongDigestHeader: true });
    await expect(client().resolve('quay.io/liar/image:1.0')).rejects.toThrow(/claims sha256:[0-9a-f]{64} but the manifest it sent hashes to sha256:/);
  });

  test('registry.k8s.io style: a 307 to another registry, which challenges for its own token', async () => {
    const digest = other.push('images/pause', '3.10', {}, 'registry.k8s.io/pause:3.10');
    registry.push('pause', '3.10', { redirectTo: { base: other.url, repository: 'images/pause' } });
    const r = await new RegistryClient({ mirrors: { 'registry.k8s.io': registry.url } }).resolve('registry.k8s.io/pause:3.10');
    expect(r).toMatchObject({ digest, via: 'HEAD' });
    expect(registry.tokenRequests).toEqual([]);
    expect(other.tokenRequests.map((p) => [p.get('service'), p.get('scope')])).toEqual([['backend.test', 'repository:images/pause:pull']]);
  });

  test('Basic auth on the registry itself (ECR): credentials from the Docker config; without them a clear error', async () => {
    const login = { username: 'AWS', password: 'ecr-token-from-get-login-password' };
    const digest = registry.push(
      'mlops-blueprint/tracking',
      '0.1.0',
      { auth: 'basic', login },
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-blueprint/tracking:0.1.0',
    );
    const ref = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-blueprint/tracking:0.1.0';
    await expect(client().resolve(ref)).rejects.toThrow(
      /needs credentials \(Basic auth\); log in with `docker login 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com`/,
    );
    const dir = tmp();
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auths: { '123456789012.dkr.ecr.eu-west-1.amazonaws.com': { auth: Buffer.from(`${login.username}:${login.password}`).toString('base64') } },
      }),
    );
    const r = await client({ credentials: dockerConfigCredentials(path.join(dir, 'config.json')) }).resolve(ref);
    expect(r.digest).toBe(digest);
    expect(registry.requests.at(-1)?.authorization).toBe(basicHeader(login));
  });

  test('a private repository: the login goes to the token realm; a wrong one is refused there', async () => {
    const login = { username: 'ci', password: 'pull-secret' };
    const digest = registry.push('acme/private', '2.0', { auth: 'private', login }, 'ghcr.io/acme/private:2.0');
    expect((await client({ credentials: () => login }).resolve('ghcr.io/acme/private:2.0')).digest).toBe(digest);
    expect(registry.requests.find((q) => q.path === '/token' && q.authorization)?.authorization).toBe(basicHeader(login));
    await expect(client({ credentials: () => ({ username: 'ci', password: 'wrong' }) }).resolve('ghcr.io/acme/private:2.0')).rejects.toThrow(
      /token request to http:\/\/127\.0\.0\.1:\d+\/token answered HTTP 401 UNAUTHORIZED/,
    );
  });

  test('an unknown tag is a 404 naming the image; schema-1 manifests and oversized ones are refused', async () => {
    registry.push('acme/web', '1.0');
    await expect(client().resolve('quay.io/acme/web:9.9')).rejects.toThrow(/^quay\.io\/acme\/web:9\.9: not found \(HTTP 404/);
    registry.push('acme/old', '1.0', { contentType: SCHEMA1 });
    await expect(client().resolve('quay.io/acme/old:1.0')).rejects.toThrow(
      /answered application\/vnd\.docker\.distribution\.manifest\.v1\+prettyjws, not an image index or manifest/,
    );
    registry.push('acme/huge', '1.0', { omitDigestHeader: true, padBytes: 4 * 1024 * 1024 });
    await expect(client().resolve('quay.io/acme/huge:1.0')).rejects.toThrow(/the manifest is \d+ bytes, over the 4194304-byte limit/);
  });

  test('plain HTTP is spoken to loopback only; a mirror or realm elsewhere over http is refused before any request', async () => {
    await expect(new RegistryClient({ mirrors: { '*': 'http://mirror.example.com' } }).resolve('quay.io/acme/web:1.0')).rejects.toThrow(
      /refusing http:\/\/mirror\.example\.com/,
    );
    await expect(new RegistryClient({ mirrors: { '*': 'ftp://127.0.0.1' } }).resolve('quay.io/acme/web:1.0')).rejects.toThrow(/only https/);
  });
});

describe('pinning environments', () => {
  test('every image a synthesized environment runs is one environmentImages lists (nothing escapes the lock)', () => {
    for (const name of ENVIRONMENT_NAMES) {
      const env = loadEnvironment(name);
      const pinned = pinImages(env, testImageLock(env));
      expect(unpinnedImages(pinned)).toEqual([]);
      const { files } = renderEnvironment(pinned);
      const images = podTemplates(files.flatMap((f) => f.objects)).flatMap(({ tpl }) =>
        [
          ...((tpl.spec.containers as Array<{ image: string }> | undefined) ?? []),
          ...((tpl.spec.initContainers as Array<{ image: string }> | undefined) ?? []),
        ].map((c) => c.image),
      );
      expect(images.length).toBeGreaterThan(0);
      for (const image of images) {
        expect(image).toMatch(/^[^@]+:[^@/]+@sha256:[0-9a-f]{64}$/);
        expect(image.split('@')[1]).toBe(syntheticDigest(image.split('@')[0]));
      }
      expect(new Set(images)).toEqual(new Set(environmentImages(pinned).map((u) => u.image)));
    }
  });

  test('staging and prod fail closed without the digests; dev synthesizes tag-only with image-digest warnings', () => {
    for (const name of ['staging', 'prod']) {
      const env = loadEnvironment(name);
      expect(env.images.requireDigests).toBe(true);
      let error: unknown;
      try {
        resolveImages(env, { images: {} }, 'the-lock.json');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UnpinnedImagesError);
      expect((error as Error).message).toContain(`environment "${name}" requires every image pinned by digest`);
      expect((error as Error).message).toContain('  tracking.image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-blueprint/tracking:0.1.0');
      expect((error as Error).message).toContain(`mlops images lock --env ${name}`);
      // One image missing from an otherwise full lock is enough to refuse.
      const full = testImageLock(env);
      const lock = { ...full, images: Object.fromEntries(Object.entries(full.images).filter(([image]) => image !== env.gpu.devicePluginImage)) };
      expect(() => resolveImages(env, lock, 'x')).toThrow(/gpu\.devicePluginImage: nvcr\.io\/nvidia\/k8s-device-plugin:v0\.16\.2/);
      // An operator's inline digest counts as pinned.
      expect(() =>
        resolveImages({ ...env, gpu: { ...env.gpu, devicePluginImage: `${env.gpu.devicePluginImage}@sha256:${'b'.repeat(64)}` } }, lock, 'x'),
      ).not.toThrow();
    }
    const dev = renderEnvironment(loadEnvironment('dev'));
    expect(dev.violations.filter((v) => v.ruleId === 'image-digest').every((v) => v.severity === 'warning')).toBe(true);
    expect(dev.violations.some((v) => v.ruleId === 'image-digest')).toBe(true);
  });

  test('the committed lock holds no digest: none could be resolved where this repository is developed', () => {
    const lock = readImageLock(path.join(__dirname, '../../environments/images.lock.json'));
    expect(lock.images).toEqual({});
    expect(lock.comment).toMatch(/never written by hand/);
  });
});

describe('mlops images lock', () => {
  /** One loopback registry per registry host the built-in environments name, each with their images pushed. */
  const registries = new Map<string, FakeOciRegistry>();
  const mirrorArgs = () => [...registries].flatMap(([host, r]) => ['--mirror', `${host}=${r.url}`]);
  const envs = ENVIRONMENT_NAMES.map((n) => loadEnvironment(n));
  const names = [...new Set(envs.flatMap(environmentImages).map((u) => u.image))];
  beforeAll(async () => {
    for (const name of names) {
      const r = parseImageReference(name);
      if (!registries.has(r.registry)) registries.set(r.registry, await new FakeOciRegistry(`${r.registry}-service`).start());
      registries.get(r.registry)!.push(r.repository, r.tag!, {}, name);
    }
  });
  afterAll(async () => {
    for (const r of registries.values()) await r.stop();
  });

  test('--env all against the registries writes exactly the lock the tests pin with, and synth then accepts staging and prod', async () => {
    expect([...registries.keys()].sort()).toEqual(['123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'docker.io', 'localhost:5001', 'nvcr.io', 'quay.io']);
    const dir = tmp();
    const lock = path.join(dir, 'images.lock.json');
    const home = tmp(); // an empty Docker config: anonymous
    const r = await runMlopsAsync(['images', 'lock', '--env', 'all', '--lock', lock, ...mirrorArgs()], { env: { DOCKER_CONFIG: home } });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(`${names.length} image(s) locked in ${lock}`);
    expect(readImageLock(lock).images).toEqual(testImageLock(...envs).images);
    // A second run changes nothing.
    const again = await runMlopsAsync(['images', 'lock', '--lock', lock, ...mirrorArgs()], { env: { DOCKER_CONFIG: home } });
    expect(again.stdout.split('\n').filter((l) => l.startsWith('unchanged')).length).toBe(names.length);
    const out = path.join(dir, 'dist');
    const synth = runMlops(['synth', '--env', 'all', '--out', out, '--image-lock', lock]);
    expect([synth.status, synth.stderr]).toEqual([0, '']);
    const tracking = fs.readFileSync(
      path.join(
        out,
        'prod',
        fs.readdirSync(path.join(out, 'prod')).find((f) => f.includes('tracking'))!,
      ),
      'utf8',
    );
    expect(tracking).toContain(
      `image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-blueprint/tracking:0.1.0@${syntheticDigest('123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-blueprint/tracking:0.1.0')}`,
    );
  });

  test('any image that cannot be resolved leaves the lock untouched; synth of prod without its digests writes nothing', async () => {
    const dir = tmp();
    const lock = path.join(dir, 'images.lock.json');
    fs.writeFileSync(lock, '{"lockfileVersion":1,"images":{}}\n');
    // nvcr.io pointed at a registry that does not hold the device plugin.
    const r = await runMlopsAsync(
      ['images', 'lock', '--env', 'prod', '--lock', lock, ...mirrorArgs(), '--mirror', `nvcr.io=${registries.get('quay.io')!.url}`],
      { env: { DOCKER_CONFIG: tmp() } },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nvcr\.io\/nvidia\/k8s-device-plugin:v0\.16\.2: /);
    expect(r.stderr.trim().split('\n').pop()).toBe(`mlops: 1 of 4 image(s) could not be resolved; ${lock} was not changed`);
    expect(fs.readFileSync(lock, 'utf8')).toBe('{"lockfileVersion":1,"images":{}}\n');
    const out = path.join(dir, 'dist');
    const synth = runMlops(['synth', '--env', 'prod', '--out', out, '--image-lock', lock]);
    expect(synth.status).toBe(1);
    expect(synth.stderr).toContain('environment "prod" requires every image pinned by digest');
    expect(synth.stderr.trim().split('\n').pop()).toBe('mlops: environment "prod": 5 image(s) not pinned by digest; nothing was written');
    expect(fs.existsSync(out) ? fs.readdirSync(out).filter((f) => !f.startsWith('.')) : []).toEqual([]);
  });

  test('a malformed lock is an error naming the file and the entry', () => {
    const lock = path.join(tmp(), 'bad.json');
    fs.writeFileSync(lock, JSON.stringify({ lockfileVersion: 1, images: { 'quay.io/acme/web:1.0': 'sha256:short' } }));
    const r = runMlops(['synth', '--env', 'dev', '--out', path.join(tmp(), 'dist'), '--image-lock', lock]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`image lock ${lock}: images.quay.io/acme/web:1.0: must be sha256:<64 hex digits>`);
  });
});
