/**
 * One onnxruntime session's life, shared by the worker threads (worker.ts) and the inline runner
 * (inline-runner.ts): how a session is created, how its inputs and outputs are described, and how a
 * run turns TensorData feeds into TensorData outputs.
 */
import * as ort from 'onnxruntime-node';
import type { TensorData } from './tensors';

/** Tensor metadata as a session reports it: null dims are dynamic. type is an ONNX element type or 'non-tensor'. */
export interface TensorSpecWire {
  name: string;
  type: string;
  shape: Array<number | null>;
}

/** What a loaded model version exposes. */
export interface SessionIo {
  inputs: TensorSpecWire[];
  outputs: TensorSpecWire[];
}

/** One intra-op thread by default: parallelism comes from the workers (or the listeners). */
export function createSession(file: string, intraOpNumThreads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, {
    intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

function specs(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorSpecWire[] {
  return meta.map((m) => {
    if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: [] };
    // Symbolic or unknown dimensions arrive as strings ('' or 'N'): null marks them dynamic.
    return { name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : null)) };
  });
}

export function sessionIo(session: ort.InferenceSession): SessionIo {
  return { inputs: specs(session.inputMetadata), outputs: specs(session.outputMetadata) };
}

/** Runs the session on `feeds`; outputs default to all of the model's outputs. */
export async function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, TensorData>,
  outputs: string[] | undefined,
): Promise<Record<string, TensorData>> {
  const tensors: Record<string, ort.Tensor> = {};
  for (const name in feeds) {
    const t = feeds[name];
    tensors[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  const results = await session.run(tensors, outputs ?? session.outputNames);
  const out: Record<string, TensorData> = {};
  for (const name in results) {
    const tensor = results[name];
    out[name] = { type: tensor.type as TensorData['type'], dims: [...tensor.dims], data: tensor.data };
  }
  return out;
}
