/*
 * Annotation keys that are contracts between the objects' writers (the constructs) and their readers (the
 * project's policies, kube-score), so neither side imports the other.
 */

/** Annotation holding `{"<rule-id>": "<reason>"}`: the object's own, reasoned exceptions to the project's policies. */
export const EXCEPTIONS_ANNOTATION = 'policies.mlops-blueprint.io/exceptions';

/** `kube-score/ignore` (comma-separated check ids) for a deliberate, documented deviation on one object. */
export const KUBE_SCORE_IGNORE = 'kube-score/ignore';
