import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sql } from 'kysely';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN, call, createUser, type Credentials, type Res } from '../auth/helpers';
import { describeWithTool } from '../helpers/tools';
import { storeAvailability, storeKinds, tmpDir } from '../tracking/helpers';
import {
  SECRET,
  expectRefused,
  experimentWithRun,
  filesUnder,
  proxiedUrlPath,
  rawRequest,
  startArtifactServer,
  upload,
  type ArtifactServer,
} from './artifacts-helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * Issue 14, findings 1–3 and the artifact part of 5, replayed as an attacker would against a real
 * server with `--app-name basic-auth`: `mallory` is a logged-in user with no permission on anything
 * but what she creates; `alice` is the victim. Every file an attack aims at is checked afterwards.
 */

// s3rver ships no type declarations; this is the part of its API the suite uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ address: string; port: number }>; close(): Promise<void> };

const ALICE_NOTES = 'alice private notes 7c1e\n';
let names = 0;
const uniqueName = (prefix: string) => `${prefix}-${++names}`;

function createExperiment(s: ArtifactServer, who: Credentials | null, location: string): Promise<Res> {
  return call(s.url, who, 'POST', '/experiments/create', { name: uniqueName('exp'), artifact_location: location });
}

async function experimentNames(s: ArtifactServer): Promise<string[]> {
  const res = await call(s.url, ADMIN, 'POST', '/experiments/search', { max_results: 1000, view_type: 'ALL' });
  return (res.body.experiments ?? []).map((e: { name: string }) => e.name).sort();
}

/** Sets a run's stored artifact_uri straight in the store's table, as an old or tampered row would have it. */
async function setRunArtifactUri(s: ArtifactServer, runId: string, uri: string): Promise<void> {
  await s.context.connection.db.updateTable('runs').set({ artifact_uri: uri }).where('run_uuid', '=', runId).execute();
}

// One S3-protocol server (s3rver) on loopback for the file; every server below reads its endpoint as MLflow does.
let s3server: InstanceType<typeof S3rver>;
let s3: S3Client;
const s3dir = tmpDir('security-s3rver');
const savedEnv = { ...process.env };
beforeAll(async () => {
  s3server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir, resetOnClose: true });
  const { port } = await s3server.run();
  process.env.MLFLOW_S3_ENDPOINT_URL = `http://127.0.0.1:${port}`;
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  s3 = new S3Client({
    endpoint: process.env.MLFLOW_S3_ENDPOINT_URL,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  for (const bucket of ['mlflow', 'shared', 'other-bucket']) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await putObject('other-bucket', 'x/secret.txt', SECRET);
});
afterAll(async () => {
  ifStarted(s3)?.destroy();
  await ifStarted(s3server)?.close();
  // s3rver logs each request when its socket closes; let those late lines flush inside the suite.
  await new Promise((r) => setTimeout(r, 200));
  fs.rmSync(s3dir, { recursive: true, force: true });
  process.env = savedEnv;
});

