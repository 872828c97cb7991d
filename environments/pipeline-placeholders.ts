import { PLACEHOLDER } from './pipelines';

/*
 * The placeholder grammar of environments/pipelines.ts as data, shared by both renderings of a pipeline:
 * constructs/pipelines (Argo expressions) and runtime/pipelines (a local run's values and paths). Each
 * supplies only what a reference means to it; the parsing lives here once.
 */

/** One placeholder of a step's string. */
export type PlaceholderRef =
  { kind: 'params'; name: string } | { kind: 'steps'; step: string; output: string } | { kind: 'outputs'; name: string } | { kind: 'artifacts'; name: string };

function refOf(kind: string, a: string, b: string | undefined): PlaceholderRef | undefined {
  if (kind === 'steps') return b === undefined ? undefined : { kind, step: a, output: b };
  if (b !== undefined) return undefined;
  if (kind === 'params' || kind === 'outputs' || kind === 'artifacts') return { kind, name: a };
  return undefined;
}

/**
 * `text` with each placeholder replaced by `resolve(ref)`. Definitions are validated before they reach a
 * rendering, so a malformed placeholder here is a programming error: it throws rather than passing through.
 */
export function substitutePlaceholders(text: string, resolve: (ref: PlaceholderRef) => string): string {
  return text.replace(PLACEHOLDER, (whole, kind: string, a: string, b: string | undefined) => {
    const ref = refOf(kind, a, b);
    if (!ref) throw new Error(`${whole}: unknown placeholder (use params.X, steps.S.X, outputs.X or artifacts.X)`);
    return resolve(ref);
  });
}

/** Every placeholder of `text`, in order. */
export function placeholdersIn(text: string): PlaceholderRef[] {
  return [...text.matchAll(PLACEHOLDER)].flatMap((m) => {
    const ref = refOf(m[1], m[2], m[3]);
    return ref ? [ref] : [];
  });
}

/** The upstream outputs a string refers to (`{{steps.S.X}}`), as [step, output] pairs. */
export function stepReferences(text: string): Array<[string, string]> {
  return placeholdersIn(text).flatMap((r): Array<[string, string]> => (r.kind === 'steps' ? [[r.step, r.output]] : []));
}
