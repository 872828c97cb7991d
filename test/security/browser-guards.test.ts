import * as http from 'node:http';
import { CROSS_ORIGIN_MESSAGE, INVALID_HOST_MESSAGE, hostName, wildcardMatch } from '../../runtime/tracking/http/browser-guards';
import type { BrowserGuardOptions } from '../../runtime/tracking/http/browser-guards';
import { chromiumAvailability, launchBrowser } from '../ui/browser';
import { describeWithTool } from '../helpers/tools';
import { startTestServer, type TestServer } from '../tracking/helpers';
import { ADMIN, startSecureServer, type SecureServer } from './limits-helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * The Host / Origin / framing guards against a real server: raw HTTP requests (a browser cannot be
 * made to send a foreign Host or Origin on purpose, an attacker's page makes it send them), and
 * headless Chromium resolving a hostile name to 127.0.0.1 as a DNS-rebinding page would.
 * Store-independent, so SQLite only.
 */

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: hostname, port, method, path, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const own = (s: { url: string }) => new URL(s.url).host;

async function experimentNames(s: TestServer): Promise<string[]> {
  const r = await raw(s.url, 'POST', '/api/2.0/mlflow/experiments/search', { host: own(s) }, JSON.stringify({ max_results: 1000 }));
  return (JSON.parse(r.body).experiments ?? []).map((e: { name: string }) => e.name);
}

describe('Host header (DNS rebinding)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(() => ifStarted(server)?.stop());

  test.each(['127.0.0.1', 'localhost:5000', '[::1]:80', '10.1.2.3:5000', '172.31.0.9', '192.168.4.4', '[fd12::1]:5000', '0.0.0.0'])(
    'served by default: Host %s',
    async (host) => {
      expect((await raw(server.url, 'GET', '/api/2.0/mlflow/experiments/search?max_results=1', { host })).status).toBe(200);
    },
  );

  test.each([
    'evil.example',
    'evil.example:5000',
    'localhost.evil.example',
    '8.8.8.8',
    '172.32.0.1',
    '[2001:db8::1]:5000',
    '127.0.0.1.nip.io',
    `${'a'.repeat(400)}.example`,
  ])('refused by default: Host %s, on the API, the UI page and the artifact API', async (host) => {
    for (const path of ['/api/2.0/mlflow/experiments/search?max_results=1', '/', '/api/2.0/mlflow-artifacts/artifacts']) {
      const r = await raw(server.url, 'GET', path, { host });
      expect({ path, status: r.status, body: JSON.parse(r.body) }).toEqual({
        path,
        status: 403,
        body: { error_code: 'PERMISSION_DENIED', message: INVALID_HOST_MESSAGE },
      });
    }
  });

  test('probes and scrapers are answered whatever the Host', async () => {
    for (const path of ['/health', '/version', '/metrics']) expect((await raw(server.url, 'GET', path, { host: 'evil.example' })).status).toBe(200);
  });

  test('a refused Host changes nothing', async () => {
    const r = await raw(server.url, 'POST', '/api/2.0/mlflow/experiments/create', { host: 'evil.example' }, JSON.stringify({ name: 'rebound' }));
    expect(r.status).toBe(403);
    expect(await experimentNames(server)).not.toContain('rebound');
  });

  test('every answer says nosniff and SAMEORIGIN framing', async () => {
    for (const path of ['/', '/api/2.0/mlflow/experiments/search?max_results=1', '/health']) {
      const r = await raw(server.url, 'GET', path, { host: own(server) });
      expect({ path, nosniff: r.headers['x-content-type-options'], frame: r.headers['x-frame-options'] }).toEqual({
        path,
        nosniff: 'nosniff',
        frame: 'SAMEORIGIN',
      });
    }
  });
});

