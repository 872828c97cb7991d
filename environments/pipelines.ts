import { z } from 'zod';
import { ownValue } from '../core/records';
import { distributedTraining } from './training-distributed';

/*
 * Pipelines: named DAGs of steps, rendered as Argo Workflows WorkflowTemplates (constructs/pipelines/) and
 * run as local processes by `mlops pipeline run --local` (runtime/pipelines/). One definition serves both.
 *
 * Placeholders in a step's command and args (resolved by both renderings):
 *   {{params.<name>}}             a pipeline parameter (overridable at submit time)
 *   {{steps.<step>.<output>}}     an output parameter of a step this one depends on (an MLflow run id, a model URI)
 *   {{outputs.<output>}}          the file this step writes its output parameter <output> to
 *   {{artifacts.<name>}}          the path of an artifact: one this step produces, or one it takes from a dependency
 */

/** A DNS-1123 label (step, pipeline and parameter names become Argo template and task names). */
const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits, "-")')
  .max(40, 'must be at most 40 characters');

const quantity = z.string().regex(/^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, 'must be a Kubernetes quantity, e.g. "500m", "1Gi"');

const cron = z.string().regex(/^(\S+\s+){4}\S+$/, 'must be a five-field cron expression');

/** Matches every placeholder in a string. */
export const PLACEHOLDER = /\{\{\s*([a-z]+)\.([a-z0-9-]+)(?:\.([a-z0-9-]+))?\s*\}\}/g;

export const pipelineStep = z
  .object({
    /** Image of the step; default: `training.image` (pinned by the image lock like it). */
    image: z.string().min(1).optional(),
    command: z.array(z.string().min(1)).min(1).max(32),
    args: z.array(z.string()).max(128).default([]),
    /** Default: `training.resources`. */
    resources: z
      .object({ requests: z.object({ cpu: quantity, memory: quantity }).strict(), limits: z.object({ cpu: quantity.optional(), memory: quantity }).strict() })
      .strict()
      .optional(),
    /** GPU pool (from `gpu.pools`) the step runs on; default: CPU nodes. */
    gpuPool: z.string().min(1).optional(),
    /** GPUs of the step's pod when `gpuPool` is set. */
    gpus: z.number().int().min(1).max(16).default(1),
    /** Steps that must succeed first. */
    dependsOn: z.array(z.string().min(1)).max(32).default([]),
    /** Small values the step writes (`{{outputs.<name>}}`) for later steps: run ids, model URIs, versions. */
    outputs: z.array(name).max(16).default([]),
    /** Large data the step writes under `{{artifacts.<name>}}`, kept in the platform's artifact store. */
    artifacts: z.array(name).max(16).default([]),
    /** Artifacts taken from dependencies: local name → producing step (the artifact has the same name there). */
    inputArtifacts: z.record(name, z.string().min(1)).default({}),
    /** Extra attempts after a failure. */
    retries: z.number().int().min(0).max(10).default(0),
    /** Wall-clock limit of one attempt. */
    timeoutSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 86400)
      .default(3600),
    /**
     * Run the step as a Kubeflow Training Operator PyTorchJob (`workers` pods on `gpuPool`, `distributed.gpusPerWorker`
     * GPUs each; `gpus` does not apply) instead of one pod: rank 0 logs the step's run. Argo collects no files from
     * the job's pods, so such a step has no outputs or artifacts: later steps find its run by the pipeline-run tags
     * (`mlops pipeline step find-run`). Locally, `workers` processes with RANK 0..workers-1.
     */
    distributed: distributedTraining.optional(),
  })
  .strict();

export const pipelineDefinition = z
  .object({
    /** Parameters with their defaults (`{{params.<name>}}`); `mlops pipeline submit --param k=v` overrides them. */
    parameters: z.record(name, z.string().max(1024)).default({}),
    /** Cron schedule: also render a CronWorkflow. */
    schedule: cron.optional(),
    /** Wall-clock limit of the whole workflow. */
    timeoutSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86400)
      .default(4 * 3600),
    steps: z.record(name, pipelineStep).refine((s) => Object.keys(s).length > 0 && Object.keys(s).length <= 64, 'must have between 1 and 64 steps'),
  })
  .strict()
  .superRefine((p, ctx) => checkGraph(p, ctx));

export type PipelineDefinition = z.output<typeof pipelineDefinition>;
export type PipelineStep = z.output<typeof pipelineStep>;

/** Named pipelines of an environment; each becomes a WorkflowTemplate `<name>` in the training namespace. */
export const pipelines = z.record(name, pipelineDefinition).refine((p) => Object.keys(p).length <= 32, 'at most 32 pipelines');

/** A step by name, or undefined for a name the definition does not have (an unknown dependency). */
function stepOf(p: Pick<PipelineDefinition, 'steps'>, name: string): PipelineStep | undefined {
  return ownValue(p.steps, name);
}

