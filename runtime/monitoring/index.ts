/** Prediction monitoring: feature summaries and PSI drift against the training reference (runtime/model), on /metrics. */
export * from './psi';
export * from './drift';
export * from './prediction-monitor';
