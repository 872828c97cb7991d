import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import type { HyperparameterTuning } from '../environments/training-distributed';
import { k8s, namespacePeer, standardLabels, tcp } from './common';
import { peerNetworkPolicy, PYTORCH_CONTAINER, pytorchJobSpec, pytorchJobSpecJson } from './distributed-training';
import { podGroup, type PodGroup } from './facts';
import { Experiment, PyTorchJob, type ExperimentSpecParameters } from './imports/kubeflow.org';
import { trainingJobSpec, type TrainingWorkloadProps } from './training';

/*
 * Hyperparameter search as a Katib v0.19.0 Experiment whose trials are the training step: a Job, or the
 * PyTorchJob when `training.distributed` is set. Each trial runs `mlops tune trial`, which logs a child run
 * (tag mlflow.parentRunId) of the search's parent run and prints its metrics as `name=value` lines — the
 * format of Katib's StdOut metrics collector (its default filter `([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?…)`).
 * `mlops tune register` then registers the best child as a model version.
 */

/** Katib's components and the db-manager port the injected metrics collector reports to. */
export const KATIB_DB_MANAGER = { labels: { 'katib.kubeflow.org/component': 'db-manager' }, port: 6789 } as const;

/** `--learning-rate` → `learningRate`: the trial parameter name a command references. */
export function trialParameterName(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** `mlops tune trial` with each searched parameter from Katib's substitution `${trialParameters.<name>}`. */
export function tuneTrialCommand(tuning: HyperparameterTuning, name: string, experiment: string, registeredModel: string): string[] {
  return [
    'mlops',
    'tune',
    'trial',
    '--tuning',
    name,
    '--experiment',
    experiment,
    '--metric',
    tuning.objective.metric,
    '--goal',
    tuning.objective.type,
    '--register',
    registeredModel,
    ...tuning.parameters.map((p) => `--${p.name}=\${trialParameters.${trialParameterName(p.name)}}`),
  ];
}

function parameterSpec(p: HyperparameterTuning['parameters'][number]): ExperimentSpecParameters {
  if (p.type === 'categorical') return { name: p.name, parameterType: 'categorical', feasibleSpace: { list: p.values } };
  return {
    name: p.name,
    parameterType: p.type,
    feasibleSpace: { min: String(p.min), max: String(p.max), ...(p.step !== undefined ? { step: String(p.step) } : {}) },
  };
}

export interface HyperparameterSearchProps extends Omit<TrainingWorkloadProps, 'command'> {
  readonly tuning: HyperparameterTuning;
  /** MLflow experiment of the parent and child runs. */
  readonly experiment: string;
  /** Registered model the best trial becomes a version of. */
  readonly registeredModel: string;
  /** Namespace of Katib (its db-manager), for the NetworkPolicy of the trial pods. @default "kubeflow" */
  readonly katibNamespace?: string;
}

/** The trial object (Job or PyTorchJob JSON without metadata: Katib names it) and its pods' labels. */
function trialSpec(
  props: HyperparameterSearchProps,
  command: string[],
): { trial: Record<string, unknown>; labels: Record<string, string>; primary: string; distributed: boolean } {
  const d = props.ctx.env.training.distributed;
  if (d) {
    const { spec, labels } = pytorchJobSpec({ ...props, command, distributed: d });
    return { trial: { ...PyTorchJob.GVK, spec: pytorchJobSpecJson(spec) }, labels, primary: PYTORCH_CONTAINER, distributed: true };
  }
  const { spec, labels } = trainingJobSpec({ ...props, command });
  return { trial: { apiVersion: 'batch/v1', kind: 'Job', spec: k8s.toJson_JobSpec(spec) }, labels, primary: 'train', distributed: false };
}

/**
 * The Katib Experiment of the environment's `training.tuning`, and the NetworkPolicy letting its trial pods
 * report metrics to Katib's db-manager (the injected StdOut collector sidecar does).
 */
export class HyperparameterSearch extends Construct {
  readonly name: string;
  readonly pods: PodGroup;

  constructor(scope: Construct, id: string, props: HyperparameterSearchProps) {
    super(scope, id);
    const { env } = props.ctx;
    const t = props.tuning;
    const ns = env.namespaces.training;
    this.name = props.name;
    const { trial, labels, primary, distributed } = trialSpec(props, tuneTrialCommand(t, props.name, props.experiment, props.registeredModel));
    this.pods = podGroup(ns, labels);
    const others = ['auc', 'accuracy', 'logloss'].filter((m) => m !== t.objective.metric);
    new Experiment(this, 'experiment', {
      metadata: { name: props.name, namespace: ns, labels: standardLabels(env, props.name, 'tuning') },
      spec: {
        objective: {
          type: t.objective.type,
          objectiveMetricName: t.objective.metric,
          additionalMetricNames: others,
          ...(t.objective.goal !== undefined ? { goal: t.objective.goal } : {}),
        },
        algorithm: { algorithmName: t.algorithm },
        maxTrialCount: t.maxTrials,
        parallelTrialCount: t.parallelTrials,
        maxFailedTrialCount: t.maxFailedTrials,
        parameters: t.parameters.map(parameterSpec),
        metricsCollectorSpec: { collector: { kind: 'StdOut' } },
        trialTemplate: {
          primaryContainerName: primary,
          // Rank 0 of a PyTorchJob is its Master; only its output carries the metrics.
          ...(distributed && !env.training.distributed?.elastic ? { primaryPodLabels: { 'training.kubeflow.org/job-role': 'master' } } : {}),
          trialParameters: t.parameters.map((p) => ({ name: trialParameterName(p.name), reference: p.name, description: `mlops train --${p.name}` })),
          trialSpec: trial,
        },
      },
    });
    katibReportPolicy(this, env, props.name, labels, props.katibNamespace ?? 'kubeflow');
    if (env.training.distributed) peerNetworkPolicy(this, env, props.name, env.training.distributed);
  }
}

function katibReportPolicy(scope: Construct, env: EnvironmentConfig, name: string, podLabels: Record<string, string>, katibNamespace: string): void {
  new k8s.KubeNetworkPolicy(scope, 'katib-egress', {
    metadata: { name: `${name}-to-katib`, namespace: env.namespaces.training, labels: standardLabels(env, `${name}-to-katib`, 'network-policy') },
    spec: {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': podLabels['app.kubernetes.io/name'], 'app.kubernetes.io/instance': env.name } },
      policyTypes: ['Egress'],
      egress: [{ to: [namespacePeer(katibNamespace, { ...KATIB_DB_MANAGER.labels })], ports: [tcp(KATIB_DB_MANAGER.port)] }],
    },
  });
}
