import { Gauge, type Registry } from 'prom-client';
import { bucketOf, type ReferenceStats } from '../model';
import { populationStabilityIndex } from './psi';
import { ownValue } from '../../core/records';

export interface DriftMonitorOptions {
  /** Registry the gauges are registered on (the inference server's, so they appear on its /metrics). */
  registry: Registry;
  /** PSI above which a feature counts as drifted (the environment's `monitoring.driftPsiThreshold`). Default 0.2. */
  psiThreshold?: number;
  /** Most recent input rows each model version's summary covers (a sliding window). Default 1000. */
  windowSize?: number;
  /** Rows needed before PSI and the drift flag are reported: a handful of requests is noise. Default 100. */
  minRows?: number;
}

/** Identifies what a summary belongs to: the registered model (or file) and its version. */
export interface ModelKey {
  model: string;
  version: string;
}

export interface FeatureSummary {
  mean: number;
  std: number;
  psi: number;
}

export interface DriftStatus extends ModelKey {
  rows: number;
  /** Whether enough rows arrived for PSI to mean something (rows ≥ minRows). */
  ready: boolean;
  drifted: boolean;
  /** Features whose PSI exceeds the threshold. */
  driftedFeatures: string[];
  features: Record<string, FeatureSummary>;
}

/** Ring buffer of one model version's recent inputs: raw values for mean/std, bucket indices for PSI. */
class Window {
  readonly values: Float64Array;
  readonly buckets: Uint16Array;
  size = 0;
  next = 0;
  total = 0;
  constructor(
    readonly reference: ReferenceStats,
    readonly capacity: number,
  ) {
    this.values = new Float64Array(capacity * reference.columns.length);
    this.buckets = new Uint16Array(capacity * reference.columns.length);
  }

  push(row: ArrayLike<number>): void {
    const d = this.reference.columns.length;
    const base = this.next * d;
    for (let j = 0; j < d; j++) {
      const v = row[j];
      this.values[base + j] = v;
      this.buckets[base + j] = bucketOf(this.reference.features[this.reference.columns[j]].edges, v);
    }
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    this.total++;
  }

  summary(j: number): FeatureSummary {
    const d = this.reference.columns.length;
    const ref = this.reference.features[this.reference.columns[j]];
    const counts = new Array<number>(ref.proportions.length).fill(0);
    let sum = 0;
    for (let i = 0; i < this.size; i++) {
      sum += this.values[i * d + j];
      counts[this.buckets[i * d + j]]++;
    }
    const mean = this.size ? sum / this.size : NaN;
    let sq = 0;
    for (let i = 0; i < this.size; i++) sq += (this.values[i * d + j] - mean) ** 2;
    return { mean, std: this.size ? Math.sqrt(sq / this.size) : NaN, psi: this.size ? populationStabilityIndex(ref.proportions, counts) : NaN };
  }
}

/** Applies the defaults and checks the values; throws naming the bad option. */
export function resolveDriftOptions(opts: Omit<DriftMonitorOptions, 'registry'>): { psiThreshold: number; windowSize: number; minRows: number } {
  const psiThreshold = opts.psiThreshold ?? 0.2;
  const windowSize = opts.windowSize ?? 1000;
  const minRows = opts.minRows ?? Math.min(100, windowSize);
  if (!(psiThreshold > 0) || !Number.isFinite(psiThreshold)) throw new Error(`psiThreshold must be a positive number (got ${opts.psiThreshold})`);
  if (!Number.isInteger(windowSize) || windowSize < 1) throw new Error(`windowSize must be a positive integer (got ${opts.windowSize})`);
  if (!Number.isInteger(minRows) || minRows < 1 || minRows > windowSize)
    throw new Error(`minRows must be an integer between 1 and windowSize (got ${opts.minRows})`);
  return { psiThreshold, windowSize, minRows };
}

const keyOf = (k: ModelKey): string => `${k.model}\u0000${k.version}`;

/**
 * Per model version: a sliding window of prediction inputs summarized as per-feature mean, std and PSI
 * against the training reference logged with the model, plus a drift flag. Summaries are computed when
 * Prometheus scrapes (gauge `collect`), so observing a request costs one bucket lookup per feature.
 */
export class DriftMonitor {
  readonly psiThreshold: number;
  readonly windowSize: number;
  readonly minRows: number;
  private readonly windows = new Map<string, { key: ModelKey; window: Window }>();

  constructor(opts: DriftMonitorOptions) {
    ({ psiThreshold: this.psiThreshold, windowSize: this.windowSize, minRows: this.minRows } = resolveDriftOptions(opts));
    this.registerGauges(opts.registry);
  }

