import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { webUi } from '../../runtime/tracking/web/serve';
import { ensureUiBuilt } from './build';

// The UI plugin on a real fastify server over loopback HTTP, next to an API route, as the tracking server mounts it.
describe('web UI static serving', () => {
  let app: FastifyInstance;
  let base: string;
  let root: string;

  beforeAll(async () => {
    root = ensureUiBuilt();
    app = Fastify();
    app.setNotFoundHandler((req, reply) => reply.code(404).send({ error_code: 'ENDPOINT_NOT_FOUND', message: `No API route for ${req.url}` }));
    app.get('/api/2.0/mlflow/experiments/get', () => ({ experiment: { experiment_id: '0' } }));
    await app.register(webUi, { root });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  test('serves index.html at / without long caching, and hashed assets as immutable', async () => {
    const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html);
    expect(script).not.toBeNull();
    const asset = await fetch(`${base}/${script![1]}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await asset.text()).length).toBeGreaterThan(10_000);
  });

  test('the built page loads nothing from another origin', () => {
    const html = fs.readFileSync(`${root}/index.html`, 'utf8');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  test('browser navigation to an unknown page path gets the app (SPA fallback)', async () => {
    const res = await fetch(`${base}/experiments/12`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="app">');
  });

  test('API paths and non-browser requests keep the JSON 404, never the page', async () => {
    const api = await fetch(`${base}/api/2.0/mlflow/nope`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error_code: string }).error_code).toBe('ENDPOINT_NOT_FOUND');
    const ajax = await fetch(`${base}/ajax-api/2.0/mlflow/nope`);
    expect(ajax.status).toBe(404);
    const noHtml = await fetch(`${base}/some/path`, { headers: { accept: 'application/json' } });
    expect(noHtml.status).toBe(404);
    const missingAsset = await fetch(`${base}/assets/missing.js`);
    expect(missingAsset.status).toBe(404);
    const ok = await fetch(`${base}/api/2.0/mlflow/experiments/get`);
    expect(ok.status).toBe(200);
  });

  test('a server without a built UI says how to build it', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-ui-empty-'));
    const bare = Fastify();
    await bare.register(webUi, { root: empty });
    const url = await bare.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${url}/`);
    const body = await res.text();
    await bare.close();
    fs.rmSync(empty, { recursive: true, force: true });
    expect(res.status).toBe(503);
    expect(body).toContain('npm run build');
  });
});
