/**
 * Synthesis: an environment (and a team's extensions) to Kubernetes objects in memory, validated against
 * their OpenAPI schemas and the policies, and written as GitOps files (`NN-<part>.k8s.yaml`).
 *
 * @module synth
 */
export {
  ARGOCD_FILE,
  renderEnvironment,
  renderYaml,
  schemaProblems,
  synthEnvironment,
  synthPlatform,
  SynthValidationError,
  validateObjects,
  writeSynth,
  type CloudOutputs,
  type PlatformFacts,
  type RenderedEnvironment,
  type RenderOptions,
  type SynthesizedFile,
  type SynthOptions,
} from '../stacks/gitops';
export { extensionPolicy, type PlatformExtension } from '../stacks/extensions';
export type { ConstructExtension, ExtensionContext, PlatformFactsView } from '../constructs/extensions';
