import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { commandAvailable, describeWithTool } from '../helpers/tools';
import { mlflowClients, startTestServer, storeAvailability, storeKinds, tmpDir, type TestServer } from '../tracking/helpers';
import { expectAudit, expectWorkflow, runRegistryScript } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

// s3rver ships no type declarations; this is the part of its API the suite uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ address: string; port: number }>; close(): Promise<void> };

jest.setTimeout(300_000);

const client = mlflowClients[0];
const availability = client.availability.ok
  ? commandAvailable(client.python, ['-c', 'import sklearn, pandas'], `scikit-learn and pandas (${client.python})`)
  : client.availability;

/** The registry workflow with model artifacts in an S3 bucket (s3rver on loopback, as MinIO would be), on each store. */
describeWithTool('model registry with s3:// artifacts and the MLflow 3 client', availability, () => {
  let s3server: InstanceType<typeof S3rver>;
  let s3: S3Client;
  const saved = { ...process.env };

  beforeAll(async () => {
    s3server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: tmpDir('s3rver-registry'), resetOnClose: true });
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
    await s3.send(new CreateBucketCommand({ Bucket: 'models' }));
  });
  afterAll(async () => {
    ifStarted(s3)?.destroy();
    await ifStarted(s3server)?.close();
    // s3rver logs each request when its socket closes; let those late lines flush inside the suite.
    await new Promise((r) => setTimeout(r, 200));
    process.env = saved;
  });

  for (const kind of storeKinds()) {
    describeWithTool(`on ${kind}`, storeAvailability(kind), () => {
      let server: TestServer;
      beforeAll(async () => {
        server = await startTestServer(kind, { artifactsDestination: `s3://models/${kind}` });
      });
      afterAll(async () => ifStarted(server)?.stop());

      test('log, register, promote, alias, load by alias from the bucket and predict', async () => {
        const out = await runRegistryScript(client.python, 'registry_workflow.py', [server.url, 's3-registry', 'churn-predictor']);
        expectWorkflow(out, 3);
        await expectAudit(server.url, 'churn-predictor', out.run_ids);
        // The champion's files are objects in the bucket under the logged model's location.
        const modelId = out.download_uri.split('/models/')[1].split('/')[0];
        const objects = await s3.send(new ListObjectsV2Command({ Bucket: 'models', Prefix: `${kind}/` }));
        const keys = (objects.Contents ?? []).map((o) => o.Key!).filter((k) => k.includes(modelId));
        expect(keys.map((k) => k.split('/artifacts/')[1]).sort()).toEqual(expect.arrayContaining(['MLmodel', 'model.pkl']));
        expect(keys.every((k) => k.startsWith(`${kind}/`) && k.includes(`/models/${modelId}/artifacts/`))).toBe(true);
      });
    });
  }
});
