import { PLACEHOLDER } from '../../environments/pipelines';

/** Where a step pod keeps its output parameters and artifacts (under the /tmp emptyDir). */
export const OUTPUTS_DIR = '/tmp/outputs';
export const ARTIFACTS_DIR = '/tmp/artifacts';

/** Name of the template input that carries `{{steps.<step>.<output>}}` into a step. */
export function inputParameterName(step: string, output: string): string {
  return `${step}-${output}`;
}

/** The upstream outputs a string refers to (`{{steps.S.X}}`), as [step, output] pairs. */
export function stepReferences(text: string): Array<[string, string]> {
  return [...text.matchAll(PLACEHOLDER)].flatMap((m): Array<[string, string]> => (m[1] === 'steps' && m[3] ? [[m[2], m[3]]] : []));
}

/**
 * A step's string in Argo's expression syntax: pipeline parameters are workflow parameters, upstream outputs
 * arrive as this template's input parameters, own outputs and artifacts are files under /tmp.
 */
export function toArgo(text: string): string {
  return text.replace(PLACEHOLDER, (_whole, kind: string, a: string, b: string | undefined) => {
    if (kind === 'params') return `{{workflow.parameters.${a}}}`;
    if (kind === 'steps') return `{{inputs.parameters.${inputParameterName(a, b ?? '')}}}`;
    if (kind === 'outputs') return `${OUTPUTS_DIR}/${a}`;
    return `${ARTIFACTS_DIR}/${a}`;
  });
}

/** What a local run substitutes: parameter values, upstream outputs, and this step's own directories. */
export interface LocalBindings {
  readonly params: Readonly<Partial<Record<string, string>>>;
  readonly outputs: Readonly<Partial<Record<string, Readonly<Partial<Record<string, string>>>>>>;
  readonly outputsDir: string;
  readonly artifactPath: (name: string) => string;
}

/** A step's string with every placeholder resolved for a local process (validated definitions only). */
export function toLocal(text: string, b: LocalBindings): string {
  return text.replace(PLACEHOLDER, (whole, kind: string, a: string, c: string | undefined) => {
    if (kind === 'params') return b.params[a] ?? whole;
    if (kind === 'steps') {
      const v = b.outputs[a]?.[c ?? ''];
      if (v === undefined) throw new Error(`${whole}: step "${a}" did not write output "${c}"`);
      return v;
    }
    if (kind === 'outputs') return `${b.outputsDir}/${a}`;
    return b.artifactPath(a);
  });
}
