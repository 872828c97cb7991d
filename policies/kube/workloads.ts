/*
 * The workload helpers the rules use. They live in the neutral core/kube-objects.ts (constructs, stacks and
 * tests read workloads too); re-exported here for the policies' public API.
 */
export {
  containerName,
  containers,
  findObject,
  LONG_RUNNING_KINDS,
  mapSelectorMatches,
  podTemplate,
  podTemplates,
  selectorMatches,
  stringMap,
  WORKLOAD_KINDS,
  type ContainerRef,
  type PodTemplate,
} from '../../core/kube-objects';
