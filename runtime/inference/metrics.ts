import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundHistogram, type HistogramSeries } from './bound-histogram';

/** A request series' pre-bound state: its counter increments since the last scrape and its latency buckets. */
interface RequestSeries {
  labels: { model: string; protocol: string; code: string };
  unscraped: number;
  latency: HistogramSeries;
}

/** The inference server's Prometheus metrics, on their own registry (no global state between servers). */
export class InferenceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'protocol' | 'code'>;
  readonly latency: BoundHistogram;
  readonly batchSize: Histogram<'model'>;
  readonly queueDepth: Gauge;
  readonly modelVersion: Gauge<'model' | 'version' | 'source'>;
  readonly swaps: Counter<'model'>;
  readonly swapFailures: Counter<'model'>;
  private readonly requestSeries = new Map<string, RequestSeries>();
  /** Prediction requests answered (any status) since start: the shutdown log line. */
  answered = 0;

  constructor(queueDepth: () => number, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const series = this.requestSeries;
    this.requests = new Counter({
      name: 'mlops_inference_requests_total',
      help: 'Inference requests by model, protocol (mlflow, v2) and HTTP status code.',
      labelNames: ['model', 'protocol', 'code'],
      registers,
      // Requests are counted in plain fields on the hot path and added here, once per series per scrape.
      collect() {
        for (const s of series.values()) {
          if (s.unscraped === 0) continue;
          this.inc(s.labels, s.unscraped);
          s.unscraped = 0;
        }
      },
    });
    this.latency = new BoundHistogram(
      'mlops_inference_request_duration_seconds',
      'Inference request latency (parse, queue, run, serialize) by model and protocol.',
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      this.registry,
    );
    this.batchSize = new Histogram({
      name: 'mlops_inference_batch_size',
      help: 'Rows per onnxruntime session run (after adaptive batching).',
      labelNames: ['model'],
      // Up to the default --max-batch-size (1024) and beyond, so the quantiles of merged runs stay readable.
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'mlops_inference_queue_depth',
      help: 'Requests waiting for a worker.',
      registers,
      collect() {
        this.set(queueDepth());
      },
    });
    // 'max', not the cluster default 'sum': N listeners serving a version is still value 1.
    this.modelVersion = new Gauge({
      name: 'mlops_inference_model_loaded',
      help: 'The model version being served (value 1; version and source in labels).',
      labelNames: ['model', 'version', 'source'],
      registers,
      aggregator: 'max',
    });
    this.swaps = new Counter({ name: 'mlops_inference_model_swaps_total', help: 'Hot swaps to a new registry version.', labelNames: ['model'], registers });
    this.swapFailures = new Counter({
      name: 'mlops_inference_model_swap_failures_total',
      help: 'Registry polls or new-version loads that failed (the current version keeps serving).',
      labelNames: ['model'],
      registers,
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'mlops_inference_' });
  }

  /** One answered prediction request: requests_total and the latency histogram, without label hashing. */
  recordRequest(model: string, protocol: string, status: number, seconds: number): void {
    const key = `${protocol} ${status} ${model}`;
    let s = this.requestSeries.get(key);
    if (!s) {
      s = { labels: { model, protocol, code: String(status) }, unscraped: 0, latency: this.latency.series({ model, protocol }) };
      this.requestSeries.set(key, s);
    }
    s.unscraped++;
    this.answered++;
    s.latency.observe(seconds);
  }
}
