import { randomBytes } from 'node:crypto';
import type { EnvironmentConfig } from '../../environments';
import { churnPipeline, pipelineDefinition, type PipelineDefinition } from '../../environments/pipelines';
import { ownValue } from '../../core/records';

/** The pipeline a local run runs, and where its definition came from (printed, so the choice is visible). */
export interface ChosenPipeline {
  definition: PipelineDefinition;
  source: string;
}

/** The name of the built-in default pipeline (environments/pipelines.ts churnPipeline()). */
export const BUILT_IN_PIPELINE = 'churn';

/**
 * The environment's definition of `name`; for `churn` in an environment that defines none, the built-in
 * churnPipeline() (no built-in environment turns pipelines on, yet the quickstart runs the default one).
 * An environment that defines `churn` itself always wins.
 */
export function choosePipeline(env: EnvironmentConfig, name: string): ChosenPipeline {
  const own = env.pipelines ? ownValue(env.pipelines, name) : undefined;
  if (own) return { definition: own, source: `environment ${env.name}` };
  if (name === BUILT_IN_PIPELINE) return { definition: pipelineDefinition.parse(churnPipeline()), source: 'built-in churnPipeline()' };
  const defined = Object.keys(env.pipelines ?? {});
  throw new Error(`environment ${env.name} has no pipeline "${name}" (defined: ${defined.join(', ') || 'none'}; built in: ${BUILT_IN_PIPELINE})`);
}

/** Longest --param list and value taken (a parameter's schema limit). */
const MAX_PARAMS = 64;
const MAX_VALUE = 1024;

/** The definition's parameters with `k=v` overrides; an unknown name or a malformed pair is an error naming it. */
export function resolveParams(def: PipelineDefinition, overrides: readonly string[]): Record<string, string> {
  if (overrides.length > MAX_PARAMS) throw new Error(`at most ${MAX_PARAMS} --param values`);
  const params: Record<string, string> = { ...def.parameters };
  for (const pair of overrides) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!key) throw new Error(`--param "${pair}" must be <name>=<value>`);
    if (ownValue(def.parameters, key) === undefined)
      throw new Error(`--param ${key}: the pipeline has no parameter "${key}" (defined: ${Object.keys(def.parameters).join(', ') || 'none'})`);
    const value = pair.slice(eq + 1);
    if (value.length > MAX_VALUE) throw new Error(`--param ${key}: the value is longer than ${MAX_VALUE} characters`);
    params[key] = value;
  }
  return params;
}

/** A run id like Argo's generated workflow names: `<pipeline>-<UTC timestamp>-<4 hex>`, a DNS-1123 label. */
export function newRunId(pipeline: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${pipeline.slice(0, 40)}-${stamp}-${randomBytes(2).toString('hex')}`;
}
