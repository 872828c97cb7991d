/**
 * The blueprint's main entry: define an environment, synthesize it (with a team's extensions), and the
 * platform construct. The subpath entries hold the rest: `mlops-blueprint/constructs`, `/environments`,
 * `/policies`, `/synth`, `/stacks` (Pulumi) and `/testing`.
 *
 * @module mlops-blueprint
 */
export { defineEnvironment, extendEnvironment, type EnvironmentConfig, type EnvironmentInput, type EnvironmentOverrides } from './environments';
export {
  renderEnvironment,
  synthPlatform,
  writeSynth,
  renderYaml,
  type PlatformExtension,
  type SynthOptions,
  type RenderOptions,
  type SynthesizedFile,
} from './synth';
export { MlopsPlatform, type MlopsPlatformProps, type ExtensionContext } from './constructs';
export type { KubeRule, PolicyException } from './policies';
