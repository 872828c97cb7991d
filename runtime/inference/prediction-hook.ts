import type { LoadedModel } from './model';
import type { TensorData } from './tensors';

/** Model inputs as the monitoring hook sees them: one array per feature (column) or per tensor input. */
export type PredictionInputs = Record<string, Float32Array | number[]>;

/**
 * Called after each successful prediction, off the request path (setImmediate after the reply is
 * sent), e.g. to feed drift metrics. Exceptions are logged and ignored.
 */
export type PredictionHook = (model: { name: string; version: string }, inputs: PredictionInputs, outputs: Record<string, TensorData>) => void;

function numbers(data: Exclude<TensorData['data'], string[]>): Float32Array | number[] {
  // By tag, not instanceof: arrays from a worker may come from another realm (jest's vm).
  if (Object.prototype.toString.call(data) === '[object Float32Array]') return data as Float32Array;
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

/** Column `c` of a row-major [rows, k] tensor, as Float32Array for float32 data and numbers otherwise. */
function column(data: Exclude<TensorData['data'], string[]>, rows: number, k: number, c: number): Float32Array | number[] {
  const f32 = Object.prototype.toString.call(data) === '[object Float32Array]';
  const out = f32 ? new Float32Array(rows) : new Array<number>(rows);
  for (let r = 0; r < rows; r++) out[r] = Number(data[r * k + c]);
  return out;
}

/** What a hook's inputs object reads its arrays from: one source per request, arrays built on first read. */
interface InputSource {
  names: string[];
  build(name: string): Float32Array | number[];
  built: Map<string, Float32Array | number[]>;
}

function inputValue(src: InputSource, key: string | symbol): Float32Array | number[] | undefined {
  if (typeof key !== 'string' || !src.names.includes(key)) return undefined;
  let value = src.built.get(key);
  if (value === undefined) src.built.set(key, (value = src.build(key)));
  return value;
}

/** A read-only record of `names` whose arrays exist once read: ownKeys, descriptors and reads go through here. */
const lazyInputs: ProxyHandler<InputSource> = {
  ownKeys: (src) => src.names,
  has: (src, key) => typeof key === 'string' && src.names.includes(key),
  get: (src, key) => inputValue(src, key),
  getOwnPropertyDescriptor: (src, key) => {
    const value = inputValue(src, key);
    return value === undefined ? undefined : { value, enumerable: true, configurable: true, writable: false };
  },
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
};

/**
 * Per-feature inputs for the monitoring hook: columns of a matrix input are split out by name, string
 * inputs left out. Each array is built when the hook first reads it, so a hook that ignores a model's
 * inputs (the drift monitor, for a model without reference statistics) costs no copy of them.
 */
export function hookInputs(model: LoadedModel, feeds: Record<string, TensorData>): PredictionInputs {
  let src: InputSource;
  if (model.layout?.kind === 'matrix' && model.layout.columns) {
    const t = feeds[model.layout.input.name];
    const data = t.data;
    const columns = model.layout.columns;
    const [rows, k] = t.dims;
    src = Array.isArray(data)
      ? { names: [], build: () => [], built: new Map() }
      : { names: columns, build: (name) => column(data, rows, k, columns.indexOf(name)), built: new Map() };
  } else {
    const names = Object.keys(feeds).filter((name) => !Array.isArray(feeds[name].data));
    src = { names, build: (name) => numbers(feeds[name].data as Exclude<TensorData['data'], string[]>), built: new Map() };
  }
  return new Proxy(src, lazyInputs) as unknown as PredictionInputs;
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
