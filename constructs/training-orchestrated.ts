import type { Construct } from 'constructs';
import type { PlatformContext } from './common';
import { DistributedTrainingJob } from './distributed-training';
import type { PodGroup } from './facts';
import { HyperparameterSearch } from './tuning';
import { CHURN, trainCommand } from './training';

/**
 * The training namespace's work handed to Kubeflow operators, from the environment: the churn training as a
 * suspended PyTorchJob when `training.distributed` is set (unsuspend it, or copy it under a run name, to
 * train), and the Katib Experiment of `training.tuning`. Returns their pods.
 */
export function orchestratedTraining(scope: Construct, common: { ctx: PlatformContext; trackingCredentialsSecret?: string | null }): PodGroup[] {
  const { env } = common.ctx;
  const pods: PodGroup[] = [];
  const d = env.training.distributed;
  if (d)
    pods.push(
      new DistributedTrainingJob(scope, 'distributed', {
        ...common,
        name: `train-${CHURN.experiment}-distributed`,
        command: trainCommand(),
        distributed: d,
        suspend: true,
      }).pods,
    );
  const t = env.training.tuning;
  if (t)
    pods.push(
      new HyperparameterSearch(scope, 'tuning', {
        ...common,
        name: `tune-${CHURN.experiment}`,
        tuning: t,
        experiment: CHURN.experiment,
        registeredModel: CHURN.registeredModel,
      }).pods,
    );
  return pods;
}
