/** Prediction monitoring: feature summaries and PSI drift against the training reference, on /metrics. */
export * from './stats';
export * from './drift';
export * from './prediction-monitor';
