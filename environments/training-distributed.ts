import { z } from 'zod';

/*
 * `training.distributed` (a Training Operator PyTorchJob instead of one pod; docs/adr/0024) and
 * `training.tuning` (a Katib Experiment whose trials are the training step). The cross-field rules that
 * need the rest of the environment (the GPU pool) are in `checkDistributedTraining`.
 */

/** The trainer's hyperparameters a search may vary: `mlops train` flag names. */
export const TUNABLE_PARAMETERS = ['learning-rate', 'epochs', 'l2'] as const;
/** The metrics `mlops train` reports (and a search may optimize). */
export const TRAINING_METRICS = ['auc', 'accuracy', 'logloss', 'train_auc'] as const;
/** Katib v0.19.0's suggestion algorithms for these parameter types (its default KatibConfig). */
export const SEARCH_ALGORITHMS = ['random', 'grid', 'tpe', 'bayesianoptimization', 'cmaes', 'sobol'] as const;

export const distributedTraining = z
  .object({
    /** Pods of the job (one Master and workers - 1 Worker replicas; with `elastic`, the initial Worker count). */
    workers: z.number().int().min(2, 'must be at least 2 (one pod is the plain training Job)').max(64),
    /** GPUs per pod (0: CPU workers); needs `training.gpuPool` and fits one node of it. */
    gpusPerWorker: z.number().int().min(0).max(16).default(0),
    /** torch.distributed backend: nccl for GPUs, gloo for CPUs. @default nccl with GPUs, gloo without */
    backend: z.enum(['nccl', 'gloo']).optional(),
    /** Elastic training (torchrun rendezvous over c10d): the job keeps running between min and max workers. */
    elastic: z
      .object({
        minWorkers: z.number().int().min(1),
        maxWorkers: z.number().int().min(1).max(64),
        /** Restarts of the worker group before the job fails. */
        maxRestarts: z.number().int().min(0).max(100).default(3),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.backend === 'nccl' && d.gpusPerWorker === 0)
      ctx.addIssue({ code: 'custom', path: ['backend'], message: '"nccl" needs GPUs (gpusPerWorker ≥ 1); use "gloo" on CPU workers' });
    const e = d.elastic;
    if (!e) return;
    if (e.minWorkers > e.maxWorkers)
      ctx.addIssue({ code: 'custom', path: ['elastic', 'minWorkers'], message: `must be ≤ elastic.maxWorkers (${e.maxWorkers})` });
    else if (d.workers < e.minWorkers || d.workers > e.maxWorkers) {
      ctx.addIssue({
        code: 'custom',
        path: ['workers'],
        message: `must be between elastic.minWorkers and elastic.maxWorkers (${e.minWorkers}..${e.maxWorkers})`,
      });
    }
  });

const searchParameter = z
  .object({
    name: z.enum(TUNABLE_PARAMETERS),
    type: z.enum(['double', 'int', 'categorical']),
    /** Range of a double or int parameter. */
    min: z.number().optional(),
    max: z.number().optional(),
    /** Grid step of a double or int parameter (grid search needs it for doubles). */
    step: z.number().positive().optional(),
    /** Values of a categorical parameter. */
    values: z.array(z.string().min(1)).min(1).max(100).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.type === 'categorical') {
      if (!p.values) ctx.addIssue({ code: 'custom', path: ['values'], message: 'is required for a categorical parameter' });
      return;
    }
    if (p.min === undefined || p.max === undefined) {
      ctx.addIssue({ code: 'custom', path: [p.min === undefined ? 'min' : 'max'], message: `is required for a ${p.type} parameter` });
      return;
    }
    if (p.min > p.max) ctx.addIssue({ code: 'custom', path: ['min'], message: `must be ≤ max (${p.max})` });
    if (p.type === 'int' && (!Number.isInteger(p.min) || !Number.isInteger(p.max)))
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'min and max of an int parameter must be integers' });
  });

export const hyperparameterTuning = z
  .object({
    /** Metric of `mlops train` to optimize, and its direction. */
    objective: z
      .object({
        metric: z.enum(TRAINING_METRICS),
        type: z.enum(['maximize', 'minimize']),
        /** Stop the search once a trial reaches this value. */
        goal: z.number().optional(),
      })
      .strict(),
    algorithm: z.enum(SEARCH_ALGORITHMS).default('random'),
    parameters: z.array(searchParameter).min(1).max(TUNABLE_PARAMETERS.length),
    maxTrials: z.number().int().min(1).max(1000).default(12),
    parallelTrials: z.number().int().min(1).max(100).default(3),
    maxFailedTrials: z.number().int().min(0).max(1000).default(3),
  })
  .strict()
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.parameters.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['parameters', i, 'name'], message: `duplicate parameter "${p.name}"` });
      seen.add(p.name);
      if (t.algorithm === 'grid' && p.type === 'double' && p.step === undefined)
        ctx.addIssue({ code: 'custom', path: ['parameters', i, 'step'], message: 'is required for a double parameter with the grid algorithm' });
    });
    if (t.parallelTrials > t.maxTrials) ctx.addIssue({ code: 'custom', path: ['parallelTrials'], message: `must be ≤ maxTrials (${t.maxTrials})` });
  });

export type DistributedTraining = z.output<typeof distributedTraining>;

/** Environment variable carrying the torch.distributed backend to the training script. */
export const BACKEND_ENV = 'MLOPS_DIST_BACKEND';

/** The torch.distributed backend of a job: nccl for GPU workers, gloo for CPU ones, unless set. */
export const distributedBackend = (d: DistributedTraining): 'nccl' | 'gloo' => d.backend ?? (d.gpusPerWorker > 0 ? 'nccl' : 'gloo');
export type HyperparameterTuning = z.output<typeof hyperparameterTuning>;

interface TrainingFields {
  gpuPool?: string;
  distributed?: DistributedTraining;
}
interface PoolFields {
  name: string;
  gpusPerNode: number;
}

/**
 * Cross-field rules of a `distributed` block (`training.distributed`, or a pipeline step's at `at`): GPUs need
 * a GPU pool of the environment and must fit on one of its nodes.
 */
export function checkDistributedTraining(
  training: TrainingFields,
  pools: readonly PoolFields[],
  addIssue: (path: (string | number)[], message: string) => void,
  at: readonly (string | number)[] = ['training'],
): void {
  const d = training.distributed;
  if (!d || d.gpusPerWorker === 0) return;
  if (!training.gpuPool) {
    addIssue([...at, 'distributed', 'gpusPerWorker'], `needs ${at.join('.')}.gpuPool (GPU pools: ${pools.map((p) => p.name).join(', ') || 'none'})`);
    return;
  }
  const pool = pools.find((p) => p.name === training.gpuPool);
  if (pool && d.gpusPerWorker > pool.gpusPerNode) {
    addIssue([...at, 'distributed', 'gpusPerWorker'], `must be ≤ gpusPerNode of GPU pool "${pool.name}" (${pool.gpusPerNode}): a worker runs on one node`);
  }
}
