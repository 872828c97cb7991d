/**
 * The environment schema (zod), its types, and how a team defines its own environment:
 * `defineEnvironment` validates one (every problem with its field path), `extendEnvironment` starts from a
 * built-in one.
 *
 * @module environments
 */
export {
  environmentSchema,
  imageRef,
  resourceRequirements,
  GITOPS_NEEDS_EXTERNAL_SECRETS,
  type EnvironmentConfig,
  type EnvironmentInput,
  type GpuPool,
  type InferenceModel,
  type ResourceRequirements,
} from '../environments/schema';
export { partOverridesSchema, type PartOverrides } from '../environments/parts';
export { defineEnvironment, extendEnvironment, type EnvironmentOverrides } from '../environments/define';
export {
  builtInEnvironments,
  deepMerge,
  ENVIRONMENT_NAMES,
  EnvironmentSyntaxError,
  EnvironmentValidationError,
  loadEnvironment,
  loadEnvironmentFile,
  resolveEnvironment,
  validateEnvironment,
  type ConfigProblem,
} from '../environments/index';
export { DEFAULT_IMAGE_LOCK, readImageLock, resolveImages, UnpinnedImagesError, type ImageLock } from '../environments/image-lock';
