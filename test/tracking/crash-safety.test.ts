import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { mlopsBin } from '../helpers/cli';
import { createTestDatabase } from '../helpers/postgres';
import { describeWithTool } from '../helpers/tools';
import { api, startTestServer, storeAvailability, storeKinds, tmpDir, type TestServer } from './helpers';
import { freePort } from '../helpers/ports';
import { createPrivatePostgres, privatePostgresAvailability, type PrivatePostgres } from './private-postgres';
import { ifStarted } from '../helpers/lifecycle';

async function waitForHealth(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`server at ${url} did not become healthy`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The real `mlops tracking serve` as a separate process, so it can be SIGKILLed. */
async function spawnServer(backendStoreUri: string, artifacts: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [mlopsBin, 'tracking', 'serve', '--port', String(port), '--backend-store-uri', backendStoreUri, '--artifacts-destination', artifacts, '--upgrade-db'],
    {
      stdio: 'ignore',
      env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url);
  return { url, child };
}

for (const kind of storeKinds()) {
  describeWithTool(`SIGKILL during log_batch load (${kind})`, storeAvailability(kind), () => {
    test('leaves every batch either complete or absent', async () => {
      const dir = tmpDir('crash');
      let uri = `sqlite:///${path.join(dir, 'mlflow.db')}`;
      let drop: () => Promise<void> = () => Promise.resolve();
      if (kind === 'postgres') {
        const db = await createTestDatabase('mlops_crash');
        uri = db.url;
        drop = db.drop;
      }
      try {
        const first = await spawnServer(uri, path.join(dir, 'artifacts'));
        const runIds: string[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await api(first.url, 'POST', '/runs/create', { experiment_id: '0' });
          runIds.push(r.body.run.info.run_id);
        }
        // 20 clients send 300-metric batches (each batch: its own key, a param and a tag) until the kill.
        const sent: { runId: string; batch: number }[] = [];
        let stop = false;
        let seq = 0;
        const client = async () => {
          while (!stop) {
            const batch = seq++;
            const runId = runIds[batch % runIds.length];
            sent.push({ runId, batch });
            const metrics = Array.from({ length: 300 }, (_, s) => ({ key: `b${batch}`, value: s, timestamp: 1000 + s, step: s }));
            try {
              await api(first.url, 'POST', '/runs/log-batch', {
                run_id: runId,
                metrics,
                params: [{ key: `p${batch}`, value: 'v' }],
                tags: [{ key: `t${batch}`, value: 'v' }],
              });
            } catch {
              return; // connection reset by the kill
            }
          }
        };
        const clients = Array.from({ length: 20 }, client);
        await new Promise((r) => setTimeout(r, 1500));
        first.child.kill('SIGKILL');
        stop = true;
        await Promise.all(clients);
        await waitExit(first.child);
        expect(sent.length).toBeGreaterThan(20);

        const second = await spawnServer(uri, path.join(dir, 'artifacts'));
        try {
          let complete = 0;
          for (const runId of runIds) {
            const run = (await api(second.url, 'GET', '/runs/get', { run_id: runId })).body.run;
            const params = new Set(run.data.params.map((p: any) => p.key));
            const tags = new Set(run.data.tags.map((t: any) => t.key));
            for (const { batch } of sent.filter((s) => s.runId === runId)) {
              const history = (await api(second.url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: `b${batch}` })).body.metrics ?? [];
              const present = history.length > 0;
              expect({ batch, points: history.length }).toEqual({ batch, points: present ? 300 : 0 });
              expect({ batch, param: params.has(`p${batch}`), tag: tags.has(`t${batch}`) }).toEqual({ batch, param: present, tag: present });
              if (present) complete++;
            }
          }
          expect(complete).toBeGreaterThan(0);
        } finally {
          second.child.kill('SIGTERM');
          await waitExit(second.child);
        }
      } finally {
        await drop();
      }
    }, 120_000);
  });
}

describeWithTool('PostgreSQL restart under a running server', privatePostgresAvailability(), () => {
  let pg: PrivatePostgres;
  let server: TestServer;
  beforeAll(async () => {
    pg = await createPrivatePostgres();
    server = await startTestServer('sqlite', { backendStoreUri: pg.url, upgradeDb: true });
  }, 120_000);
  afterAll(async () => {
    await ifStarted(server)?.close();
    ifStarted(pg)?.destroy();
  });

  test('requests fail with 503 TEMPORARILY_UNAVAILABLE while it is down, then recover without a restart', async () => {
    const runId = (await api(server.url, 'POST', '/runs/create', { experiment_id: '0' })).body.run.info.run_id;
    expect((await api(server.url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1 })).status).toBe(200);

    pg.stop();
    for (const attempt of [
      () => api(server.url, 'GET', '/runs/get', { run_id: runId }),
      () => api(server.url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 2, timestamp: 2 }),
      () => api(server.url, 'POST', '/runs/search', { experiment_ids: ['0'] }),
    ]) {
      const r = await attempt();
      expect(r).toEqual({ status: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: expect.any(String) } });
    }
    // Input errors are still input errors, even with the database down.
    expect((await api(server.url, 'POST', '/runs/log-metric', '{bad json')).status).toBe(400);

    pg.start();
    const deadline = Date.now() + 30_000;
    let r = await api(server.url, 'GET', '/runs/get', { run_id: runId });
    while (r.status !== 200 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      r = await api(server.url, 'GET', '/runs/get', { run_id: runId });
    }
    expect(r.status).toBe(200);
    expect(r.body.run.data.metrics).toEqual([{ key: 'm', value: 1, timestamp: 1, step: 0 }]);
    expect((await api(server.url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 3, timestamp: 3 })).status).toBe(200);
  }, 120_000);
});
