import { z } from 'zod';
import type { Violation } from './types';
import { EXCEPTIONS_ANNOTATION } from '../core/annotations';
import { type KubeObject, objectRef } from '../core/kube-objects';

/** Annotation holding `{"<rule-id>": "<reason>"}` (core/annotations.ts: the constructs write it too). */
export { EXCEPTIONS_ANNOTATION };

/** One entry of an exceptions file: a rule waived for one object (`Kind/namespace/name`), with the reason. */
export interface PolicyException {
  rule: string;
  object: string;
  reason: string;
}

const reason = z.string().trim().min(1, 'needs a written reason');
const annotationSchema = z.record(z.string().min(1), reason);
export const exceptionsFileSchema = z.array(z.object({ rule: z.string().min(1), object: z.string().min(1), reason }).strict());

/** Reads the annotation; a malformed one is itself reported (an unreadable waiver must not silently waive). */
export function annotationExceptions(obj: KubeObject): { exceptions: PolicyException[]; problem?: Violation } {
  const raw = obj.metadata.annotations?.[EXCEPTIONS_ANNOTATION];
  if (raw === undefined) return { exceptions: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const result = annotationSchema.safeParse(parsed);
  if (!result.success) {
    return {
      exceptions: [],
      problem: {
        ruleId: 'policy-exception-valid',
        severity: 'error',
        object: objectRef(obj),
        field: `metadata.annotations["${EXCEPTIONS_ANNOTATION}"]`,
        message: `exceptions annotation must be a JSON object {"<rule-id>": "<reason>"} with a non-empty reason for each rule`,
        remediation: 'Write the annotation as JSON mapping each waived rule id to the reason it is waived.',
      },
    };
  }
  return { exceptions: Object.entries(result.data).map(([rule, why]) => ({ rule, object: objectRef(obj), reason: why })) };
}

/** Marks each violation an exception covers (same rule, same object); the violation stays in the output. */
export function applyExceptions(violations: Violation[], exceptions: PolicyException[]): Violation[] {
  const byKey = new Map(exceptions.map((e) => [`${e.rule}\u0000${e.object}`, e.reason]));
  return violations.map((v) => {
    const why = byKey.get(`${v.ruleId}\u0000${v.object}`);
    return why === undefined || v.ruleId === 'policy-exception-valid' ? v : { ...v, exception: { reason: why } };
  });
}
