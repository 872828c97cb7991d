import { Construct } from 'constructs';
import type { EnvOnlySecrets } from './deviations';
import type { EnvironmentConfig, InferenceModel } from '../environments';
import {
  emptyDir,
  INFERENCE_PORT,
  namespacePeer,
  selectorLabels,
  tcp,
  findGpuPool,
  gpuScheduling,
  imageVersion,
  k8s,
  resources,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  RUNTIME_UID,
  secretEnv,
  serviceAccount,
  standardLabels,
  trackingUrl,
  type PlatformContext,
} from './common';
import { PLATFORM_SECRETS } from './secrets';
import { IRSA_ANNOTATION, podGroup, type IdentityBinding, type PodGroup } from './facts';
import { KSERVE_SERVICE_HTTP_PORT } from './inference-kserve-types';
import { ownValue } from '../core/records';

/** ServiceAccount of training and retraining pods (the IRSA role, if any, is bound to exactly this name). */
export const TRAINING_SERVICE_ACCOUNT = 'training';
/** Pod label value the NetworkPolicies select training pods by (`app.kubernetes.io/component`). */
export const TRAINING_COMPONENT = 'training';
/**
 * Secret (keys `username`, `password`) with the tracking server login of the training and inference
 * pods, in the training and serving namespaces (PLATFORM_SECRETS.trackingClient*). The tracking server
 * runs with basic auth in every cluster environment; these become MLFLOW_TRACKING_USERNAME/PASSWORD.
 */
export const TRACKING_CLIENT_SECRET = PLATFORM_SECRETS.trackingClientTraining.name;

/**
 * Why the tracking login stays in env: the MLflow client (training scripts, and `mlops train` / `mlops serve`,
 * which mirror it) reads it only from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD.
 */
export const TRACKING_CLIENT_ENV_ONLY: EnvOnlySecrets = {
  MLFLOW_TRACKING_USERNAME:
    'the MLflow client (training scripts, mlops train and mlops serve) reads the tracking login only from MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD.',
  MLFLOW_TRACKING_PASSWORD:
    'the MLflow client (training scripts, mlops train and mlops serve) reads the tracking login only from MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD.',
};

/** What the tracking client in a pod needs: the in-cluster tracking URL and, unless disabled, the login. */
export function trackingClientEnv(env: EnvironmentConfig, credentialsSecret: string | null = TRACKING_CLIENT_SECRET): k8s.EnvVar[] {
  const out: k8s.EnvVar[] = [{ name: 'MLFLOW_TRACKING_URI', value: trackingUrl(env) }];
  if (credentialsSecret) {
    out.push(secretEnv('MLFLOW_TRACKING_USERNAME', credentialsSecret, 'username'), secretEnv('MLFLOW_TRACKING_PASSWORD', credentialsSecret, 'password'));
  }
  return out;
}

/** What the training Job and the retraining CronJob share. */
export interface TrainingWorkloadProps {
  readonly ctx: PlatformContext;
  /** Object name (Job/CronJob), a DNS label of at most 52 characters (CronJobs append 11). */
  readonly name: string;
  /** Command run in the training image. */
  readonly command: readonly string[];
  /** Extra environment (plain values; use `secretEnv` for credentials). @default none */
  readonly env?: readonly k8s.EnvVar[];
  /** Secrets whose every key becomes an env var (`envFrom`), e.g. a data-source login. @default none */
  readonly envFromSecrets?: readonly string[];
  /** Secret with the tracking login (`username`/`password`); null when the tracking server runs without auth. @default "tracking-client" */
  readonly trackingCredentialsSecret?: string | null;
  /** Retries before the Job fails. @default 2 */
  readonly backoffLimit?: number;
  /** Seconds a finished Job (and its pods' logs) is kept. @default 86400 (one day) */
  readonly ttlSecondsAfterFinished?: number;
  /** Wall-clock limit of the whole Job, retries included. @default 14400 (four hours) */
  readonly activeDeadlineSeconds?: number;
  /** Size limit of the scratch directory (/tmp: datasets, ONNX export). @default "2Gi" */
  readonly scratchSize?: string;
  /** GPUs per pod on `training.gpuPool`; 0 schedules on CPU nodes. @default training.gpus */
  readonly gpus?: number;
  /**
   * Run as this ServiceAccount with its API token mounted, for pods that call the Kubernetes API (the retrain
   * CronJob submitting a pipeline). @default the `training` ServiceAccount, no token
   */
  readonly apiServiceAccount?: string;
}

