/** `mlops promote`: gated alias moves in the model registry. */
export * from './gate';
export * from './promote';
