import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN, as, createUser, startAuthServer, type AuthTestServer } from '../auth/helpers';
import { api, startTestServer, tmpDir, type TestServer } from '../tracking/helpers';
import { ifStarted } from '../helpers/lifecycle';

// GET logged-models/<id>/artifacts/files on the real server: the files of an MLflow 3 logged model,
// under a proxied (mlflow-artifacts:) and a direct (file://) location, and what bad requests get.
describe('GET logged-models/<id>/artifacts/files', () => {
  let server: TestServer;
  let proxiedModel: string;
  let directModel: string;

  const createModel = async (experimentId: string) =>
    (await api(server.url, 'POST', '/logged-models', { experiment_id: experimentId, name: 'clf' })).body.model.info;

  // A direct location must lie under a configured root since the artifact-location policy (issue 14).
  const dir = tmpDir('logged-model-direct');

  beforeAll(async () => {
    server = await startTestServer('sqlite', { allowedArtifactRoots: [dir] });
    const exp = (await api(server.url, 'POST', '/experiments/create', { name: 'models' })).body.experiment_id;
    const proxied = await createModel(exp);
    proxiedModel = proxied.model_id;
    // Where the official client uploads it: the proxied path of the model's artifact_uri.
    const base = proxied.artifact_uri.replace(/^mlflow-artifacts:\//, '');
    for (const [rel, body] of [
      ['MLmodel', 'flavors:\n  sklearn: {}\n'],
      ['model.pkl', Buffer.from([128, 5, 149, 0])],
      ['card.html', '<script>alert(1)</script>'],
    ] as const) {
      const res = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${base}/${rel}`, { method: 'PUT', body });
      expect(res.status).toBe(200);
    }
    const directExp = (await api(server.url, 'POST', '/experiments/create', { name: 'direct', artifact_location: `file://${dir}` })).body.experiment_id;
    const direct = await createModel(directExp);
    directModel = direct.model_id;
    const modelDir = new URL(direct.artifact_uri).pathname;
    fs.mkdirSync(path.join(modelDir, 'metadata'), { recursive: true });
    fs.writeFileSync(path.join(modelDir, 'metadata', 'requirements.txt'), 'scikit-learn==1.9.1\n');
  });
  afterAll(() => ifStarted(server)?.stop());

  const get = (modelId: string, query: Record<string, string>, prefix = '/ajax-api/2.0/mlflow') =>
    fetch(`${server.url}${prefix}/logged-models/${modelId}/artifacts/files?${new URLSearchParams(query).toString()}`);

  test('serves a proxied model file as text, and binary files byte for byte', async () => {
    const text = await get(proxiedModel, { artifact_file_path: 'MLmodel' });
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toBe('flavors:\n  sklearn: {}\n');
    const bin = await get(proxiedModel, { artifact_file_path: 'model.pkl' }, '/api/2.0/mlflow');
    expect(bin.headers.get('content-type')).toBe('application/octet-stream');
    expect([...new Uint8Array(await bin.arrayBuffer())]).toEqual([128, 5, 149, 0]);
  });

  test('markup is plain text with nosniff', async () => {
    const res = await get(proxiedModel, { artifact_file_path: 'card.html' });
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  test('reads a direct file:// model location', async () => {
    const res = await get(directModel, { artifact_file_path: 'metadata/requirements.txt' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('scikit-learn==1.9.1\n');
  });

  test.each([
    ['no path', 400, 'BAD_REQUEST', 'MODEL', {}],
    ['a path escaping the model', 400, 'INVALID_PARAMETER_VALUE', 'MODEL', { artifact_file_path: '../../../mlflow.db' }],
    ['an encoded escape', 400, 'INVALID_PARAMETER_VALUE', 'MODEL', { artifact_file_path: '%2e%2e/%2e%2e/x' }],
    ['an absolute path', 400, 'INVALID_PARAMETER_VALUE', 'MODEL', { artifact_file_path: '/etc/passwd' }],
    ['a missing file', 404, 'RESOURCE_DOES_NOT_EXIST', 'MODEL', { artifact_file_path: 'nope.txt' }],
    ['an unknown model', 404, 'RESOURCE_DOES_NOT_EXIST', `m-${'0'.repeat(32)}`, { artifact_file_path: 'MLmodel' }],
    ['a malformed model id', 404, 'RESOURCE_DOES_NOT_EXIST', '..%2F..%2Fetc', { artifact_file_path: 'MLmodel' }],
  ])('%s → %i %s', async (_name, status, code, model, query) => {
    const res = await get(model === 'MODEL' ? proxiedModel : model, query);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error_code: string }).error_code).toBe(code);
  });
});

describe("logged-model files with the server's basic auth", () => {
  let server: AuthTestServer;
  let modelId: string;

  beforeAll(async () => {
    server = await startAuthServer('sqlite');
    await createUser(server, 'reader');
    await createUser(server, 'outsider');
    const admin = as(server, ADMIN);
    const exp = (await admin('POST', '/experiments/create', { name: 'guarded' })).body.experiment_id;
    await admin('POST', '/experiments/permissions/create', { experiment_id: exp, username: 'reader', permission: 'READ' });
    await admin('POST', '/experiments/permissions/create', { experiment_id: exp, username: 'outsider', permission: 'NO_PERMISSIONS' });
    const model = (await admin('POST', '/logged-models', { experiment_id: exp, name: 'guarded-model' })).body.model.info;
    modelId = model.model_id;
    const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${model.artifact_uri.replace(/^mlflow-artifacts:\//, '')}/MLmodel`, {
      method: 'PUT',
      headers: { authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}` },
      body: 'flavors: {}\n',
    });
    expect(put.status).toBe(200);
  });
  afterAll(() => ifStarted(server)?.stop());

  const read = (who: { username: string; password: string } | null) =>
    as(server, who)('GET', `/logged-models/${modelId}/artifacts/files`, { artifact_file_path: 'MLmodel' }, '/ajax-api/2.0/mlflow');

  test('READ on the experiment reads the file; NO_PERMISSIONS gets 403; no credentials 401', async () => {
    expect(await read({ username: 'reader', password: 'reader-password-123' })).toMatchObject({ status: 200, body: 'flavors: {}\n' });
    expect((await read({ username: 'outsider', password: 'outsider-password-123' })).status).toBe(403);
    expect((await read(null)).status).toBe(401);
  });
});
