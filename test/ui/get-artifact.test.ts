import * as fs from 'node:fs';
import * as path from 'node:path';
import { contentTypeOf } from '../../runtime/tracking/web/get-artifact';
import { api, startTestServer, tmpDir, type TestServer } from '../tracking/helpers';
import { ifStarted } from '../helpers/lifecycle';

// GET /get-artifact on the real server: proxied (mlflow-artifacts:) and direct (file://) artifact roots.
describe('GET /get-artifact', () => {
  let server: TestServer;
  let proxiedRun: string;
  let directRun: string;
  // A directory outside the proxy that the operator allows experiments to use (--allowed-artifact-roots).
  const directRoot = tmpDir('get-artifact-direct');

  beforeAll(async () => {
    server = await startTestServer('sqlite', { allowedArtifactRoots: [directRoot] });
    const exp = (await api(server.url, 'POST', '/experiments/create', { name: 'artifacts' })).body.experiment_id;
    proxiedRun = (await api(server.url, 'POST', '/runs/create', { experiment_id: exp })).body.run.info.run_id;
    for (const [rel, body] of [
      ['notes.txt', 'hello from the proxy\n'],
      ['page.html', '<script>alert(1)</script>'],
      ['weights.bin', Buffer.from([0, 1, 2, 3])],
    ] as const) {
      const res = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/${proxiedRun}/artifacts/${rel}`, { method: 'PUT', body });
      expect(res.status).toBe(200);
    }
    // An experiment whose artifacts live straight in a directory, not behind the proxy.
    const dir = path.join(directRoot, 'direct');
    const directExp = (await api(server.url, 'POST', '/experiments/create', { name: 'direct', artifact_location: `file://${dir}` })).body.experiment_id;
    const run = (await api(server.url, 'POST', '/runs/create', { experiment_id: directExp })).body.run.info;
    directRun = run.run_id;
    const runDir = new URL(run.artifact_uri).pathname;
    fs.mkdirSync(path.join(runDir, 'eval'), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'eval', 'report.json'), '{"f1": 0.8}');
  });
  afterAll(async () => {
    await ifStarted(server)?.stop();
    fs.rmSync(directRoot, { recursive: true, force: true });
  });

  const get = (query: Record<string, string>) => fetch(`${server.url}/get-artifact?${new URLSearchParams(query).toString()}`);

  test('serves a proxied text artifact inline as UTF-8 text', async () => {
    const res = await get({ run_id: proxiedRun, path: 'notes.txt' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^inline/);
    expect(await res.text()).toBe('hello from the proxy\n');
  });

  test('markup is sent as plain text with nosniff, never as a page', async () => {
    const res = await get({ run_id: proxiedRun, path: 'page.html' });
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  test('binary files keep their bytes', async () => {
    const res = await get({ run_id: proxiedRun, path: 'weights.bin' });
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([0, 1, 2, 3]);
  });

  test('reads a direct file:// artifact root', async () => {
    const res = await get({ run_id: directRun, path: 'eval/report.json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ f1: 0.8 });
  });

  test.each([
    ['no path', 400, 'INVALID_PARAMETER_VALUE', { run_id: 'RUN' }],
    ['no run_id', 400, 'INVALID_PARAMETER_VALUE', { path: 'notes.txt' }],
    ['a path escaping the run', 400, 'INVALID_PARAMETER_VALUE', { run_id: 'RUN', path: '../../etc/passwd' }],
    ['an absolute path', 400, 'INVALID_PARAMETER_VALUE', { run_id: 'RUN', path: '/etc/passwd' }],
    ['a missing file', 404, 'RESOURCE_DOES_NOT_EXIST', { run_id: 'RUN', path: 'nope.txt' }],
    ['an unknown run', 404, 'RESOURCE_DOES_NOT_EXIST', { run_id: 'f'.repeat(32), path: 'notes.txt' }],
  ])('%s → %i %s', async (_name, status, code, query) => {
    const q = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v === 'RUN' ? proxiedRun : v]));
    const res = await get(q);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error_code: string }).error_code).toBe(code);
  });

  test('content types follow the file name', () => {
    expect(contentTypeOf('plots/roc.png')).toBe('image/png');
    expect(contentTypeOf('model/MLmodel')).toBe('text/plain; charset=utf-8');
    expect(contentTypeOf('model/model.onnx')).toBe('application/octet-stream');
  });
});
