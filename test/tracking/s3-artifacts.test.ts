import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pythonModulesAvailability } from '../helpers/python';
import { describeWithTool } from '../helpers/tools';
import { api, mlflowClients, runPython, startTestServer, tmpDir, type TestServer } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

// s3rver ships no type declarations; this is the part of its API the suite uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ address: string; port: number }>; close(): Promise<void> };

/** The S3 artifact destination against a real S3-protocol server (s3rver) on loopback, as MinIO would be. */
describe('proxied artifacts on s3://', () => {
  let s3server: InstanceType<typeof S3rver>;
  let server: TestServer;
  let s3: S3Client;
  const saved = { ...process.env };

  beforeAll(async () => {
    s3server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: tmpDir('s3rver'), resetOnClose: true });
    const { port } = await s3server.run();
    // The server reads the endpoint and keys the way MLflow does.
    process.env.MLFLOW_S3_ENDPOINT_URL = `http://127.0.0.1:${port}`;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    s3 = new S3Client({
      endpoint: process.env.MLFLOW_S3_ENDPOINT_URL,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'mlflow' }));
    server = await startTestServer('sqlite', { artifactsDestination: 's3://mlflow/team-a/artifacts' });
  });

  /** A new run's directory under the proxy (`<experiment>/<run>/artifacts`): the proxy acts inside one run's artifacts only. */
  const runDir = async (name: string) => {
    const exp = (await api(server.url, 'POST', '/experiments/create', { name })).body.experiment_id;
    const run = (await api(server.url, 'POST', '/runs/create', { experiment_id: exp })).body.run.info;
    return `${exp}/${run.run_id}/artifacts`;
  };
  afterAll(async () => {
    await ifStarted(server)?.stop();
    ifStarted(s3)?.destroy();
    await ifStarted(s3server)?.close();
    // s3rver logs each request when its socket closes; let those late lines flush inside the suite.
    await new Promise((r) => setTimeout(r, 200));
    process.env = saved;
  });

  test('a 12 MB upload streams through in multipart and downloads byte-identical', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const dir = await runDir('multipart');
    const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${dir}/weights.bin`, { method: 'PUT', body: data });
    expect(put.status).toBe(200);
    const head = await s3.send(new GetObjectCommand({ Bucket: 'mlflow', Key: `team-a/artifacts/${dir}/weights.bin` }));
    expect(head.ContentLength).toBe(data.length);
    const got = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${dir}/weights.bin`);
    const hash = createHash('sha256');
    for await (const chunk of Readable.fromWeb(got.body as any)) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  test('list, delete, missing object and traversal', async () => {
    const dir = await runDir('list-delete');
    await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${dir}/a/x.txt`, { method: 'PUT', body: 'x' });
    await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${dir}/a/sub/y.txt`, { method: 'PUT', body: 'yy' });
    const list = await api(server.url, 'GET', '/artifacts', { path: `${dir}/a` }, '/api/2.0/mlflow-artifacts');
    expect(list.body.files).toEqual([
      { path: 'sub', is_dir: true },
      { path: 'x.txt', is_dir: false, file_size: 1 },
    ]);
    expect((await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${dir}/a`, { method: 'DELETE' })).status).toBe(200);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: 'mlflow', Prefix: `team-a/artifacts/${dir}/` }));
    expect(left.Contents ?? []).toEqual([]);
    const missing = await api(server.url, 'GET', `/artifacts/${dir}/a/x.txt`, undefined, '/api/2.0/mlflow-artifacts');
    expect(missing).toEqual({ status: 404, body: expect.objectContaining({ error_code: 'RESOURCE_DOES_NOT_EXIST' }) });
    const traversal = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/%252e%252e%252fother-team%252fx`, { method: 'PUT', body: 'x' });
    expect(traversal.status).toBe(400);
  });

  const client = mlflowClients[0];
  describeWithTool('with the MLflow client', pythonModulesAvailability(['mlflow']), () => {
    test('log_artifact(s) land in the bucket under the run', async () => {
      const out = await runPython(client.python, 'client_workflow.py', [server.url, 's3-exp', tmpDir('s3client')]);
      expect(out.big_ok).toBe(true);
      expect(out.top_level).toEqual(['model.json', 'plots']);
      const objects = await s3.send(new ListObjectsV2Command({ Bucket: 'mlflow', Prefix: `team-a/artifacts/${out.experiment_id}/${out.run_id}/artifacts/` }));
      expect((objects.Contents ?? []).map((o) => path.basename(o.Key!)).sort()).toEqual(['big.bin', 'loss.txt', 'model.json']);
    });
  });
});
