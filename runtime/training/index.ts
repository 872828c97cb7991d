/** The churn training entrypoint (`mlops train`) and its parts: data, model, ONNX export. */
export * from './data';
export * from './logistic';
export * from './onnx';
export * from './train';
