import type { LoadedModel } from './model';
import type { TensorData } from './tensors';

/** Model inputs as the monitoring hook sees them: one array per feature (column) or per tensor input. */
export type PredictionInputs = Record<string, Float32Array | number[]>;

/**
 * Called after each successful prediction, off the request path (setImmediate after the reply is
 * sent), e.g. to feed drift metrics. Exceptions are logged and ignored.
 */
export type PredictionHook = (model: { name: string; version: string }, inputs: PredictionInputs, outputs: Record<string, TensorData>) => void;

function numbers(data: TensorData['data']): Float32Array | number[] | undefined {
  if (Array.isArray(data)) return undefined;
  // By tag, not instanceof: arrays from a worker may come from another realm (jest's vm).
  if (Object.prototype.toString.call(data) === '[object Float32Array]') return data as Float32Array;
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

/** Column `c` of a row-major [rows, k] tensor, as Float32Array for float32 data and numbers otherwise. */
function column(data: TensorData['data'], rows: number, k: number, c: number): Float32Array | number[] | undefined {
  if (Array.isArray(data)) return undefined;
  const f32 = Object.prototype.toString.call(data) === '[object Float32Array]';
  const out = f32 ? new Float32Array(rows) : new Array<number>(rows);
  for (let r = 0; r < rows; r++) out[r] = Number(data[r * k + c]);
  return out;
}

/** Per-feature inputs for the monitoring hook: columns of a matrix input are split out by name. */
export function hookInputs(model: LoadedModel, feeds: Record<string, TensorData>): PredictionInputs {
  const out: PredictionInputs = {};
  if (model.layout?.kind === 'matrix' && model.layout.columns) {
    const t = feeds[model.layout.input.name];
    const k = t.dims[1];
    model.layout.columns.forEach((name, c) => {
      const v = column(t.data, t.dims[0], k, c);
      if (v) out[name] = v;
    });
    return out;
  }
  for (const [name, t] of Object.entries(feeds)) {
    const v = numbers(t.data);
    if (v) out[name] = v;
  }
  return out;
}

interface Pending {
  model: LoadedModel;
  feeds: Record<string, TensorData>;
  outputs: Record<string, TensorData>;
}

/**
 * Calls the hook for each answered prediction after the answers of this event-loop turn are written:
 * one setImmediate per turn drains everything queued in it (not one timer and closure per request).
 */
export class PredictionNotifier {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly hook: PredictionHook | undefined,
    private readonly warn: (err: unknown) => void,
  ) {}

  notify(model: LoadedModel, feeds: Record<string, TensorData>, outputs: Record<string, TensorData>): void {
    if (!this.hook) return;
    this.queue.push({ model, feeds, outputs });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    const hook = this.hook;
    if (!hook) return;
    for (const p of queue) {
      try {
        hook({ name: p.model.name, version: p.model.version }, hookInputs(p.model, p.feeds), p.outputs);
      } catch (err) {
        this.warn(err);
      }
    }
  }
}
