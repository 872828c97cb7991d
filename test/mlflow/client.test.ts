import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { MlflowApiError, MlflowClient, type MlflowClientOptions } from '../../runtime/mlflow';
import { freePort } from '../helpers/ports';
import { commandAvailable, describeWithTool } from '../helpers/tools';
import { mlflowClients, runPythonScript } from '../tracking/helpers';
import { ifStarted } from '../helpers/lifecycle';

type Handler = (attempt: number, req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * A real HTTP(S) server whose answers each test scripts: requests are keyed by their run_id parameter
 * (else the path), attempts are counted per key and the Authorization header of each is recorded.
 */
class ScriptedServer {
  readonly authorization = new Map<string, Array<string | undefined>>();
  private server!: http.Server | https.Server;
  url = '';

  constructor(private readonly handler: Handler) {}

  async start(tls?: { key: Buffer; cert: Buffer }): Promise<this> {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const u = new URL(req.url ?? '/', 'http://local');
      const key = u.searchParams.get('run_id') ?? u.pathname;
      const seen = this.authorization.get(key) ?? [];
      seen.push(req.headers.authorization);
      this.authorization.set(key, seen);
      req.resume();
      req.on('end', () => this.handler(seen.length, req, res));
    };
    this.server = tls ? https.createServer(tls, listener) : http.createServer(listener);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  attempts(key: string): number {
    return this.authorization.get(key)?.length ?? 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const RUN = { run: { info: { run_id: 'r', experiment_id: '0', artifact_uri: 'mlflow-artifacts:/0/r/artifacts', status: 'FINISHED' }, data: {} } };

function send(res: http.ServerResponse, status: number, body: unknown = RUN, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A client whose waits between attempts are recorded instead of slept (jitter fixed at half its range). */
function recordingClient(url: string, env: NodeJS.ProcessEnv = {}, extra: Partial<MlflowClientOptions> = {}) {
  const waits: number[] = [];
  const client = new MlflowClient({
    trackingUri: url,
    env,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...extra,
  });
  return { client, waits };
}

/** Statuses MLflow's client retries (request_utils._TRANSIENT_FAILURE_RESPONSE_CODES) and some it does not. */
const RETRIED = [408, 429, 500, 502, 503, 504];
const FINAL = [400, 401, 403, 404, 409, 413, 501];

/** Per key `s<status>[-ra]`: that status once (with `Retry-After: 0` for -ra), then 200. */
const statusOnce: Handler = (attempt, req, res) => {
  const m = /run_id=s(\d+)(-ra)?/.exec(req.url ?? '');
  if (m && attempt === 1) {
    send(res, Number(m[1]), { error_code: 'X', message: 'scripted' }, m[2] ? { 'retry-after': '0' } : {});
    return;
  }
  send(res, 200);
};

describe('MlflowClient retry policy (MLflow rest_utils / urllib3 Retry), against a real HTTP server', () => {
  let server: ScriptedServer;
  let hold: http.ServerResponse[] = [];
  afterEach(async () => {
    hold.forEach((r) => r.destroy());
    hold = [];
    await ifStarted(server)?.stop();
  });

  test('429 then 503 then 200: three attempts, the first retry at once, the second after factor·2 + jitter', async () => {
    server = await new ScriptedServer((n, _req, res) => send(res, n === 1 ? 429 : n === 2 ? 503 : 200)).start();
    const { client, waits } = recordingClient(server.url);
    expect((await client.getRun('a')).info.run_id).toBe('r');
    expect(server.attempts('a')).toBe(3);
    // Defaults: MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR 2, MLFLOW_HTTP_REQUEST_BACKOFF_JITTER 1 (random 0.5 here).
    expect(waits).toEqual([0, 4500]);
  });

  test('the default schedule: 7 retries (8 attempts), doubling, capped at 120 s; then the last answer is the error', async () => {
    server = await new ScriptedServer((_n, _req, res) => send(res, 503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' })).start();
    const { client, waits } = recordingClient(server.url, { MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0' });
    const err = await client.getRun('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowApiError);
    expect(err).toMatchObject({ status: 503, errorCode: 'TEMPORARILY_UNAVAILABLE', method: 'GET', path: '/api/2.0/mlflow/runs/get' });
    expect((err as Error).message).toBe('GET /api/2.0/mlflow/runs/get: HTTP 503 TEMPORARILY_UNAVAILABLE: busy');
    expect(server.attempts('a')).toBe(8);
    expect(waits).toEqual([0, 4000, 8000, 16000, 32000, 64000, 120000]);
  });

  test('MLFLOW_HTTP_REQUEST_MAX_RETRIES, _BACKOFF_FACTOR and _BACKOFF_JITTER set the schedule', async () => {
    server = await new ScriptedServer((_n, _req, res) => send(res, 500, 'not json')).start();
    const { client, waits } = recordingClient(server.url, {
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '3',
      MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '1',
      MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0.25',
    });
    await expect(client.getRun('a')).rejects.toMatchObject({ status: 500, errorCode: 'HTTP_500' });
    expect(server.attempts('a')).toBe(4);
    expect(waits).toEqual([0, 2125, 4125]);
    const none = recordingClient(server.url, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' });
    await expect(none.client.getRun('b')).rejects.toMatchObject({ status: 500 });
    expect(server.attempts('b')).toBe(1);
    expect(none.waits).toEqual([]);
  });

  test('408, 429, 500, 502, 503, 504 are retried; other errors answer at once (413 only with Retry-After)', async () => {
    server = await new ScriptedServer(statusOnce).start();
    const { client } = recordingClient(server.url, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1' });
    for (const s of RETRIED) await expect(client.getRun(`s${s}`)).resolves.toMatchObject({ info: { run_id: 'r' } });
    for (const s of FINAL) await expect(client.getRun(`s${s}`)).rejects.toMatchObject({ status: s, errorCode: 'X' });
    await expect(client.getRun('s413-ra')).resolves.toBeDefined();
    expect(Object.fromEntries([...RETRIED, ...FINAL].map((s) => [s, server.attempts(`s${s}`)]))).toEqual(
      Object.fromEntries([...RETRIED.map((s) => [s, 2]), ...FINAL.map((s) => [s, 1])]),
    );
    expect(server.attempts('s413-ra')).toBe(2);
  });

  test('Retry-After (seconds or an HTTP date) replaces the backoff; MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER=false ignores it', async () => {
    const inThirty = new Date(Date.now() + 30_000).toUTCString();
    server = await new ScriptedServer((n, req, res) => {
      if (n > 1) {
        send(res, 200);
        return;
      }
      send(res, 429, {}, { 'retry-after': req.url?.includes('date') ? inThirty : '7' });
    }).start();
    const honoured = recordingClient(server.url);
    await honoured.client.getRun('seconds');
    await honoured.client.getRun('date');
    expect(honoured.waits[0]).toBe(7000);
    expect(honoured.waits[1]).toBeGreaterThan(25_000);
    expect(honoured.waits[1]).toBeLessThanOrEqual(30_000);
    const ignored = recordingClient(server.url, { MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER: 'false' });
    await ignored.client.getRun('seconds-ignored');
    expect(ignored.waits).toEqual([0]);
  });

  test('connection failures are retried like answers; an unreachable server ends in one MlflowApiError without a status', async () => {
    server = await new ScriptedServer((n, req, res) => (n === 1 ? req.socket.destroy() : send(res, 200))).start();
    const { client, waits } = recordingClient(server.url);
    await expect(client.getRun('reset')).resolves.toBeDefined();
    expect(server.attempts('reset')).toBe(2);
    expect(waits).toEqual([0]);
    const closed = `http://127.0.0.1:${await freePort()}`;
    const gone = recordingClient(closed, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2' });
    const err = await gone.client.getRun('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowApiError);
    expect(err).toMatchObject({ status: undefined, errorCode: 'TEMPORARILY_UNAVAILABLE' });
    expect((err as Error).message).toMatch(new RegExp(`^tracking server ${closed} unreachable \\(GET /api/2.0/mlflow/runs/get\\): .*ECONNREFUSED`));
    expect(gone.waits).toEqual([0, 4500]);
  });

  test('MLFLOW_HTTP_REQUEST_TIMEOUT bounds the time without progress: a silent attempt is retried, a slow but steady body is not cut', async () => {
    server = await new ScriptedServer((n, req, res) => {
      if (req.url?.includes('trickle')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const text = JSON.stringify(RUN);
        let i = 0;
        const next = () => (i < 5 ? (res.write(text.slice(i * 20, (i + 1) * 20)), i++, setTimeout(next, 400)) : res.end(text.slice(100)));
        return next();
      }
      if (n === 1 || req.url?.includes('never')) return void hold.push(res);
      send(res, 200);
    }).start();
    const { client } = recordingClient(server.url, { MLFLOW_HTTP_REQUEST_TIMEOUT: '1' });
    await expect(client.getRun('silent-once')).resolves.toBeDefined();
    expect(server.attempts('silent-once')).toBe(2);
    // Five chunks 400 ms apart: 2 s in all, never 1 s without a byte.
    await expect(client.getRun('trickle')).resolves.toMatchObject({ info: { run_id: 'r' } });
    const once = recordingClient(server.url, { MLFLOW_HTTP_REQUEST_TIMEOUT: '1', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' });
    await expect(once.client.getRun('never')).rejects.toThrow(
      /unreachable \(GET \/api\/2.0\/mlflow\/runs\/get\): no progress for 1 s \(MLFLOW_HTTP_REQUEST_TIMEOUT\)/,
    );
  });

  test('an abort signal stops a client that is waiting to retry', async () => {
    const abort = new AbortController();
    server = await new ScriptedServer((n, _req, res) => {
      send(res, 503);
      if (n === 2) abort.abort();
    }).start();
    // The real timer this time: the second wait would be 4-5 s.
    const client = new MlflowClient({ trackingUri: server.url, env: {}, signal: abort.signal });
    await expect(client.getRun('c')).rejects.toMatchObject({ errorCode: 'CANCELLED', status: undefined });
    expect(server.attempts('c')).toBe(2);
  });
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The authorization precedence cases: MLFLOW_TRACKING_* variables → header MLflow's rest_utils sends. */
const AUTH_CASES: Array<{ id: string; env: Record<string, string>; expected: string | undefined }> = [
  {
    id: 'basic-over-token',
    env: { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'pw:1', MLFLOW_TRACKING_TOKEN: 'tok' },
    expected: basic('alice', 'pw:1'),
  },
  { id: 'basic', env: { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'pw' }, expected: basic('alice', 'pw') },
  { id: 'user-without-password', env: { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_TOKEN: 'tok' }, expected: 'Bearer tok' },
  { id: 'password-without-user', env: { MLFLOW_TRACKING_PASSWORD: 'pw', MLFLOW_TRACKING_TOKEN: 'tok' }, expected: 'Bearer tok' },
  { id: 'empty-user', env: { MLFLOW_TRACKING_USERNAME: '', MLFLOW_TRACKING_PASSWORD: 'pw', MLFLOW_TRACKING_TOKEN: 'tok' }, expected: 'Bearer tok' },
  { id: 'empty-password', env: { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: '', MLFLOW_TRACKING_TOKEN: 'tok' }, expected: 'Bearer tok' },
  { id: 'token', env: { MLFLOW_TRACKING_TOKEN: 'tok' }, expected: 'Bearer tok' },
  { id: 'user-only', env: { MLFLOW_TRACKING_USERNAME: 'alice' }, expected: undefined },
  { id: 'empty-token', env: { MLFLOW_TRACKING_TOKEN: '' }, expected: undefined },
  { id: 'nothing', env: {}, expected: undefined },
];

describe('MlflowClient authorization header: MLflow precedence', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await new ScriptedServer((_n, _req, res) => send(res, 200)).start();
  });
  afterAll(async () => ifStarted(server)?.stop());

  test.each(AUTH_CASES)('$id', async ({ id, env, expected }) => {
    await new MlflowClient({ trackingUri: server.url, env }).getRun(id);
    expect(server.authorization.get(id)).toEqual([expected]);
  });

  test('options override the variables one by one (an empty username turns basic auth off)', async () => {
    const env = { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'pw', MLFLOW_TRACKING_TOKEN: 'tok' };
    await new MlflowClient({ trackingUri: server.url, env, username: '' }).getRun('opt-no-user');
    await new MlflowClient({ trackingUri: server.url, env: { MLFLOW_TRACKING_TOKEN: 'tok' }, username: 'bob', password: 'x' }).getRun('opt-basic');
    await new MlflowClient({ trackingUri: server.url, env, username: '', password: '', token: '' }).getRun('opt-none');
    expect(server.authorization.get('opt-no-user')).toEqual(['Bearer tok']);
    expect(server.authorization.get('opt-basic')).toEqual([basic('bob', 'x')]);
    expect(server.authorization.get('opt-none')).toEqual([undefined]);
  });
});

for (const mlflow of mlflowClients) {
  describeWithTool(`the same requests from the official ${mlflow.name}`, mlflow.availability, () => {
    let server: ScriptedServer;
    let dir: string;
    beforeAll(async () => {
      server = await new ScriptedServer(statusOnce).start();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-http-'));
    });
    afterAll(async () => {
      await ifStarted(server)?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('send the same Authorization header and retry the same statuses as this client', async () => {
      const statuses = [...RETRIED, ...FINAL].map((s) => `s${s}`).concat('s413-ra');
      const cases = [...AUTH_CASES.map((c) => ({ id: `py-${c.id}`, env: c.env })), ...statuses.map((id) => ({ id: `${id}-py`, env: {} }))];
      // statusOnce reads the status from the id's prefix; the -py / -ts suffixes keep the two clients apart.
      const file = path.join(dir, 'cases.json');
      fs.writeFileSync(file, JSON.stringify(cases));
      // HOME: no ~/.mlflow/credentials of this machine; no backoff so the retries are immediate.
      const env = { HOME: dir, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0', MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0' };
      const python = await runPythonScript(mlflow.python, path.join(__dirname, 'python', 'http_behaviour.py'), [server.url, file], env);
      expect(Object.keys(python)).toHaveLength(cases.length);
      for (const c of AUTH_CASES) {
        await new MlflowClient({ trackingUri: server.url, env: c.env }).getRun(`ts-${c.id}`);
        expect({ id: c.id, header: server.authorization.get(`py-${c.id}`) }).toEqual({ id: c.id, header: server.authorization.get(`ts-${c.id}`) });
      }
      const ts = recordingClient(server.url, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1' }).client;
      for (const id of statuses) await ts.getRun(`${id}-ts`).catch(() => undefined);
      const attempts = (suffix: string) => Object.fromEntries(statuses.map((id) => [id, server.attempts(`${id}-${suffix}`)]));
      expect(attempts('ts')).toEqual(attempts('py'));
    });
  });
}

describeWithTool('MlflowClient TLS settings (MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH)', commandAvailable('openssl', ['version']), () => {
  let server: ScriptedServer;
  let dir: string;
  let certPath: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-tls-'));
    certPath = path.join(dir, 'cert.pem');
    const keyPath = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    server = await new ScriptedServer((_n, _req, res) => send(res, 200)).start({ key: fs.readFileSync(keyPath), cert: fs.readFileSync(certPath) });
  });
  afterAll(async () => {
    await ifStarted(server)?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a self-signed server is refused by default, accepted with its CA bundle or with verification off', async () => {
    const strict = new MlflowClient({ trackingUri: server.url, env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' } });
    await expect(strict.getRun('default')).rejects.toThrow(/unreachable .*(self[- ]signed|certificate)/i);
    await expect(new MlflowClient({ trackingUri: server.url, env: { MLFLOW_TRACKING_SERVER_CERT_PATH: certPath } }).getRun('ca')).resolves.toBeDefined();
    await expect(new MlflowClient({ trackingUri: server.url, env: { MLFLOW_TRACKING_INSECURE_TLS: 'true' } }).getRun('insecure')).resolves.toBeDefined();
    expect(server.attempts('default')).toBe(0);
    expect(server.attempts('ca') + server.attempts('insecure')).toBe(2);
  });

  test('both variables at once are refused, as MLflow refuses them', () => {
    expect(() => new MlflowClient({ trackingUri: server.url, env: { MLFLOW_TRACKING_SERVER_CERT_PATH: certPath, MLFLOW_TRACKING_INSECURE_TLS: '1' } })).toThrow(
      /only one of them/,
    );
  });
});

describe('MlflowClient configuration errors name the variable', () => {
  const uri = 'http://127.0.0.1:9';
  test.each([
    [{ MLFLOW_HTTP_REQUEST_MAX_RETRIES: 'many' }, /Failed to convert 'many' for MLFLOW_HTTP_REQUEST_MAX_RETRIES/],
    [{ MLFLOW_HTTP_REQUEST_MAX_RETRIES: '11' }, /max_retries value \(11\) is in excess of the maximum allowable retries \(10\)/],
    [{ MLFLOW_HTTP_REQUEST_MAX_RETRIES: '-1' }, /max_retries value must be either 0 a positive integer/],
    [{ MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.5' }, /Failed to convert '0.5' for MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR/],
    [{ MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '121' }, /backoff_factor value \(121\) is in excess/],
    [{ MLFLOW_HTTP_REQUEST_TIMEOUT: 'soon' }, /MLFLOW_HTTP_REQUEST_TIMEOUT/],
    [{ MLFLOW_TRACKING_INSECURE_TLS: 'yes' }, /MLFLOW_TRACKING_INSECURE_TLS value must be one of/],
    [{ MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER: 'on' }, /MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER value must be one of/],
  ])('%j', (env, message) => {
    expect(() => new MlflowClient({ trackingUri: uri, env })).toThrow(message);
  });

  test('the tracking URI is required and must be http(s)', () => {
    expect(() => new MlflowClient({ env: {} })).toThrow(/set MLFLOW_TRACKING_URI/);
    expect(() => new MlflowClient({ env: { MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' } })).toThrow(/must be an http\(s\) URL/);
    expect(new MlflowClient({ env: { MLFLOW_TRACKING_URI: 'http://tracking:5000//' } }).trackingUri).toBe('http://tracking:5000');
  });
});