  /** The drift gauges, filled from the windows at each scrape (prom-client calls collect before it reads). */
  private registerGauges(registry: Registry): void {
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>) => void): void => {
      const g: Gauge<L> = new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect: () => {
          g.reset();
          fill(g);
        },
      });
    };
    const features = ['model', 'version', 'feature'] as const;
    const versions = ['model', 'version'] as const;
    gauge('mlops_feature_mean', 'Mean of a model input feature over the recent prediction window', features, (g) => {
      for (const s of this.statuses())
        for (const [f, v] of Object.entries(s.features)) if (Number.isFinite(v.mean)) g.set({ model: s.model, version: s.version, feature: f }, v.mean);
    });
    gauge('mlops_feature_std', 'Standard deviation of a model input feature over the recent prediction window', features, (g) => {
      for (const s of this.statuses())
        for (const [f, v] of Object.entries(s.features)) if (Number.isFinite(v.std)) g.set({ model: s.model, version: s.version, feature: f }, v.std);
    });
    gauge('mlops_feature_psi', 'Population stability index of a model input feature: recent window against the training data', features, (g) => {
      for (const s of this.statuses())
        if (s.ready) for (const [f, v] of Object.entries(s.features)) g.set({ model: s.model, version: s.version, feature: f }, v.psi);
    });
    gauge('mlops_drift_window_rows', 'Prediction rows in the drift window of a model version', versions, (g) => {
      for (const s of this.statuses()) g.set({ model: s.model, version: s.version }, s.rows);
    });
    gauge('mlops_drift_detected', '1 when any input feature PSI exceeds the drift threshold (after the minimum window rows), else 0', versions, (g) => {
      for (const s of this.statuses()) g.set({ model: s.model, version: s.version }, s.drifted ? 1 : 0);
    });
    gauge('mlops_drift_psi_threshold', 'PSI above which a feature counts as drifted', [], (g) => g.set(this.psiThreshold));
  }

  /** Starts (or restarts, for a new version) monitoring a model version against its training reference. */
  track(key: ModelKey, reference: ReferenceStats): void {
    this.windows.set(keyOf(key), { key: { ...key }, window: new Window(reference, this.windowSize) });
  }

  /** Stops reporting a version (e.g. after a swap the old version's series would otherwise linger). */
  untrack(key: ModelKey): void {
    this.windows.delete(keyOf(key));
  }

  isTracked(key: ModelKey): boolean {
    return this.windows.has(keyOf(key));
  }

  /**
   * Records input rows: `data` is row-major with the reference's column count per row (the model's input
   * tensor). Unknown versions are ignored: a model logged without reference stats is simply not monitored.
   */
  observe(key: ModelKey, data: ArrayLike<number>, rows?: number): void {
    const entry = this.windows.get(keyOf(key));
    if (!entry) return;
    const d = entry.window.reference.columns.length;
    const n = rows ?? Math.floor(data.length / d);
    if (n * d > data.length) throw new Error(`observe: ${n} rows of ${d} columns need ${n * d} values, got ${data.length}`);
    const row = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) row[j] = data[i * d + j];
      entry.window.push(row);
    }
  }

  /** Records rows given as objects keyed by column name (dataframe_records). */
  observeRecords(key: ModelKey, records: readonly object[]): void {
    const entry = this.windows.get(keyOf(key));
    if (!entry) return;
    const cols = entry.window.reference.columns;
    for (const r of records) entry.window.push(cols.map((c) => Number((r as Record<string, unknown>)[c])));
  }

  status(key: ModelKey): DriftStatus | undefined {
    const entry = this.windows.get(keyOf(key));
    if (!entry) return undefined;
    const { window } = entry;
    const features: Record<string, FeatureSummary> = {};
    window.reference.columns.forEach((c, j) => (features[c] = window.summary(j)));
    const ready = window.size >= this.minRows;
    const driftedFeatures = ready
      ? Object.entries(features)
          .filter(([, s]) => s.psi > this.psiThreshold)
          .map(([f]) => f)
      : [];
    return { ...entry.key, rows: window.size, ready, drifted: driftedFeatures.length > 0, driftedFeatures, features };
  }

  statuses(): DriftStatus[] {
    return [...this.windows.values()].flatMap((e) => this.status(e.key) ?? []);
  }
}

/** Column-wise inputs (one array per feature), as the inference server's onPrediction hook passes them. */
export type ColumnInputs = Record<string, ArrayLike<number>>;

/** Records rows given column-wise; columns the reference lacks are ignored, missing ones skip the batch. */
export function observeColumns(monitor: DriftMonitor, key: ModelKey, reference: ReferenceStats, inputs: ColumnInputs): void {
  const cols: Array<ArrayLike<number> | undefined> = reference.columns.map((c) => ownValue(inputs, c));
  if (!cols.every((c): c is ArrayLike<number> => c !== undefined)) return;
  const n = cols.at(0)?.length ?? 0;
  const d = cols.length;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = cols[j][i];
  monitor.observe(key, data, n);
}
