import { spawn, type ChildProcess } from 'node:child_process';
import { mlopsBin, repoRoot, runMlops } from '../helpers/cli';
import { expected, model, post } from './helpers';

/** Starts `mlops serve` as a real process on a free port; resolves once it logs its URL. */
function startServe(args: string[]): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [mlopsBin, 'serve', '--port', '0', ...args], {
    cwd: repoRoot,
    env: { ...process.env, MLOPS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"inference server listening"'));
      if (line) resolve({ child, url: JSON.parse(line).url, exited });
    });
    child.on('exit', (code) => reject(new Error(`mlops serve exited with ${code}: ${err || out}`)));
  });
}

describe('mlops serve (real process)', () => {
  test('serves an MLflow model directory; SIGTERM drains in-flight requests and exits 0', async () => {
    const { child, url, exited } = await startServe(['-m', model('slow.onnx'), '--workers', '1', '--max-batch-size', '1']);
    try {
      const inflight = Array.from({ length: 4 }, (_, i) => post(`${url}/invocations`, { inputs: [[i, 0, 0, 1]] }));
      // Wait until the requests are queued inside the server, then ask it to stop.
      for (;;) {
        const text = await (await fetch(`${url}/metrics`)).text();
        if (/^mlops_inference_queue_depth [2-9]/m.test(text)) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill('SIGTERM');
      const replies = await Promise.all(inflight);
      replies.forEach((r, i) => {
        expect(r.status).toBe(200);
        expect(r.body.predictions.y).toEqual([[i, 0, 0, 1]]);
      });
      expect(await exited).toBe(0);
      await expect(fetch(`${url}/ping`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('the churn model over the CLI answers like onnxruntime (Python)', async () => {
    const { child, url, exited } = await startServe(['-m', model('churn-forest'), '--name', 'churn', '--workers', '1']);
    try {
      const r = await post(`${url}/v2/models/churn/infer`, {
        inputs: expected.columns.map((c, i) => ({ name: c, shape: [expected.rows.length], datatype: 'FP32', data: expected.rows.map((row) => row[i]) })),
      });
      expect(r.status).toBe(200);
      expect(r.body.outputs[0].data).toEqual(expected.outputs['churn-forest'].label);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('bad usage is one line on stderr and exit code 1', () => {
    const missing = runMlops(['serve', '-m', 'no/such/model.onnx', '--port', '0']);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^mlops: cannot serve no\/such\/model\.onnx: model not found: .*model\.onnx$/);
    const noTracking = runMlops(['serve', '-m', 'models:/churn@champion'], { env: { MLFLOW_TRACKING_URI: '' } });
    expect(noTracking.status).toBe(1);
    expect(noTracking.stderr).toMatch(/needs a tracking server: set MLFLOW_TRACKING_URI/);
    const badPort = runMlops(['serve', '-m', model('slow.onnx'), '--max-batch-size', '0']);
    expect(badPort.status).not.toBe(0);
    expect(badPort.stderr.trim().split('\n')).toHaveLength(1);
    expect(badPort.stderr).toMatch(/--max-batch-size/);
  });
});