describe('an explicit --allowed-hosts list replaces the defaults', () => {
  let server: TestServer;
  const guards: BrowserGuardOptions = { allowedHosts: ['tracking.mlops-platform.svc', 'mlflow.corp.example', '*.ingress.corp.example'], xFrameOptions: 'NONE' };
  beforeAll(async () => {
    server = await startTestServer('sqlite', { browserGuards: guards });
  });
  afterAll(() => ifStarted(server)?.stop());

  test.each([
    ['tracking.mlops-platform.svc:5000', 200],
    ['MLflow.Corp.Example', 200],
    ['a.ingress.corp.example:443', 200],
    ['ingress.corp.example', 403],
    ['127.0.0.1', 403],
    ['mlflow.corp.example.evil.example', 403],
  ])('Host %s → %d', async (host, status) => {
    expect((await raw(server.url, 'GET', '/api/2.0/mlflow/experiments/search?max_results=1', { host })).status).toBe(status);
  });

  test('NONE sends no X-Frame-Options', async () => {
    const r = await raw(server.url, 'GET', '/health', { host: 'x' });
    expect(r.headers['x-frame-options']).toBeUndefined();
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('Origin (cross-site requests carrying the browser’s login)', () => {
  let server: SecureServer;
  const basic = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`;
  beforeAll(async () => {
    server = await startSecureServer('sqlite');
  });
  afterAll(() => ifStarted(server)?.stop());

  const create = (name: string, origin?: string) =>
    raw(
      server.url,
      'POST',
      '/api/2.0/mlflow/experiments/create',
      { host: own(server), authorization: basic, ...(origin ? { origin } : {}) },
      JSON.stringify({ name }),
    );

  test('a foreign origin cannot write, even with the admin’s credentials; nothing is created', async () => {
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:1', `http://${own(server)}.evil.example`]) {
      const r = await create(`csrf-${origin}`, origin);
      expect({ origin, status: r.status, body: JSON.parse(r.body) }).toEqual({
        origin,
        status: 403,
        body: { error_code: 'PERMISSION_DENIED', message: CROSS_ORIGIN_MESSAGE },
      });
    }
    const del = await raw(server.url, 'DELETE', `/api/2.0/mlflow/users/delete?username=${ADMIN.username}`, {
      host: own(server),
      authorization: basic,
      origin: 'https://evil.example',
    });
    expect(del.status).toBe(403);
    const names = await raw(
      server.url,
      'POST',
      '/api/2.0/mlflow/experiments/search',
      { host: own(server), authorization: basic },
      JSON.stringify({ max_results: 1000 }),
    );
    expect(
      JSON.parse(names.body)
        .experiments.map((e: { name: string }) => e.name)
        .filter((n: string) => n.startsWith('csrf-')),
    ).toEqual([]);
  });

  test('the server’s own origin (the web UI), http behind a TLS ingress, and no Origin (clients) may write', async () => {
    expect((await create('same-origin', `http://${own(server)}`)).status).toBe(200);
    expect((await create('tls-ingress', `https://${own(server)}`)).status).toBe(200);
    expect((await create('python-client')).status).toBe(200);
  });

  test('reads from a foreign origin get no CORS header, so the page cannot see the answer', async () => {
    const r = await raw(server.url, 'GET', '/api/2.0/mlflow/experiments/search?max_results=1', {
      host: own(server),
      authorization: basic,
      origin: 'https://evil.example',
    });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('a refused Host is refused before authentication (403, not a 401 login prompt)', async () => {
    const r = await raw(server.url, 'GET', '/', { host: 'evil.example' });
    expect(r.status).toBe(403);
    expect(r.headers['www-authenticate']).toBeUndefined();
  });
});

describe('--cors-allowed-origins', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', { browserGuards: { corsAllowedOrigins: ['https://notebook.corp.example', 'https://*.apps.corp.example'] } });
  });
  afterAll(() => ifStarted(server)?.stop());

  test('a listed origin gets its preflight and may write; an unlisted one gets neither', async () => {
    const pre = await raw(server.url, 'OPTIONS', '/api/2.0/mlflow/experiments/create', {
      host: own(server),
      origin: 'https://nb.apps.corp.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,authorization',
    });
    expect(pre.status).toBe(204);
    expect(pre.headers).toMatchObject({
      'access-control-allow-origin': 'https://nb.apps.corp.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-headers': 'content-type,authorization',
    });
    const ok = await raw(
      server.url,
      'POST',
      '/api/2.0/mlflow/experiments/create',
      { host: own(server), origin: 'https://notebook.corp.example' },
      JSON.stringify({ name: 'from-notebook' }),
    );
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://notebook.corp.example');
    const unlisted = await raw(server.url, 'OPTIONS', '/api/2.0/mlflow/experiments/create', {
      host: own(server),
      origin: 'https://apps.corp.example.evil.example',
      'access-control-request-method': 'POST',
    });
    expect(unlisted.headers['access-control-allow-origin']).toBeUndefined();
    expect(await experimentNames(server)).toContain('from-notebook');
  });
});

test('host names and globs', () => {
  expect(['Example.COM:80', '[::1]:5000', '::1', '10.0.0.1:1', 'a:b:c'].map(hostName)).toEqual(['example.com', '::1', '::1', '10.0.0.1', 'a:b:c']);
  expect(wildcardMatch('*.corp.example', 'a.b.corp.example')).toBe(true);
  expect(wildcardMatch('*.corp.example', 'corp.example')).toBe(false);
  expect(wildcardMatch('a*b*c', 'axxbyyc')).toBe(true);
  expect(wildcardMatch('a*b*c', 'axxbyy')).toBe(false);
  // The walk backtracks only to the last star: a hostile value against many stars stays linear-ish.
  expect(wildcardMatch(`${'*a'.repeat(60)}b`, 'a'.repeat(300))).toBe(false);
});

describeWithTool('DNS rebinding in a real browser', chromiumAvailability(), () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(() => ifStarted(server)?.stop());

  test('a page whose name resolves to the server gets the 403, not the UI; the server’s own address still gets the UI', async () => {
    const port = new URL(server.url).port;
    const browser = await launchBrowser({ args: ['--host-resolver-rules=MAP rebind.test 127.0.0.1'] });
    try {
      const page = await browser.context.newPage();
      const rebound = await page.goto(`http://rebind.test:${port}/`);
      expect(rebound?.status()).toBe(403);
      expect(await page.content()).toContain(INVALID_HOST_MESSAGE);
      const status = await page.evaluate(async (p) => (await fetch(`http://rebind.test:${p}/api/2.0/mlflow/experiments/search?max_results=1`)).status, port);
      expect(status).toBe(403);
      const ownPage = await page.goto(`${server.url}/`);
      expect(ownPage?.status()).toBe(200);
    } finally {
      await browser.close();
    }
  });
});
