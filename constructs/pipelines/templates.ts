import type { EnvironmentConfig } from '../../environments';
import type { PipelineDefinition, PipelineStep } from '../../environments/pipelines';
import { distributedStepTemplate, type DistributedStep } from './distributed-step';
import { containerStepTemplate, dagTask, type ArgoTemplate } from './steps';

const isDistributed = (step: PipelineStep): step is DistributedStep => step.distributed !== undefined;

/** A step as an Argo template: a container template, or for a distributed step a resource template creating a PyTorchJob. */
export function stepTemplate(env: EnvironmentConfig, pipeline: string, name: string, step: PipelineStep, labels: Record<string, string>): ArgoTemplate {
  return isDistributed(step) ? distributedStepTemplate(env, pipeline, name, step, labels) : containerStepTemplate(env, pipeline, name, step, labels);
}

/** Every step's template and the DAG that runs them. */
export function pipelineTemplates(env: EnvironmentConfig, pipeline: string, def: PipelineDefinition, labels: Record<string, string>): ArgoTemplate[] {
  const steps = Object.entries(def.steps);
  const dag: ArgoTemplate = { name: 'main', dag: { tasks: steps.map(([n, s]) => dagTask(n, s)) } };
  return [dag, ...steps.map(([n, s]) => stepTemplate(env, pipeline, n, s, labels))];
}
