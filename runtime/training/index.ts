/** The churn training entrypoint (`mlops train`) and its parts: data, model, ONNX export, MLflow client. */
export * from './data';
export * from './logistic';
export * from './onnx';
export * from './model-dir';
export * from './mlflow-client';
export * from './train';
