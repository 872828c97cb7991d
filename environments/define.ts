import { builtInEnvironment, deepMerge, ENVIRONMENT_NAMES, validateEnvironment } from './index';
import type { EnvironmentConfig, EnvironmentInput } from './schema';

/*
 * How a team writes its own environment in its own repository: a typed object (checked by the compiler
 * against the schema's input type), validated at once so a bad field fails where it is defined, with its
 * dotted path — the same validation `mlops synth --env <file>` applies.
 */

/** Every field optional, recursively; arrays and scalars replace what they override whole. */
export type EnvironmentOverrides<T = EnvironmentInput> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: EnvironmentOverrides<T[K]> }
    : T;

/**
 * Validates a team's environment and fills in the documented defaults. Throws `EnvironmentValidationError`
 * listing every problem with its field path (`inference.models[0].alias: …`).
 */
export function defineEnvironment(input: EnvironmentInput, source = `"${input.name}"`): EnvironmentConfig {
  return validateEnvironment(input, source);
}

/**
 * A built-in environment (`dev`, `staging`, `prod`) or any environment input with overrides merged in
 * (objects recursively; arrays replace whole, so to add a model spread the base's `inference.models`).
 * Returns the input, for `defineEnvironment`.
 */
export function extendEnvironment(base: string | EnvironmentInput, overrides: EnvironmentOverrides): EnvironmentInput {
  if (typeof base !== 'string') return deepMerge(base, overrides as Record<string, unknown>);
  const input = builtInEnvironment(base);
  if (!input) throw new Error(`unknown environment "${base}" (known: ${ENVIRONMENT_NAMES.join(', ')})`);
  return deepMerge(input, overrides as Record<string, unknown>);
}
