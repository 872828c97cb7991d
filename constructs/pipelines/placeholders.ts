import { stepReferences, substitutePlaceholders } from '../../environments/pipeline-placeholders';

export { stepReferences };

/** Where a step pod keeps its output parameters and artifacts (under the /tmp emptyDir). */
export const OUTPUTS_DIR = '/tmp/outputs';
export const ARTIFACTS_DIR = '/tmp/artifacts';

/** Name of the template input that carries `{{steps.<step>.<output>}}` into a step. */
export function inputParameterName(step: string, output: string): string {
  return `${step}-${output}`;
}

/**
 * A step's string in Argo's expression syntax: pipeline parameters are workflow parameters, upstream outputs
 * arrive as this template's input parameters, own outputs and artifacts are files under /tmp.
 * (The local rendering of the same grammar: runtime/pipelines/bindings.ts.)
 */
export function toArgo(text: string): string {
  return substitutePlaceholders(text, (ref) => {
    if (ref.kind === 'params') return `{{workflow.parameters.${ref.name}}}`;
    if (ref.kind === 'steps') return `{{inputs.parameters.${inputParameterName(ref.step, ref.output)}}}`;
    if (ref.kind === 'outputs') return `${OUTPUTS_DIR}/${ref.name}`;
    return `${ARTIFACTS_DIR}/${ref.name}`;
  });
}
