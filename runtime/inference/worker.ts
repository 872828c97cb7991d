/**
 * Session worker: owns one onnxruntime InferenceSession per loaded model version and runs them, so the
 * blocking `session.run` never stalls the HTTP thread. Messages are defined in pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { TensorData } from './tensors';
import type { ToWorker, FromWorker, TensorSpecWire } from './pool';

const sessions = new Map<string, ort.InferenceSession>();
const intraOpNumThreads: number = (workerData as { intraOpNumThreads?: number } | undefined)?.intraOpNumThreads ?? 1;

if (!parentPort) throw new Error('runtime/inference/worker.ts runs as a worker thread (new Worker), not as a script');
const port = parentPort;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function specs(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorSpecWire[] {
  return meta.map((m) => {
    if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: [] };
    // Symbolic or unknown dimensions arrive as strings ('' or 'N'): null marks them dynamic.
    return { name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : null)) };
  });
}

async function handle(msg: ToWorker): Promise<void> {
  if (msg.op === 'load') {
    try {
      let session = sessions.get(msg.key);
      if (!session) {
        session = await ort.InferenceSession.create(msg.path, {
          intraOpNumThreads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        });
        sessions.set(msg.key, session);
      }
      post({ op: 'loaded', id: msg.id, inputs: specs(session.inputMetadata), outputs: specs(session.outputMetadata) });
    } catch (err) {
      post({ op: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
    }
    return;
  }
  if (msg.op === 'unload') {
    const s = sessions.get(msg.key);
    sessions.delete(msg.key);
    await s?.release();
    return;
  }
  const session = sessions.get(msg.key);
  if (!session) {
    post({ op: 'error', id: msg.id, message: `model ${msg.key} is not loaded in this worker` });
    return;
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const results = await session.run(feeds, msg.outputs ?? session.outputNames);
    const outputs: Record<string, TensorData> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, tensor] of Object.entries(results)) {
      const data = tensor.data;
      outputs[name] = { type: tensor.type as TensorData['type'], dims: [...tensor.dims], data };
      if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer && !transfer.includes(data.buffer)) transfer.push(data.buffer);
    }
    post({ op: 'result', id: msg.id, outputs }, transfer);
  } catch (err) {
    post({ op: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
}

port.on('message', (msg: ToWorker) => {
  void handle(msg);
});
