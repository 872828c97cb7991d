import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Registry } from 'prom-client';
import { DriftMonitor, observeColumns, resolveDriftOptions, type ColumnInputs, type DriftMonitorOptions, type ModelKey } from './drift';
import { parseReferenceStats, REFERENCE_STATS_FILE, type ReferenceStats } from '../model';

/** What the monitor needs to know about the served model: its identity and where its ONNX file is. */
export interface ServedModel {
  name: string;
  version: string;
  onnxPath: string;
}

export interface PredictionMonitorOptions extends Omit<DriftMonitorOptions, 'registry'> {
  /** Logs a reference that cannot be read (the model is then served unmonitored). */
  warn?: (message: string) => void;
}

/**
 * Wires drift monitoring into the inference server: `registerMetrics` puts the gauges on the server's
 * registry, `onPrediction` feeds each prediction's inputs to the window of the version that answered.
 * The reference (`reference_stats.json` next to model.onnx, logged by `mlops train`) is read the first
 * time a version is seen; older versions are dropped once a swap makes them unreachable.
 */
export class PredictionMonitor {
  private monitor?: DriftMonitor;
  private readonly references = new Map<string, ReferenceStats | null>();
  private current?: ModelKey;
  private served?: () => ServedModel;

  constructor(private readonly opts: PredictionMonitorOptions = {}) {
    // Validate the options now, not at the first request.
    resolveDriftOptions(opts);
  }

  /** For InferenceServerOptions.registerMetrics. */
  readonly registerMetrics = (registry: Registry): void => {
    this.monitor = new DriftMonitor({ ...this.opts, registry });
  };

  /** Tells the monitor how to find the served model's files (call with `() => server.model()`). */
  attach(served: () => ServedModel): void {
    this.served = served;
  }

  get drift(): DriftMonitor | undefined {
    return this.monitor;
  }

  /** For InferenceServerOptions.onPrediction. */
  readonly onPrediction = (model: { name: string; version: string }, inputs: ColumnInputs): void => {
    const monitor = this.monitor;
    if (!monitor) return;
    const key: ModelKey = { model: model.name, version: model.version };
    const id = `${model.name}@${model.version}`;
    let reference = this.references.get(id);
    if (reference === undefined) {
      reference = this.loadReference(model);
      if (reference === undefined) return; // not resolvable yet: try again on the next prediction
      this.references.set(id, reference);
      if (reference) {
        if (this.current && (this.current.model !== key.model || this.current.version !== key.version)) monitor.untrack(this.current);
        monitor.track(key, reference);
        this.current = key;
      }
    }
    if (reference) observeColumns(monitor, key, reference, inputs);
  };

  private loadReference(model: { name: string; version: string }): ReferenceStats | null | undefined {
    const served = this.served?.();
    if (!served || served.name !== model.name || served.version !== model.version) return undefined;
    const file = path.join(path.dirname(served.onnxPath), REFERENCE_STATS_FILE);
    if (!fs.existsSync(file)) return null;
    try {
      return parseReferenceStats(JSON.parse(fs.readFileSync(file, 'utf8')));
    } catch (err) {
      this.opts.warn?.(
        `${model.name} version ${model.version}: ${REFERENCE_STATS_FILE} unusable, drift not monitored (${err instanceof Error ? err.message : String(err)})`,
      );
      return null;
    }
  }
}