/** A size given in Mi or Gi, in MiB (emptyDir sizes, to derive ephemeral-storage limits from). */
export function mebibytes(size: string): number {
  const m = /^([0-9]+)(Mi|Gi)$/.exec(size);
  if (!m) throw new Error(`size "${size}" must be given in Mi or Gi`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

function validateName(name: string, max: number): void {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > max) {
    throw new Error(`training workload name "${name}" must be a DNS label of at most ${max} characters`);
  }
}

/**
 * The Job spec of a training run: restricted pod security with a read-only root filesystem and an
 * emptyDir for scratch, the environment's resources, GPU limits with the pool's tolerations and node
 * selector when `training.gpuPool` is set, the tracking URI and login injected, and pod disruptions
 * (spot reclaim, node drain) not counted as failures.
 */
export function trainingJobSpec(props: TrainingWorkloadProps): { spec: k8s.JobSpec; labels: Record<string, string> } {
  const { env } = props.ctx;
  const t = env.training;
  const gpus = props.gpus ?? t.gpus;
  const pool = gpus > 0 ? findGpuPool(env, t.gpuPool) : undefined;
  const labels = standardLabels(env, props.name, TRAINING_COMPONENT, imageVersion(t.image));
  const scheduling = pool ? gpuScheduling(pool) : undefined;
  const scratch = props.scratchSize ?? '2Gi';
  const spec: k8s.JobSpec = {
    backoffLimit: props.backoffLimit ?? 2,
    ttlSecondsAfterFinished: props.ttlSecondsAfterFinished ?? 86400,
    activeDeadlineSeconds: props.activeDeadlineSeconds ?? 14400,
    // A preempted or drained pod is retried without using up backoffLimit.
    podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
    template: {
      metadata: { labels },
      spec: {
        serviceAccountName: props.apiServiceAccount ?? TRAINING_SERVICE_ACCOUNT,
        automountServiceAccountToken: props.apiServiceAccount !== undefined,
        restartPolicy: 'Never',
        securityContext: restrictedPodSecurity(RUNTIME_UID),
        ...(scheduling ? { tolerations: scheduling.tolerations, nodeSelector: scheduling.nodeSelector } : {}),
        containers: [
          {
            name: 'train',
            image: t.image,
            command: [...props.command],
            env: [
              ...trackingClientEnv(env, props.trackingCredentialsSecret === undefined ? TRACKING_CLIENT_SECRET : props.trackingCredentialsSecret),
              { name: 'TMPDIR', value: '/tmp' },
              { name: 'HOME', value: '/tmp' },
              ...(props.env ?? []),
            ],
            ...(props.envFromSecrets?.length ? { envFrom: props.envFromSecrets.map((name) => ({ secretRef: { name } })) } : {}),
            // Scratch lives on the node's disk: the ephemeral-storage limit covers it plus logs.
            resources: resources(t.resources, pool ? { 'nvidia.com/gpu': String(gpus) } : {}, { request: '256Mi', limit: `${mebibytes(scratch) + 512}Mi` }),
            securityContext: restrictedContainerSecurity(),
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
        ],
        volumes: [emptyDir('tmp', scratch)],
      },
    },
  };
  return { spec, labels };
}

/**
 * One training run as a Job. A Job runs once per name: give each run its own name (e.g. with the
 * date or a commit), since a Job template cannot be changed in place.
 */
export class TrainingJob extends Construct {
  readonly name: string;
  /** The run's pods. */
  readonly pods: PodGroup;

  constructor(scope: Construct, id: string, props: TrainingWorkloadProps) {
    super(scope, id);
    validateName(props.name, 63);
    const { spec, labels } = trainingJobSpec(props);
    this.name = props.name;
    this.pods = podGroup(props.ctx.env.namespaces.training, spec.template.metadata?.labels);
    new k8s.KubeJob(this, 'job', { metadata: { name: props.name, namespace: props.ctx.env.namespaces.training, labels }, spec });
  }
}

export interface TrainingCronJobProps extends TrainingWorkloadProps {
  /** Five-field cron schedule. */
  readonly schedule: string;
  /**
   * Create the CronJob suspended: it then never fires and serves as the template of on-demand runs
   * (`kubectl create job --from=cronjob/<name> <run-name>`). @default false
   */
  readonly suspend?: boolean;
  /** Time zone of the schedule. @default "Etc/UTC" */
  readonly timeZone?: string;
  /** Seconds after the scheduled time a missed run may still start. @default 3600 */
  readonly startingDeadlineSeconds?: number;
}

/**
 * Scheduled (re)training as a CronJob: never two runs at once (Forbid), missed runs dropped after the
 * starting deadline instead of piling up after an outage, a few finished Jobs kept for their logs.
 */
export class TrainingCronJob extends Construct {
  /** The pods of the Jobs it creates. */
  readonly pods: PodGroup;

  constructor(scope: Construct, id: string, props: TrainingCronJobProps) {
    super(scope, id);
    // The controller names Jobs `<cronjob>-<11 digits>`, which must stay within 63 characters.
    validateName(props.name, 52);
    if (!/^(\S+\s+){4}\S+$/.test(props.schedule)) throw new Error(`retrain schedule "${props.schedule}" must be a five-field cron expression`);
    const { spec, labels } = trainingJobSpec(props);
    this.pods = podGroup(props.ctx.env.namespaces.training, spec.template.metadata?.labels);
    new k8s.KubeCronJob(this, 'cronjob', {
      metadata: { name: props.name, namespace: props.ctx.env.namespaces.training, labels },
      spec: {
        schedule: props.schedule,
        ...(props.suspend ? { suspend: true } : {}),
        timeZone: props.timeZone ?? 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: props.startingDeadlineSeconds ?? 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: { metadata: { labels }, spec },
      },
    });
  }
}

/** The demo churn model of the seeds: experiment and registered model the training entrypoint uses. */
export const CHURN = { experiment: 'churn', registeredModel: 'churn-predictor' } as const;

/** `mlops train` for the churn model: trains, logs to the tracking server and registers a new version. */
export function trainCommand(experiment: string = CHURN.experiment, registeredModel: string = CHURN.registeredModel): string[] {
  return ['mlops', 'train', '--experiment', experiment, '--register', registeredModel];
}

/** The retraining CronJob (and its pods' name label). */
export const RETRAIN_NAME = `retrain-${CHURN.experiment}`;
/** ServiceAccount of the retraining pods when they start a pipeline: an API token, bound to the trigger Role only. */
export const RETRAIN_TRIGGER_SERVICE_ACCOUNT = 'retrain-trigger';

/**
 * The pipeline the drift trigger starts: the `churn` pipeline when the environment retrains and defines it
 * (it replaces the in-process retraining); undefined otherwise, and retraining stays in-process.
 */
export function retrainPipeline(env: EnvironmentConfig): string | undefined {
  return env.training.retrainSchedule && ownValue(env.pipelines ?? {}, CHURN.experiment) ? CHURN.experiment : undefined;
}

/**
 * `mlops retrain`: reads the drift summary (population stability index per feature) from the inference
 * server serving `model`, and only when a feature drifted beyond the environment's threshold, starts the
 * retraining pipeline (`--pipeline`, when the environment has one) or trains and registers a new version
 * (alias `challenger`) in-process.
 */
export function retrainCommand(env: EnvironmentConfig, model: InferenceModel, experiment: string = CHURN.experiment): string[] {
  const pipeline = retrainPipeline(env);
  return [
    'mlops',
    'retrain',
    '--experiment',
    experiment,
    '--register',
    model.registeredModel,
    '--alias',
    model.alias,
    '--inference-url',
    inferenceUrl(env, model),
    '--drift-threshold',
    String(env.monitoring.driftPsiThreshold),
    ...(pipeline ? ['--pipeline', pipeline, '--pipeline-namespace', env.namespaces.training] : []),
  ];
}

/**
 * In-cluster URL of a model's stable Service: the inference construct names it after the model; under
 * KServe delivery it is KServe's predictor Service, `<model>-predictor`, on port 80.
 */
export function inferenceUrl(env: EnvironmentConfig, model: InferenceModel): string {
  if (env.inference.delivery === 'kserve') return `http://${model.name}-predictor.${env.namespaces.serving}.svc:${KSERVE_SERVICE_HTTP_PORT}`;
  return `http://${model.name}.${env.namespaces.serving}.svc:${INFERENCE_PORT}`;
}

/** The served model whose drift decides retraining: the first one serving the registered model on CPU, else any serving it. */
export function driftSource(env: EnvironmentConfig, registeredModel: string = CHURN.registeredModel): InferenceModel {
  const candidates = env.inference.models.filter((m) => m.registeredModel === registeredModel);
  const model = candidates.find((m) => !m.gpuPool) ?? candidates.at(0);
  if (!model) {
    throw new Error(
      `environment "${env.name}": training.retrainSchedule needs an inference model serving "${registeredModel}" (retraining reads drift from its /metrics)`,
    );
  }
  return model;
}

/** Schedule of the suspended on-demand template: valid, but a suspended CronJob never fires. */
const NEVER = '0 0 1 1 *';

export interface TrainingProps {
  readonly ctx: PlatformContext;
  /**
   * Also emit a one-off training Job with this name. Off by default: in a GitOps repository a
   * fixed-name Job is re-created by every sync after its TTL removes it, so it would retrain on each
   * sync. Runs start from the suspended `train-churn` CronJob instead
   * (`kubectl create job --from=cronjob/train-churn train-churn-<run>`), or as `TrainingJob`s with a
   * per-run name.
   * @default no Job
   */
  readonly initialJobName?: string;
  /** Secret with the tracking login; null when the tracking server runs without auth. @default "tracking-client" */
  readonly trackingCredentialsSecret?: string | null;
}

/**
 * The training namespace's workloads: the `training` ServiceAccount (no API token; the IRSA role
 * annotation when the cloud stack provides one), `train-churn` — a suspended CronJob that is the
 * template of on-demand training runs — the retraining CronJob when the environment has a
 * `training.retrainSchedule` (with the NetworkPolicies letting it read the served model's drift
 * metrics), and optionally a one-off training Job.
 */
export class Training extends Construct {
  /** The pods of every training Job (on-demand, retraining, initial). */
  readonly pods: PodGroup[] = [];
  /** The cloud identity the `training` ServiceAccount is bound to (IRSA), if any. */
  readonly identity?: IdentityBinding;

  constructor(scope: Construct, id: string, props: TrainingProps) {
    super(scope, id);
    const { ctx } = props;
    const { env } = ctx;
    const roleArn = ctx.cloud.trainingRoleArn;
    serviceAccount(this, env, TRAINING_SERVICE_ACCOUNT, env.namespaces.training, TRAINING_COMPONENT, roleArn ? { [IRSA_ANNOTATION]: roleArn } : undefined);
    if (roleArn) this.identity = { identity: 'training', namespace: env.namespaces.training, serviceAccount: TRAINING_SERVICE_ACCOUNT, roleArn };
    const common = { ctx, trackingCredentialsSecret: props.trackingCredentialsSecret };
    this.pods.push(
      new TrainingCronJob(this, 'train', { ...common, name: `train-${CHURN.experiment}`, schedule: NEVER, suspend: true, command: trainCommand() }).pods,
    );
    if (env.training.retrainSchedule) {
      const model = driftSource(env);
      const name = RETRAIN_NAME;
      // Starting a pipeline, the pod only reads drift and calls the API: no GPU, its own ServiceAccount (constructs/pipelines/trigger.ts).
      const trigger = retrainPipeline(env) ? { gpus: 0, apiServiceAccount: RETRAIN_TRIGGER_SERVICE_ACCOUNT } : {};
      const schedule = env.training.retrainSchedule;
      this.pods.push(new TrainingCronJob(this, 'retrain', { ...common, ...trigger, name, schedule, command: retrainCommand(env, model) }).pods);
      // The one flow retraining adds to the platform's: retrain pods → the model's inference pods (/metrics).
      const retrainPods = selectorLabels(env, name);
      const inferencePods = selectorLabels(env, model.name);
      new k8s.KubeNetworkPolicy(this, 'retrain-egress', {
        metadata: {
          name: `${name}-to-${model.name}`,
          namespace: env.namespaces.training,
          labels: standardLabels(env, `${name}-to-${model.name}`, 'network-policy'),
        },
        spec: {
          podSelector: { matchLabels: retrainPods },
          policyTypes: ['Egress'],
          egress: [{ to: [namespacePeer(env.namespaces.serving, inferencePods)], ports: [tcp(INFERENCE_PORT)] }],
        },
      });
      new k8s.KubeNetworkPolicy(this, 'retrain-ingress', {
        metadata: {
          name: `${model.name}-from-${name}`,
          namespace: env.namespaces.serving,
          labels: standardLabels(env, `${model.name}-from-${name}`, 'network-policy'),
        },
        spec: {
          podSelector: { matchLabels: inferencePods },
          policyTypes: ['Ingress'],
          ingress: [{ from: [namespacePeer(env.namespaces.training, retrainPods)], ports: [tcp(INFERENCE_PORT)] }],
        },
      });
    }
    if (props.initialJobName) this.pods.push(new TrainingJob(this, 'initial-job', { ...common, name: props.initialJobName, command: trainCommand() }).pods);
  }
}
