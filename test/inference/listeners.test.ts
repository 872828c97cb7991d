import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { mlopsBin, repoRoot, runMlops } from '../helpers/cli';
import { expected, model } from './helpers';

/** One request on a connection of its own (the cluster primary hands connections out round-robin). */
function inferOnNewConnection(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/v2/models/churn/infer`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', connection: 'close' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('mlops serve --listeners (node:cluster)', () => {
  test('two listener processes share the port, both answer, /metrics aggregates them, SIGTERM stops all cleanly', async () => {
    const child = spawn(
      process.execPath,
      [mlopsBin, 'serve', '-m', model('churn-logreg'), '--name', 'churn', '--port', '0', '--listeners', '2', '--workers', '2'],
      { cwd: repoRoot, env: { ...process.env, MLOPS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // 'close', not 'exit': the listeners' last log lines are read by then.
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const lines = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        child.stdout.on('data', () => {
          const l = lines().find((x) => x.msg === 'inference server listening');
          if (l) resolve(l);
        });
        child.on('exit', (code) => reject(new Error(`mlops serve exited with ${code}: ${out}`)));
      });
      const url = listening.url as string;
      const pids = listening.pids as number[];
      expect(new Set(pids).size).toBe(2);
      expect(pids).not.toContain(child.pid);
      // Each listener has its half of the session threads (their log lines may trail the primary's).
      const ready = () => lines().filter((l) => l.msg === 'inference listener ready');
      while (ready().length < 2) await new Promise((r) => setTimeout(r, 20));
      expect(ready().map((l) => l.workers)).toEqual([1, 1]);
      expect(
        ready()
          .map((l) => l.pid)
          .sort(),
      ).toEqual([...pids].sort());

      const body = JSON.stringify({ inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32', data: expected.rows.slice(0, 2).flat() }] });
      const n = 8;
      for (let i = 0; i < n; i++) {
        const r = await inferOnNewConnection(url, body);
        expect(r.status).toBe(200);
        expect(JSON.parse(r.text).outputs[0].data).toEqual(expected.outputs['churn-logreg'].label.slice(0, 2));
      }
      // Whichever listener answers the scrape, it is the sum over both.
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain(`mlops_inference_requests_total{model="churn",protocol="v2",code="200"} ${n}`);
      expect(metrics).toContain(`mlops_inference_request_duration_seconds_count{model="churn",protocol="v2"} ${n}`);
      expect(metrics).toMatch(/^mlops_inference_model_loaded\{model="churn",version="1",source="[^"]+"\} 1$/m);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const stopped = lines().filter((l) => l.msg === 'inference listener stopped');
      expect(stopped.map((l) => l.listener).sort()).toEqual([0, 1]);
      // Both served (round-robin over new connections), and every request is counted once.
      stopped.forEach((l) => expect(l.answered as number).toBeGreaterThan(0));
      expect(stopped.reduce((a, l) => a + (l.answered as number), 0)).toBe(n);
      pids.forEach((pid) => expect(alive(pid)).toBe(false));
      await expect(fetch(`${url}/ping`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('--listeners takes 1..64', () => {
    const bad = runMlops(['serve', '-m', model('churn-logreg'), '--listeners', '0']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--listeners/);
  });
});
