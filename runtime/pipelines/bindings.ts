import * as path from 'node:path';
import { substitutePlaceholders } from '../../environments/pipeline-placeholders';
import type { PipelineStep } from '../../environments/pipelines';
import { ownValue } from '../../core/records';

/*
 * The local rendering of the placeholder grammar (the Argo one: constructs/pipelines/placeholders.ts). A run's
 * work dir holds one directory per step, as a step pod's /tmp holds its outputs and artifacts:
 *   <work dir>/<step>/outputs/<output>      the file a step writes an output parameter to
 *   <work dir>/<step>/artifacts/<artifact>  an artifact it produces, or its copy of one it takes
 * Step, output and artifact names are DNS-1123 labels (the schema's), so these paths stay inside the work dir.
 */

export const stepDir = (workDir: string, step: string): string => path.join(workDir, step);
export const outputsDir = (workDir: string, step: string): string => path.join(stepDir(workDir, step), 'outputs');
export const artifactsDir = (workDir: string, step: string): string => path.join(stepDir(workDir, step), 'artifacts');

/** What a local step's strings resolve against. */
export interface LocalBindings {
  /** The run's parameter values (defaults with the --param overrides). */
  readonly params: Readonly<Record<string, string>>;
  /** Output parameters of the steps that finished: step → output → value. */
  readonly outputs: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly workDir: string;
  readonly step: string;
}

/** A step's string with every placeholder resolved to a value or a path of this run. */
export function resolveLocal(text: string, b: LocalBindings): string {
  return substitutePlaceholders(text, (ref) => {
    if (ref.kind === 'params') {
      const v = ownValue(b.params, ref.name);
      if (v === undefined) throw new Error(`{{params.${ref.name}}}: no such parameter`);
      return v;
    }
    if (ref.kind === 'steps') {
      const v = ownValue(b.outputs.get(ref.step) ?? {}, ref.output);
      if (v === undefined) throw new Error(`{{steps.${ref.step}.${ref.output}}}: step "${ref.step}" did not write output "${ref.output}"`);
      return v;
    }
    if (ref.kind === 'outputs') return path.join(outputsDir(b.workDir, b.step), ref.name);
    return path.join(artifactsDir(b.workDir, b.step), ref.name);
  });
}

/** The process a step runs: its command and args resolved, a leading `mlops` replaced by this checkout's CLI. */
export function stepArgv(step: PipelineStep, b: LocalBindings, mlops: readonly string[]): string[] {
  const argv = [...step.command, ...step.args].map((t) => resolveLocal(t, b));
  return argv[0] === 'mlops' ? [...mlops, ...argv.slice(1)] : argv;
}
