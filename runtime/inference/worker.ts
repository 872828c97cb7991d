/**
 * Session worker: owns one onnxruntime InferenceSession per loaded model version and runs them, so the
 * blocking `session.run` never stalls the HTTP thread. Messages are defined in pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { ToWorker, FromWorker } from './pool';
import { createSession, runSession, sessionIo } from './session';

const sessions = new Map<string, ort.InferenceSession>();
const intraOpNumThreads: number = (workerData as { intraOpNumThreads?: number } | undefined)?.intraOpNumThreads ?? 1;

if (!parentPort) throw new Error('runtime/inference/worker.ts runs as a worker thread (new Worker), not as a script');
const port = parentPort;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function load(msg: Extract<ToWorker, { op: 'load' }>): Promise<void> {
  try {
    let session = sessions.get(msg.key);
    if (!session) {
      session = await createSession(msg.path, intraOpNumThreads);
      sessions.set(msg.key, session);
    }
    post({ op: 'loaded', id: msg.id, ...sessionIo(session) });
  } catch (err) {
    post({ op: 'error', id: msg.id, message: messageOf(err) });
  }
}

async function run(msg: Extract<ToWorker, { op: 'run' }>): Promise<void> {
  const session = sessions.get(msg.key);
  if (!session) {
    post({ op: 'error', id: msg.id, message: `model ${msg.key} is not loaded in this worker` });
    return;
  }
  try {
    const outputs = await runSession(session, msg.feeds, msg.outputs);
    const transfer: ArrayBuffer[] = [];
    for (const name in outputs) {
      const data = outputs[name].data;
      if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer && !transfer.includes(data.buffer)) transfer.push(data.buffer);
    }
    post({ op: 'result', id: msg.id, outputs }, transfer);
  } catch (err) {
    post({ op: 'error', id: msg.id, message: messageOf(err) });
  }
}

port.on('message', (msg: ToWorker) => {
  if (msg.op === 'load') void load(msg);
  else if (msg.op === 'run') void run(msg);
  else {
    const s = sessions.get(msg.key);
    sessions.delete(msg.key);
    void s?.release();
  }
});
