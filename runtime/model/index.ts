/**
 * The model-directory format shared by training (writes it), serving and monitoring (read it): the MLflow
 * model directory of an ONNX model and the reference statistics of its training data.
 */
export * from './model-dir';
export * from './reference-stats';
