/** The onnxruntime-node inference server: public API for the CLI, the local platform and tests. */
export {
  startInferenceServer,
  INFERENCE_SERVER_VERSION,
  type InferenceServerOptions,
  type RunningInferenceServer,
  type PredictionHook,
  type PredictionInputs,
} from './server';
export { InferenceMetrics } from './metrics';
export { readModelFiles, type LoadedModel, type ColumnSpec, type TensorSpec } from './model';
export { InputError, type TensorData, type OnnxType } from './tensors';
