import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The inference server's Prometheus metrics, on their own registry (no global state between servers). */
export class InferenceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'protocol' | 'code'>;
  readonly latency: Histogram<'model' | 'protocol'>;
  readonly batchSize: Histogram<'model'>;
  readonly queueDepth: Gauge;
  readonly modelVersion: Gauge<'model' | 'version' | 'source'>;
  readonly swaps: Counter<'model'>;
  readonly swapFailures: Counter<'model'>;

  constructor(queueDepth: () => number, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'mlops_inference_requests_total', help: 'Inference requests by model, protocol (mlflow, v2) and HTTP status code.', labelNames: ['model', 'protocol', 'code'], registers });
    this.latency = new Histogram({
      name: 'mlops_inference_request_duration_seconds',
      help: 'Inference request latency (parse, queue, run, serialize) by model and protocol.',
      labelNames: ['model', 'protocol'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.batchSize = new Histogram({ name: 'mlops_inference_batch_size', help: 'Rows per onnxruntime session run (after adaptive batching).', labelNames: ['model'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers });
    this.queueDepth = new Gauge({ name: 'mlops_inference_queue_depth', help: 'Requests waiting for a worker.', registers, collect() { this.set(queueDepth()); } });
    this.modelVersion = new Gauge({ name: 'mlops_inference_model_loaded', help: 'The model version being served (value 1; version and source in labels).', labelNames: ['model', 'version', 'source'], registers });
    this.swaps = new Counter({ name: 'mlops_inference_model_swaps_total', help: 'Hot swaps to a new registry version.', labelNames: ['model'], registers });
    this.swapFailures = new Counter({ name: 'mlops_inference_model_swap_failures_total', help: 'Registry polls or new-version loads that failed (the current version keeps serving).', labelNames: ['model'], registers });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'mlops_inference_' });
  }
}
