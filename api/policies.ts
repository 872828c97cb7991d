/**
 * Policy-as-code over synthesized objects: the rule API (`KubeRule`, `Finding`), the built-in rules,
 * checking a set of objects, and reasoned exceptions (a file's, or the objects' own annotation).
 *
 * @module policies
 */
export {
  awsRules,
  checkAwsResource,
  checkAwsResources,
  checkManifests,
  EXCEPTIONS_ANNOTATION,
  formatViolations,
  hasErrors,
  kubeRules,
  objectRef,
  severityOf,
  type AwsContext,
  type AwsResource,
  type AwsRule,
  type CheckOptions,
  type Finding,
  type KubeObject,
  type KubeRule,
  type ObjectSet,
  type OutputFormat,
  type PolicyContext,
  type PolicyException,
  type PolicyMode,
  type Severity,
  type Violation,
} from '../policies/index';
export { asArray, asRecord, isRecord } from '../policies/rule';
export { applyExceptions, annotationExceptions, exceptionsFileSchema } from '../policies/exceptions';
export { assertPolicyClean, PolicyViolationError } from '../policies/synth-gate';
export { containers, podTemplate, type ContainerRef, type PodTemplate } from '../core/kube-objects';