async function putObject(bucket: string, key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function keysIn(bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    out.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

for (const kind of storeKinds()) {
  describeWithTool(`artifact containment on the ${kind} store with basic-auth`, storeAvailability(kind), () => {
    let s: ArtifactServer;
    let alice: Credentials;
    let mallory: Credentials;
    let victim: { exp: string; run: string; artifactUri: string };
    let own: { exp: string; run: string; artifactUri: string };
    const victimFile = () => path.join(s.layout.dest, victim.exp, victim.run, 'artifacts', 'notes.txt');
    const ownDir = () => path.join(s.layout.dest, own.exp, own.run, 'artifacts');

    beforeAll(async () => {
      s = await startArtifactServer(kind);
      alice = await createUser(s, 'alice');
      mallory = await createUser(s, 'mallory');
      victim = await experimentWithRun(s.url, alice, 'alice-exp');
      await upload(s.url, alice, victim.artifactUri, 'notes.txt', ALICE_NOTES);
      own = await experimentWithRun(s.url, mallory, 'mallory-exp');
      await upload(s.url, mallory, own.artifactUri, 'mine.txt', 'mallory\n');
    });
    afterAll(() => ifStarted(s)?.stop());

    describe('finding 1: artifact_location', () => {
      test('a location with a query, fragment or params is 400 INVALID_PARAMETER_VALUE, for admins too', async () => {
        const locations = [
          'file:///etc?x',
          'file:///etc#x',
          'file:///etc/?',
          'file:///etc/#',
          's3://other-bucket/x?',
          's3://shared/prefix/x?versionId=1',
          `file://${s.layout.wide}/team?`,
          `file://${s.layout.wide}/team;type=d`,
          'mlflow-artifacts:/team/x#top',
        ];
        const before = await experimentNames(s);
        const got: unknown[] = [];
        for (const who of [mallory, ADMIN]) {
          for (const location of locations) {
            const res = await createExperiment(s, who, location);
            got.push({ who: who.username, location, status: res.status, code: res.body.error_code });
          }
        }
        expect(got).toEqual(
          [mallory, ADMIN].flatMap((who) => locations.map((location) => ({ who: who.username, location, status: 400, code: 'INVALID_PARAMETER_VALUE' }))),
        );
        expect(await experimentNames(s)).toEqual(before);
      });

      test('a non-admin gets the server-assigned directory only: every location she picks is refused, the allow-list with 403', async () => {
        const { wide, dest, storeDir, outside } = s.layout;
        const refusedLocations = [
          'file:///etc',
          '/etc',
          'FILE:///etc',
          'file://localhost/etc',
          `file://${outside}`,
          `file://${storeDir}`,
          `file://${dest}`,
          `file://${dest}/${victim.exp}/${victim.run}/artifacts`,
          'mlflow-artifacts:/',
          `mlflow-artifacts:/${victim.exp}`,
          `mlflow-artifacts:/${victim.exp}/${victim.run}/artifacts`,
          'mlflow-artifacts:/team-x',
          's3://other-bucket/x',
          `runs:/${victim.run}/artifacts`,
          'http://evil.example/x',
          'relative/dir',
        ];
        const before = await experimentNames(s);
        for (const location of refusedLocations) expectRefused(await createExperiment(s, mallory, location), `mallory creates ${location}`);
        for (const location of [`file://${wide}/mine`, 's3://shared/prefix/mine'])
          expectRefused(await createExperiment(s, mallory, location), `mallory uses the admins' allow-list: ${location}`, 403);
        expect(await experimentNames(s)).toEqual(before);

        // Her own, server-assigned directory works end to end.
        expect(own.artifactUri).toBe(`mlflow-artifacts:/${own.exp}/${own.run}/artifacts`);
        const res = await fetch(`${s.url}/get-artifact?${new URLSearchParams({ run_id: own.run, path: 'mine.txt' }).toString()}`, {
          headers: { authorization: `Basic ${Buffer.from(`${mallory.username}:${mallory.password}`).toString('base64')}` },
        });
        expect([res.status, await res.text()]).toEqual([200, 'mallory\n']);
      });

      test('an admin may use the proxied root and the allow-list, never the store itself, a run directory or a look-alike prefix', async () => {
        const { wide, dest, storeDir, wideEvil } = s.layout;
        fs.mkdirSync(path.join(wide, 'links'), { recursive: true });
        fs.symlinkSync(s.layout.outside, path.join(wide, 'links', 'to-outside'));
        const accepted = [
          `file://${wide}/team-a`,
          `${wide}/team-b`,
          `file://${wide}/team-c/`,
          'mlflow-artifacts:/shared/team-a',
          's3://shared/prefix/team-a',
          's3://shared/prefix',
        ];
        for (const location of accepted) {
          const res = await createExperiment(s, ADMIN, location);
          expect({ location, status: res.status }).toEqual({ location, status: 200 });
        }
        const teamA = await experimentWithRun(s.url, ADMIN, uniqueName('admin'), `file://${wide}/team-d`);
        const refusedLocations = [
          `file://${wide}`,
          // The SQLite store's folder (PostgreSQL has none on this machine's disk).
          ...(kind === 'sqlite' ? [`file://${storeDir}`] : []),
          `file://${dest}`,
          `file://${dest}/7`,
          `file://${wideEvil}`,
          `file://${wide}-evil/x`,
          `file://${wide}/../outside`,
          `file://${wide}/%2e%2e/outside`,
          `file://${wide}/%252e%252e/outside`,
          `file://${wide}/a/./b`,
          `file://${wide}/links/to-outside/x`,
          teamA.artifactUri,
          `${teamA.artifactUri}/sub`,
          'mlflow-artifacts:/',
          'mlflow-artifacts:/../x',
          'mlflow-artifacts:/%2e%2e/x',
          'mlflow-artifacts:/5',
          `mlflow-artifacts:/${victim.exp}`,
          `mlflow-artifacts:/${victim.exp}/${victim.run}/artifacts/sub`,
          's3://shared/prefix-evil',
          's3://shared/prefix-evil/x',
          's3://shared/prefix/../x',
          's3://shared/prefix/%2e%2e/x',
          's3://shared//prefix/x',
          's3://SHARED/prefix/x',
          's3://other-bucket/x',
          'file:///etc',
          `file://${wide}/${'a'.repeat(2100)}`,
        ];
        const before = await experimentNames(s);
        for (const location of refusedLocations) expectRefused(await createExperiment(s, ADMIN, location), `admin creates ${location}`, 400);
        expect(await experimentNames(s)).toEqual(before);
      });
    });

    describe('finding 1, independently: a stored artifact root outside the run is refused on every read', () => {
      const secrets = () => [
        { uri: 'file:///etc?x', file: 'passwd', secret: 'root:' },
        { uri: 'file:///etc#x', file: 'passwd', secret: 'root:' },
        { uri: 'file:///etc', file: 'passwd', secret: 'root:' },
        { uri: `file://${s.layout.outside}`, file: 'secret.txt', secret: SECRET.trim() },
        { uri: `file://${s.layout.outside}/${own.run}/artifacts`, file: 'secret.txt', secret: SECRET.trim() },
        { uri: `file://${s.layout.wideEvil}`, file: 'secret.txt', secret: SECRET.trim() },
        { uri: `file://${s.layout.dest}`, file: `${victim.exp}/${victim.run}/artifacts/notes.txt`, secret: ALICE_NOTES.trim() },
        { uri: `file://${s.layout.dest}/${victim.exp}/${victim.run}/artifacts`, file: 'notes.txt', secret: ALICE_NOTES.trim() },
        { uri: `mlflow-artifacts:/${victim.exp}/${victim.run}/artifacts`, file: 'notes.txt', secret: ALICE_NOTES.trim() },
        { uri: 'mlflow-artifacts:/', file: `${victim.exp}/${victim.run}/artifacts/notes.txt`, secret: ALICE_NOTES.trim() },
        { uri: `mlflow-artifacts:/${victim.exp}`, file: `${victim.run}/artifacts/notes.txt`, secret: ALICE_NOTES.trim() },
        { uri: 'mlflow-artifacts:/../../outside', file: 'secret.txt', secret: SECRET.trim() },
        ...(kind === 'sqlite' ? [{ uri: `file://${s.layout.storeDir}`, file: 'mlflow.db', secret: 'SQLite format' }] : []),
      ];
      beforeAll(() => fs.mkdirSync(path.join(s.layout.outside, own.run, 'artifacts'), { recursive: true }));
      beforeAll(() => fs.writeFileSync(path.join(s.layout.outside, own.run, 'artifacts', 'secret.txt'), SECRET));
      afterAll(() => setRunArtifactUri(s, own.run, own.artifactUri));

      test('/get-artifact and artifacts/list (API and UI prefixes) refuse a hostile run artifact_uri', async () => {
        for (const { uri, file, secret } of secrets()) {
          await setRunArtifactUri(s, own.run, uri);
          const dir = path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file);
          expectRefused(
            await call(s.url, mallory, 'GET', '', { run_id: own.run, path: file }, '/get-artifact'),
            `get-artifact ${uri} ${file}`,
            undefined,
            secret,
          );
          for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
            expectRefused(
              await call(s.url, mallory, 'GET', '/artifacts/list', { run_id: own.run, path: dir }, prefix),
              `${prefix}/artifacts/list ${uri} ${dir}`,
              undefined,
              path.posix.basename(file),
            );
          }
        }
        expect(fs.readFileSync(victimFile(), 'utf8')).toBe(ALICE_NOTES);
      });

      test('logged-model artifact listing refuses a hostile stored location, and one inherited from a tampered experiment', async () => {
        const created = await call(s.url, mallory, 'POST', '/logged-models', { experiment_id: own.exp, name: 'm' });
        expect(created.status).toBe(200);
        const modelId = created.body.model.info.model_id;
        const modelShaped = { uri: `file://${s.layout.outside}/models/${modelId}/artifacts`, file: 'secret.txt', secret: SECRET.trim() };
        fs.mkdirSync(path.join(s.layout.outside, 'models', modelId, 'artifacts'), { recursive: true });
        fs.writeFileSync(path.join(s.layout.outside, 'models', modelId, 'artifacts', 'secret.txt'), SECRET);
        for (const { uri, file } of [...secrets(), modelShaped]) {
          await sql`UPDATE logged_models SET artifact_location = ${uri} WHERE model_id = ${modelId}`.execute(s.context.connection.db);
          const dir = path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file);
          expectRefused(
            await call(s.url, mallory, 'GET', `/logged-models/${modelId}/artifacts/directories`, { artifact_directory_path: dir }),
            `logged model at ${uri}`,
            undefined,
            path.posix.basename(file),
          );
        }
        // An experiment row changed in the database: what is derived from it is refused too.
        const tampered = await experimentWithRun(s.url, mallory, uniqueName('tampered'));
        await s.context.connection.db
          .updateTable('experiments')
          .set({ artifact_location: 'file:///etc' })
          .where('experiment_id', '=', Number(tampered.exp))
          .execute();
        const run = await call(s.url, mallory, 'POST', '/runs/create', { experiment_id: tampered.exp });
        expectRefused(
          await call(s.url, mallory, 'GET', '/artifacts/list', { run_id: run.body.run.info.run_id }),
          'run under a tampered experiment',
          undefined,
          'passwd',
        );
        const model = await call(s.url, mallory, 'POST', '/logged-models', { experiment_id: tampered.exp, name: 'm2' });
        expectRefused(
          await call(s.url, mallory, 'GET', `/logged-models/${model.body.model.info.model_id}/artifacts/directories`, {}),
          'logged model under a tampered experiment',
          undefined,
          'passwd',
        );
      });
    });

    describe('finding 2: the proxy never acts on the destination root or above one run', () => {
      const rootPaths = ['//', '/%2e', '/%2e%2f', '/.', '/./', '/%2E/', '/%252e', '/.%2f.', '/', ''];
      test.each(['GET', 'PUT', 'DELETE'])('%s on an empty or root path is 400 and the destination is intact', async (method) => {
        const before = filesUnder(s.layout.dest);
        for (const prefix of ['/api/2.0/mlflow-artifacts/artifacts', '/ajax-api/2.0/mlflow-artifacts/artifacts']) {
          for (const p of rootPaths) {
            for (const who of [ADMIN, mallory]) {
              const res = await rawRequest(s.url, who, method, `${prefix}${p}`, method === 'PUT' ? 'x' : undefined);
              if (who === ADMIN) expectRefused(res, `${who.username} ${method} ${prefix}${p}`, 400);
              else expectRefused(res, `${who.username} ${method} ${prefix}${p}`);
            }
          }
        }
        expect(fs.existsSync(s.layout.dest)).toBe(true);
        expect(filesUnder(s.layout.dest)).toEqual(before);
      });

      test('listing the destination root is 400', async () => {
        for (const q of ['', '?path=', '?path=.', '?path=%2e', '?path=%2F']) {
          expectRefused(await rawRequest(s.url, ADMIN, 'GET', `/api/2.0/mlflow-artifacts/artifacts${q}`), `list ${q}`, 400);
        }
      });

      test('a delete above one run, or outside every run, is 400; deleting one run root leaves the others', async () => {
        const before = filesUnder(s.layout.dest);
        for (const p of [
          victim.exp,
          `${victim.exp}/${victim.run}`,
          `${victim.exp}/models`,
          own.exp,
          `${own.exp}/${own.run}`,
          `${own.exp}/${own.run}/`,
          'shared',
          `${own.exp}/unknown/artifacts`,
        ]) {
          expectRefused(await rawRequest(s.url, ADMIN, 'DELETE', `/api/2.0/mlflow-artifacts/artifacts/${p}`), `admin DELETE ${p}`, 400);
        }
        for (const p of ['shared/x.txt', `${own.exp}/x.txt`, `${own.exp}/unknown/artifacts/x.txt`]) {
          expectRefused(await rawRequest(s.url, ADMIN, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/${p}`, 'x'), `admin PUT ${p}`, 400);
        }
        expect(filesUnder(s.layout.dest)).toEqual(before);

        const scratch = await experimentWithRun(s.url, mallory, uniqueName('scratch'));
        await upload(s.url, mallory, scratch.artifactUri, 'a/b.txt', 'b');
        const res = await rawRequest(s.url, mallory, 'DELETE', proxiedUrlPath(scratch.artifactUri));
        expect(res.status).toBe(200);
        expect(fs.existsSync(path.join(s.layout.dest, scratch.exp, scratch.run, 'artifacts'))).toBe(false);
        expect(fs.readFileSync(victimFile(), 'utf8')).toBe(ALICE_NOTES);
        expect(fs.existsSync(path.join(ownDir(), 'mine.txt'))).toBe(true);
      });
    });

    describe('symlinks inside the store are never followed', () => {
      let linked: { exp: string; run: string; artifactUri: string };
      beforeAll(async () => {
        fs.symlinkSync('/etc', path.join(ownDir(), 'etc'));
        fs.symlinkSync(path.dirname(victimFile()), path.join(ownDir(), 'other'));
        fs.symlinkSync(s.layout.dest, path.join(ownDir(), 'up'));
        fs.symlinkSync('..', path.join(ownDir(), 'parent'));
        fs.symlinkSync(s.layout.outside, path.join(ownDir(), 'sub'));
        // A second run whose whole run directory is a link to a directory outside the store.
        linked = await experimentWithRun(s.url, mallory, uniqueName('linked'));
        const fake = path.join(s.layout.outside, 'fake-run');
        fs.mkdirSync(path.join(fake, 'artifacts'), { recursive: true });
        fs.writeFileSync(path.join(fake, 'artifacts', 'secret.txt'), SECRET);
        fs.mkdirSync(path.join(s.layout.dest, linked.exp), { recursive: true });
        fs.symlinkSync(fake, path.join(s.layout.dest, linked.exp, linked.run));
      });
      const reads = () => [
        { rel: 'etc/passwd', secret: 'root:' },
        { rel: 'other/notes.txt', secret: ALICE_NOTES.trim() },
        { rel: `up/${victim.exp}/${victim.run}/artifacts/notes.txt`, secret: ALICE_NOTES.trim() },
        { rel: 'parent/artifacts/mine.txt', secret: 'mallory' },
        { rel: 'sub/secret.txt', secret: SECRET.trim() },
      ];

      test('GET through the proxy and /get-artifact refuse a path through a link', async () => {
        for (const { rel, secret } of reads()) {
          expectRefused(await rawRequest(s.url, mallory, 'GET', proxiedUrlPath(own.artifactUri, rel)), `proxy GET ${rel}`, undefined, secret);
          expectRefused(await call(s.url, mallory, 'GET', '', { run_id: own.run, path: rel }, '/get-artifact'), `get-artifact ${rel}`, undefined, secret);
        }
        expectRefused(await rawRequest(s.url, mallory, 'GET', proxiedUrlPath(linked.artifactUri, 'secret.txt')), 'proxy GET through a linked run directory');
        expectRefused(
          await call(s.url, mallory, 'GET', '', { run_id: linked.run, path: 'secret.txt' }, '/get-artifact'),
          'get-artifact through a linked run directory',
        );
      });

      test('LIST refuses a linked directory and does not show links', async () => {
        for (const dir of ['etc', 'other', 'up', 'parent', 'sub']) {
          expectRefused(await call(s.url, mallory, 'GET', '/artifacts/list', { run_id: own.run, path: dir }), `artifacts/list ${dir}`, undefined, 'secret.txt');
          expectRefused(
            await call(s.url, mallory, 'GET', '/artifacts', { path: `${own.exp}/${own.run}/artifacts/${dir}` }, '/api/2.0/mlflow-artifacts'),
            `proxy list ${dir}`,
            undefined,
            'secret.txt',
          );
        }
        const top = await call(s.url, mallory, 'GET', '/artifacts/list', { run_id: own.run });
        expect(top.status).toBe(200);
        expect(top.body.files.map((f: { path: string }) => f.path)).toEqual(['mine.txt']);
        expectRefused(
          await call(s.url, mallory, 'GET', '/artifacts/list', { run_id: linked.run }),
          'artifacts/list of a linked run directory',
          undefined,
          'secret.txt',
        );
      });

      test('PUT and DELETE through a link are refused and touch nothing outside', async () => {
        const outsideBefore = filesUnder(s.layout.outside);
        const destBefore = filesUnder(s.layout.dest);
        for (const rel of ['sub/evil.txt', 'other/evil.txt', 'up/evil.txt', 'etc/evil.txt', 'sub/secret.txt']) {
          expectRefused(await rawRequest(s.url, mallory, 'PUT', proxiedUrlPath(own.artifactUri, rel), 'evil'), `PUT ${rel}`);
        }
        for (const rel of ['other', 'other/notes.txt', 'sub', 'sub/secret.txt', 'up', 'parent']) {
          expectRefused(await rawRequest(s.url, mallory, 'DELETE', proxiedUrlPath(own.artifactUri, rel)), `DELETE ${rel}`);
        }
        expectRefused(await rawRequest(s.url, mallory, 'PUT', proxiedUrlPath(linked.artifactUri, 'evil.txt'), 'evil'), 'PUT into a linked run directory');
        expectRefused(await rawRequest(s.url, mallory, 'DELETE', proxiedUrlPath(linked.artifactUri, 'secret.txt')), 'DELETE in a linked run directory');
        expectRefused(await rawRequest(s.url, mallory, 'DELETE', proxiedUrlPath(linked.artifactUri)), 'DELETE a linked run directory');
        expect(filesUnder(s.layout.outside)).toEqual(outsideBefore);
        expect(filesUnder(s.layout.dest)).toEqual(destBefore);
        expect(fs.readFileSync(victimFile(), 'utf8')).toBe(ALICE_NOTES);
        expect(fs.readFileSync('/etc/passwd', 'utf8')).toContain('root:');
      });
    });

    describe('finding 5: oversized artifact paths are a fast 400', () => {
      const long = 'a'.repeat(5000);
      test.each(['PUT', 'GET', 'DELETE'])('%s with a 5,000-character segment, a path over 1,024 bytes or over 64 segments', async (method) => {
        const bodies = method === 'PUT' ? 'x' : undefined;
        for (const rel of [
          long,
          `dir/${long}/f.txt`,
          Array.from({ length: 12 }, () => 'b'.repeat(100)).join('/'),
          Array.from({ length: 65 }, () => 'c').join('/'),
          'é'.repeat(200),
        ]) {
          expectRefused(
            await rawRequest(s.url, mallory, method, proxiedUrlPath(own.artifactUri, rel), bodies),
            `${method} ${rel.slice(0, 20)}… (${rel.length})`,
            400,
          );
        }
      });

      test('the run- and model-relative endpoints cap the path the same way', async () => {
        expectRefused(await call(s.url, mallory, 'GET', '', { run_id: own.run, path: long }, '/get-artifact'), 'get-artifact', 400);
        expectRefused(await call(s.url, mallory, 'GET', '/artifacts/list', { run_id: own.run, path: long }), 'artifacts/list', 400);
        expectRefused(
          await call(s.url, mallory, 'GET', '/artifacts', { path: `${own.exp}/${own.run}/artifacts/${long}` }, '/api/2.0/mlflow-artifacts'),
          'proxy list',
          400,
        );
        const model = await call(s.url, mallory, 'POST', '/logged-models', { experiment_id: own.exp, name: 'capped' });
        expectRefused(
          await call(s.url, mallory, 'GET', `/logged-models/${model.body.model.info.model_id}/artifacts/directories`, { artifact_directory_path: long }),
          'logged-model directories',
          400,
        );
      });

      test('a 255-byte segment within the caps still works', async () => {
        const rel = `${'d'.repeat(255)}/${'é'.repeat(125)}.txt`;
        expect((await rawRequest(s.url, mallory, 'PUT', proxiedUrlPath(own.artifactUri, rel), 'ok')).status).toBe(200);
        const got = await rawRequest(s.url, mallory, 'GET', proxiedUrlPath(own.artifactUri, rel));
        expect([got.status, got.body]).toEqual([200, 'ok']);
      });
    });
  });

  describeWithTool(`artifact locations without auth on the ${kind} store`, storeAvailability(kind), () => {
    let s: ArtifactServer;
    beforeAll(async () => {
      s = await startArtifactServer(kind, { auth: false });
    });
    afterAll(() => ifStarted(s)?.stop());

    test('single-user mode accepts the configured roots and the allow-list, nothing else', async () => {
      for (const location of [`file://${s.layout.wide}/team`, 'mlflow-artifacts:/team/x', 's3://shared/prefix/x']) {
        expect({ location, status: (await createExperiment(s, null, location)).status }).toEqual({ location, status: 200 });
      }
      for (const location of [
        'file:///etc',
        'file:///etc?x',
        ...(kind === 'sqlite' ? [`file://${s.layout.storeDir}`] : []),
        `file://${s.layout.dest}`,
        'mlflow-artifacts:/',
        's3://other-bucket/x',
        `file://${s.layout.wideEvil}`,
      ]) {
        expectRefused(await createExperiment(s, null, location), `create ${location}`, 400);
      }
    });

    test('DELETE of the destination root is 400 without auth too', async () => {
      const exp = await experimentWithRun(s.url, ADMIN, uniqueName('solo'));
      await upload(s.url, ADMIN, exp.artifactUri, 'keep.txt', 'keep');
      for (const p of ['//', '/%2e', '/%2e%2f', '/.', '/', ''])
        expectRefused(await rawRequest(s.url, null, 'DELETE', `/api/2.0/mlflow-artifacts/artifacts${p}`), `DELETE ${p}`, 400);
      expect(fs.readFileSync(path.join(s.layout.dest, exp.exp, exp.run, 'artifacts', 'keep.txt'), 'utf8')).toBe('keep');
    });
  });

  describeWithTool(`a symlinked --artifacts-destination on the ${kind} store`, storeAvailability(kind), () => {
    let s: ArtifactServer;
    let real: string;
    beforeAll(async () => {
      s = await startArtifactServer(kind, {
        auth: false,
        server: (layout) => {
          real = path.join(layout.base, 'real-dest');
          fs.mkdirSync(real);
          fs.symlinkSync(real, path.join(layout.base, 'link-dest'));
          return { artifactsDestination: path.join(layout.base, 'link-dest') };
        },
      });
    });
    afterAll(() => ifStarted(s)?.stop());

    test('the operator’s link is resolved once at start: PUT, GET, LIST and DELETE work', async () => {
      const exp = await experimentWithRun(s.url, ADMIN, uniqueName('linked-root'));
      await upload(s.url, ADMIN, exp.artifactUri, 'd/f.txt', 'through the link');
      expect(fs.readFileSync(path.join(real, exp.exp, exp.run, 'artifacts', 'd', 'f.txt'), 'utf8')).toBe('through the link');
      const got = await rawRequest(s.url, null, 'GET', proxiedUrlPath(exp.artifactUri, 'd/f.txt'));
      expect([got.status, got.body]).toEqual([200, 'through the link']);
      const list = await call(s.url, null, 'GET', '/artifacts/list', { run_id: exp.run, path: 'd' });
      expect(list.body.files).toEqual([{ path: 'd/f.txt', is_dir: false, file_size: 16 }]);
      expect((await rawRequest(s.url, null, 'DELETE', proxiedUrlPath(exp.artifactUri, 'd'))).status).toBe(200);
      expect(fs.existsSync(path.join(real, exp.exp, exp.run, 'artifacts', 'd'))).toBe(false);
    });
  });

  describeWithTool(`S3 artifact containment on the ${kind} store with basic-auth`, storeAvailability(kind), () => {
    let s: ArtifactServer;
    let alice: Credentials;
    let mallory: Credentials;
    let victim: { exp: string; run: string; artifactUri: string };
    let own: { exp: string; run: string; artifactUri: string };
    const dest = `${kind}/team-a`;
    beforeAll(async () => {
      s = await startArtifactServer(kind, { server: () => ({ artifactsDestination: `s3://mlflow/${dest}` }) });
      alice = await createUser(s, 'alice');
      mallory = await createUser(s, 'mallory');
      victim = await experimentWithRun(s.url, alice, 'alice-exp');
      await upload(s.url, alice, victim.artifactUri, 'notes.txt', ALICE_NOTES);
      own = await experimentWithRun(s.url, mallory, 'mallory-exp');
      await putObject('mlflow', `${kind}/team-b/keep.txt`, 'other team');
      await putObject('mlflow', `${kind}/team-a-evil/${own.run}/artifacts/secret.txt`, SECRET);
      await putObject('shared', `prefix-evil/${own.run}/artifacts/secret.txt`, SECRET);
      await putObject('other-bucket', `x/${own.run}/artifacts/secret.txt`, SECRET);
    });
    afterAll(() => ifStarted(s)?.stop());

    test('an upload lands under the run prefix, and a key never leaves it', async () => {
      await upload(s.url, mallory, own.artifactUri, 'a/b.txt', 'b');
      expect(await keysIn('mlflow', `${dest}/${own.exp}/`)).toEqual([`${dest}/${own.exp}/${own.run}/artifacts/a/b.txt`]);
      for (const rel of ['../../x.txt', '%2e%2e/%2e%2e/x.txt', 'a/%252e%252e/%252e%252e/x.txt']) {
        expectRefused(await rawRequest(s.url, mallory, 'PUT', `${proxiedUrlPath(own.artifactUri)}/${rel}`, 'x'), `PUT ${rel}`, 400);
      }
      expect(await keysIn('mlflow', `${dest}/${own.exp}/`)).toEqual([`${dest}/${own.exp}/${own.run}/artifacts/a/b.txt`]);
    });

    test('root paths and deletes above one run are 400; deleting one run root removes only its keys', async () => {
      const before = await keysIn('mlflow');
      for (const method of ['GET', 'PUT', 'DELETE']) {
        for (const p of ['//', '/%2e', '/%2e%2f', '/.', '/', '']) {
          expectRefused(
            await rawRequest(s.url, ADMIN, method, `/api/2.0/mlflow-artifacts/artifacts${p}`, method === 'PUT' ? 'x' : undefined),
            `${method} ${p}`,
            400,
          );
        }
      }
      for (const p of [victim.exp, `${victim.exp}/${victim.run}`, own.exp])
        expectRefused(await rawRequest(s.url, ADMIN, 'DELETE', `/api/2.0/mlflow-artifacts/artifacts/${p}`), `DELETE ${p}`, 400);
      expect(await keysIn('mlflow')).toEqual(before);

      const scratch = await experimentWithRun(s.url, mallory, uniqueName('scratch'));
      await upload(s.url, mallory, scratch.artifactUri, 'f.txt', 'f');
      expect((await rawRequest(s.url, mallory, 'DELETE', proxiedUrlPath(scratch.artifactUri))).status).toBe(200);
      expect(await keysIn('mlflow')).toEqual(before);
    });

    test("a stored s3:// artifact root outside the run is refused; an admin's allow-listed bucket is read", async () => {
      for (const uri of [
        's3://other-bucket/x',
        `s3://other-bucket/x/${own.run}/artifacts`,
        `s3://shared/prefix-evil/${own.run}/artifacts`,
        `s3://mlflow/${kind}/team-a-evil/${own.run}/artifacts`,
        `s3://mlflow/${dest}/${victim.exp}/${victim.run}/artifacts`,
        `s3://mlflow/${kind}/team-b`,
      ]) {
        await setRunArtifactUri(s, own.run, uri);
        const file = uri.endsWith('/artifacts') ? (uri.includes(victim.run) ? 'notes.txt' : 'secret.txt') : uri.endsWith('team-b') ? 'keep.txt' : 'secret.txt';
        expectRefused(
          await call(s.url, mallory, 'GET', '', { run_id: own.run, path: file }, '/get-artifact'),
          `get-artifact ${uri}`,
          undefined,
          file === 'notes.txt' ? ALICE_NOTES.trim() : file === 'keep.txt' ? 'other team' : SECRET.trim(),
        );
        expectRefused(await call(s.url, mallory, 'GET', '/artifacts/list', { run_id: own.run }), `artifacts/list ${uri}`, undefined, file);
      }
      await setRunArtifactUri(s, own.run, own.artifactUri);

      expectRefused(await createExperiment(s, ADMIN, 's3://shared/prefix-evil'), 'admin creates s3://shared/prefix-evil', 400);
      const team = await experimentWithRun(s.url, ADMIN, uniqueName('s3-team'), 's3://shared/prefix/team');
      expect(team.artifactUri).toBe(`s3://shared/prefix/team/${team.run}/artifacts`);
      await putObject('shared', `prefix/team/${team.run}/artifacts/report.txt`, 'direct s3');
      const got = await call(s.url, ADMIN, 'GET', '', { run_id: team.run, path: 'report.txt' }, '/get-artifact');
      expect([got.status, got.body]).toEqual([200, 'direct s3']);
      const list = await call(s.url, ADMIN, 'GET', '/artifacts/list', { run_id: team.run });
      expect(list.body.files).toEqual([{ path: 'report.txt', is_dir: false, file_size: 9 }]);
    });
  });

  describeWithTool(`a direct --default-artifact-root on the ${kind} store with basic-auth`, storeAvailability(kind), () => {
    let s: ArtifactServer;
    let mallory: Credentials;
    let root: string;
    beforeAll(async () => {
      s = await startArtifactServer(kind, {
        server: (layout) => {
          root = path.join(layout.wide, 'mlruns');
          return { defaultArtifactRoot: `file://${root}` };
        },
      });
      mallory = await createUser(s, 'mallory');
    });
    afterAll(() => ifStarted(s)?.stop());

    test('a non-admin may name a fresh directory under it; numbered ones, the root itself and other runs are refused', async () => {
      const assigned = await experimentWithRun(s.url, mallory, uniqueName('assigned'));
      expect(assigned.artifactUri).toBe(`file://${root}/${assigned.exp}/${assigned.run}/artifacts`);
      const named = await experimentWithRun(s.url, mallory, uniqueName('named'), `file://${root}/team-m`);
      expect(named.artifactUri).toBe(`file://${root}/team-m/${named.run}/artifacts`);
      fs.mkdirSync(path.join(root, 'team-m', named.run, 'artifacts'), { recursive: true });
      fs.writeFileSync(path.join(root, 'team-m', named.run, 'artifacts', 'r.txt'), 'named');
      const got = await call(s.url, mallory, 'GET', '', { run_id: named.run, path: 'r.txt' }, '/get-artifact');
      expect([got.status, got.body]).toEqual([200, 'named']);

      for (const location of [`file://${root}`, `file://${root}/3`, `file://${root}/${assigned.exp}`, named.artifactUri, `${named.artifactUri}/x`]) {
        expectRefused(await createExperiment(s, mallory, location), `mallory creates ${location}`, 400);
      }
      for (const location of [`file://${s.layout.wide}/elsewhere`, `file://${root}-x/y`])
        expectRefused(await createExperiment(s, mallory, location), `mallory uses the allow-list: ${location}`, 403);
      expectRefused(await createExperiment(s, mallory, 'mlflow-artifacts:/team-m'), 'mallory picks a proxied location', 403);
    });
  });
}