/** Steps reachable backwards from `step` through dependsOn (its ancestors). */
export function ancestors(p: Pick<PipelineDefinition, 'steps'>, step: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(stepOf(p, step)?.dependsOn ?? [])];
  for (let s = stack.pop(); s !== undefined; s = stack.pop()) {
    const dep = stepOf(p, s);
    if (seen.has(s) || !dep) continue;
    seen.add(s);
    stack.push(...dep.dependsOn);
  }
  return seen;
}

/** The steps in an order where each comes after its dependencies (the definition must be acyclic). */
export function topologicalOrder(p: Pick<PipelineDefinition, 'steps'>): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (s: string): void => {
    if (done.has(s)) return;
    done.add(s);
    p.steps[s].dependsOn.forEach(visit);
    order.push(s);
  };
  Object.keys(p.steps).forEach(visit);
  return order;
}

/** A dependency cycle through `start`, as the path of step names, or undefined. */
function cycleFrom(p: PipelineDefinition, start: string): string[] | undefined {
  const walk = (s: string, path: string[]): string[] | undefined => {
    for (const d of stepOf(p, s)?.dependsOn ?? []) {
      if (d === start) return [...path, d];
      if (!path.includes(d) && d in p.steps) {
        const found = walk(d, [...path, d]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(start, [start]);
}

/** Dependencies resolve, the graph is acyclic, and every placeholder names something the step can see. */
function checkGraph(p: PipelineDefinition, ctx: z.RefinementCtx): void {
  const reported = new Set<string>();
  for (const [stepName, step] of Object.entries(p.steps)) {
    step.dependsOn.forEach((d, i) => {
      if (!(d in p.steps))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', stepName, 'dependsOn', i],
          message: `unknown step "${d}" (defined: ${Object.keys(p.steps).join(', ')})`,
        });
    });
    const cycle = cycleFrom(p, stepName);
    if (cycle && !cycle.some((s) => reported.has(s))) {
      cycle.forEach((s) => reported.add(s));
      ctx.addIssue({ code: 'custom', path: ['steps', stepName, 'dependsOn'], message: `dependency cycle: ${cycle.join(' → ')}` });
    }
    const before = ancestors(p, stepName);
    Object.entries(step.inputArtifacts).forEach(([art, from]) => {
      const producer = p.steps[from];
      if (!before.has(from))
        ctx.addIssue({ code: 'custom', path: ['steps', stepName, 'inputArtifacts', art], message: `step "${from}" is not a dependency of "${stepName}"` });
      else if (!producer.artifacts.includes(art))
        ctx.addIssue({ code: 'custom', path: ['steps', stepName, 'inputArtifacts', art], message: `step "${from}" produces no artifact "${art}"` });
    });
    if (step.distributed) checkDistributedStep(stepName, step, ctx);
    const check = (text: string, field: 'command' | 'args', i: number) => {
      const problem = placeholderProblem(p, stepName, text);
      if (problem) ctx.addIssue({ code: 'custom', path: ['steps', stepName, field, i], message: problem });
    };
    step.command.forEach((t, i) => check(t, 'command', i));
    step.args.forEach((t, i) => check(t, 'args', i));
  }
}

/** A distributed step hands nothing on through files: its pods are the Training Operator's, not Argo's. */
function checkDistributedStep(stepName: string, step: PipelineStep, ctx: z.RefinementCtx): void {
  for (const field of ['outputs', 'artifacts', 'inputArtifacts'] as const) {
    if (Object.keys(step[field]).length === 0) continue;
    ctx.addIssue({
      code: 'custom',
      path: ['steps', stepName, field],
      message: `not supported on a distributed step (a PyTorchJob: Argo collects no files from its pods); later steps find its run with mlops pipeline step find-run`,
    });
  }
}

/** Why a placeholder in one of `stepName`'s strings cannot resolve, or undefined when all can. */
function placeholderProblem(p: PipelineDefinition, stepName: string, text: string): string | undefined {
  const step = p.steps[stepName];
  for (const m of text.matchAll(PLACEHOLDER)) {
    const [whole, kind, a, b] = m;
    if (kind === 'params' && !b && !(a in p.parameters))
      return `${whole}: unknown parameter "${a}" (defined: ${Object.keys(p.parameters).join(', ') || 'none'})`;
    if (kind === 'outputs' && !b && !step.outputs.includes(a)) return `${whole}: "${a}" is not in this step's outputs`;
    if (kind === 'artifacts' && !b && !step.artifacts.includes(a) && !(a in step.inputArtifacts))
      return `${whole}: "${a}" is neither produced nor taken by this step`;
    if (kind === 'steps' && b) {
      if (!ancestors(p, stepName).has(a)) return `${whole}: step "${a}" is not a dependency of "${stepName}"`;
      if (!p.steps[a].outputs.includes(b)) return `${whole}: step "${a}" has no output "${b}"`;
    }
    if (!['params', 'outputs', 'artifacts', 'steps'].includes(kind) || (kind === 'steps') !== !!b)
      return `${whole}: unknown placeholder (use params.X, steps.S.X, outputs.X or artifacts.X)`;
  }
  return undefined;
}

/** What an environment file writes for one pipeline (defaults may be left out). */
export type PipelineInput = z.input<typeof pipelineDefinition>;

/** How the churn pipeline trains: on one pod (default), or on a GPU pool, or as a distributed PyTorchJob. */
export interface ChurnTraining {
  /** GPU pool (from `gpu.pools`) of the train step. */
  gpuPool?: string;
  /** Train as a PyTorchJob: `mlops train` on every replica, rank 0 logging the run, found by a find-run step. */
  distributed?: z.input<typeof distributedTraining>;
}

/** A churn step running `mlops pipeline step <kind>` with the pipeline's experiment. */
type ChurnStep = (kind: string, args: string[]) => { command: string[]; args: string[] };

/** The churn pipeline's training: one `train` step, or a distributed `train` and the `train-run` step handing its run on. */
function churnTrainSteps(step: ChurnStep, training: ChurnTraining | undefined): Record<string, z.input<typeof pipelineStep>> {
  const dist = training?.distributed;
  const pool = training?.gpuPool ? { gpuPool: training.gpuPool } : {};
  return dist
    ? {
        train: {
          command: ['mlops', 'train'],
          args: ['--experiment', '{{params.experiment}}', '--rows', '{{params.rows}}', '--seed', '{{params.seed}}', '--shift', '{{params.shift}}'],
          dependsOn: ['prepare-data'],
          distributed: dist,
          ...pool,
          retries: 1,
        },
        'train-run': {
          ...step('find-run', ['--step', 'train', '--run-id-file', '{{outputs.run-id}}', '--model-uri-file', '{{outputs.model-uri}}']),
          dependsOn: ['train'],
          outputs: ['run-id', 'model-uri'],
          timeoutSeconds: 300,
        },
      }
    : {
        train: {
          ...step('train', ['--data', '{{artifacts.dataset}}', '--run-id-file', '{{outputs.run-id}}', '--model-uri-file', '{{outputs.model-uri}}']),
          dependsOn: ['prepare-data'],
          inputArtifacts: { dataset: 'prepare-data' },
          outputs: ['run-id', 'model-uri'],
          ...pool,
          retries: 1,
        },
      };
}

/**
 * The default pipeline, replacing the standalone retraining flow: prepare data → train → evaluate →
 * register → gated promote. Each step logs its own run (tagged with the pipeline run) to the tracking
 * server; the dataset travels as an artifact, run ids, model URIs and versions as output parameters.
 * With `training.distributed` the train step is a PyTorchJob (same data: `mlops train` generates the rows
 * prepare-data does from the same parameters) and a `train-run` step hands its run on.
 */
export function churnPipeline(opts: { schedule?: string; minAuc?: number; training?: ChurnTraining } = {}): PipelineInput {
  const step = (kind: string, args: string[]) => ({ command: ['mlops', 'pipeline', 'step', kind], args: [...args, '--experiment', '{{params.experiment}}'] });
  const dist = opts.training?.distributed;
  const trainSteps = churnTrainSteps(step, opts.training);
  const trained = dist ? 'train-run' : 'train';
  return {
    parameters: {
      experiment: 'churn',
      'registered-model': 'churn-predictor',
      alias: 'champion',
      rows: '5000',
      seed: '42',
      shift: '0',
      'min-auc': String(opts.minAuc ?? 0.75),
    },
    ...(opts.schedule ? { schedule: opts.schedule } : {}),
    steps: {
      'prepare-data': {
        ...step('prepare-data', ['--rows', '{{params.rows}}', '--seed', '{{params.seed}}', '--shift', '{{params.shift}}', '--out', '{{artifacts.dataset}}']),
        artifacts: ['dataset'],
        retries: 2,
        timeoutSeconds: 600,
      },
      ...trainSteps,
      evaluate: {
        ...step('evaluate', ['--data', '{{artifacts.dataset}}', '--model-run', `{{steps.${trained}.run-id}}`]),
        dependsOn: [trained],
        inputArtifacts: { dataset: 'prepare-data' },
        timeoutSeconds: 600,
      },
      register: {
        ...step('register', [
          '--model-uri',
          `{{steps.${trained}.model-uri}}`,
          '--name',
          '{{params.registered-model}}',
          '--version-file',
          '{{outputs.version}}',
        ]),
        dependsOn: ['evaluate'],
        outputs: ['version'],
        timeoutSeconds: 300,
      },
      promote: {
        ...step('promote', [
          '--name',
          '{{params.registered-model}}',
          '--version',
          '{{steps.register.version}}',
          '--alias',
          '{{params.alias}}',
          '--require',
          'metrics.eval_auc >= {{params.min-auc}}',
        ]),
        dependsOn: ['register'],
        timeoutSeconds: 300,
      },
    },
  };
}
