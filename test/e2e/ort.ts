import { Worker } from 'node:worker_threads';

/**
 * Runs an ONNX model with onnxruntime-node in a worker thread and returns the outputs. Not in the jest
 * sandbox itself: onnxruntime-common checks tensor data with `instanceof Float32Array`, and the native
 * binding's arrays come from the outer realm, so sessions inside jest's module registry reject their own
 * outputs. A worker is a plain Node isolate, as in the inference server.
 */
export function ortRun(
  model: Uint8Array | string,
  input: { name: string; data: number[]; dims: number[] },
): Promise<Record<string, { dims: number[]; data: number[]; type: string }>> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const ort = require(workerData.ortPath);
    (async () => {
      const session = await ort.InferenceSession.create(typeof workerData.model === 'string' ? workerData.model : new Uint8Array(workerData.model));
      const feeds = { [workerData.input.name]: new ort.Tensor('float32', Float32Array.from(workerData.input.data), workerData.input.dims) };
      const out = await session.run(feeds);
      const result = {};
      for (const [k, t] of Object.entries(out)) result[k] = { dims: [...t.dims].map(Number), data: Array.from(t.data, Number), type: t.type };
      await session.release();
      parentPort.postMessage({ ok: true, result, inputNames: session.inputNames, outputNames: session.outputNames });
    })().catch((e) => parentPort.postMessage({ ok: false, error: String(e && e.stack || e) }));
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, {
      eval: true,
      workerData: { ortPath: require.resolve('onnxruntime-node'), model: typeof model === 'string' ? model : Array.from(model), input },
    });
    worker.once('message', (m: { ok: boolean; result?: Record<string, { dims: number[]; data: number[]; type: string }>; error?: string }) => {
      void worker.terminate();
      if (m.ok) resolve(m.result!);
      else reject(new Error(m.error));
    });
    worker.once('error', reject);
  });
}
