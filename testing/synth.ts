import type { EnvironmentConfig } from '../environments/schema';
import type { KubeObject } from '../core/kube-objects';
import { renderEnvironment, synthPlatform, type PlatformFacts, type RenderOptions, type SynthesizedFile } from '../stacks/gitops';
import type { Violation } from '../policies/types';

/** What `synthesize` returns: the files as `mlops synth` would write them, every object, and the constructs' facts. */
export interface Synthesized {
  /** The environment as synthesized (images pinned by the lock when the gates ran). */
  readonly env: EnvironmentConfig;
  readonly files: SynthesizedFile[];
  /** Every object of every file, in file order. */
  readonly objects: KubeObject[];
  readonly facts: PlatformFacts;
  /** Policy warnings and excepted violations (error-level ones throw when the gates run). */
  readonly violations: Violation[];
}

export interface SynthesizeOptions extends RenderOptions {
  /**
   * Run synth's gates first — images pinned by the lock, every object against its OpenAPI schema, the
   * policies — throwing as `mlops synth` would. `false` synthesizes the constructs alone (no lock, no
   * checks), to test a construct under construction. @default true
   */
  readonly gates?: boolean;
}

/** Synthesizes an environment in memory, nothing written: what `mlops synth` checks and writes, for a test to assert on. */
export function synthesize(env: EnvironmentConfig, opts: SynthesizeOptions = {}): Synthesized {
  const rendered = opts.gates === false ? { env, files: synthPlatform(env, opts).files, violations: [] } : renderEnvironment(env, opts);
  // The facts of the environment as rendered (the gates may have pinned its images).
  const { facts } = synthPlatform(rendered.env, opts);
  return { env: rendered.env, files: rendered.files, objects: rendered.files.flatMap((f) => f.objects), facts, violations: rendered.violations };
}
