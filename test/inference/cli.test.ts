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

  // A real process, not serve() in jest: onnxruntime checks its outputs against the typed-array classes
  // of the realm that loaded it, and jest's vm is another realm than the native binding's.
  test('--workers 0 runs sessions on the HTTP thread: same answers, concurrent requests still merge into one run', async () => {
    const n = expected.rows.length;
    const args = ['-m', model('churn-logreg'), '--name', 'churn', '--workers', '0', '--max-batch-size', String(n), '--max-batch-delay-ms', '2000'];
    const { child, url, exited } = await startServe(args);
    try {
      const want = expected.outputs['churn-logreg'];
      const replies = await Promise.all(
        expected.rows.map((row, i) =>
          i % 2
            ? post(`${url}/invocations`, { dataframe_split: { columns: expected.columns, data: [row] } })
            : post(`${url}/v2/models/churn/infer`, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: row }] }),
        ),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(n).fill(200));
      expect(replies.map((r, i) => (i % 2 ? r.body.predictions[0].label : r.body.outputs[0].data[0]))).toEqual(want.label);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^mlops_inference_batch_size_count\{model="churn"\} 1$/m);
      expect(metrics).toMatch(new RegExp(`^mlops_inference_batch_size_sum\\{model="churn"\\} ${n}$`, 'm'));
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
    const badBytes = runMlops(['serve', '-m', model('slow.onnx'), '--max-batch-bytes', '1.5']);
    expect(badBytes.status).not.toBe(0);
    expect(badBytes.stderr).toMatch(/--max-batch-bytes.*must be an integer/);
  });
});
