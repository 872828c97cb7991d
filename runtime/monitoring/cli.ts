import { Command, Option } from 'commander';
import { CliError } from '../../core/errors';
import { addTrainingOptions, errorMessage, numberArg, type TrainingFlags } from '../training/cli';

/** `mlops retrain`: the retraining CronJob's command (reads drift from the inference server's /metrics). */
export function registerMonitoringCommands(program: Command): void {
  addTrainingOptions(
    program
      .command('retrain')
      .description("read the serving model's drift from the inference server and train + register a new version when a feature drifted")
      .option('--experiment <name>', 'experiment to log the run in', 'churn')
      .requiredOption('--register <model>', 'registered model to watch and add a version to')
      .addOption(new Option('--inference-url <url>', 'inference server whose /metrics carries the drift summary').env('MLOPS_INFERENCE_URL'))
      .addOption(
        new Option('--drift-threshold <psi>', 'PSI above which a feature counts as drifted')
          .env('MLOPS_DRIFT_PSI_THRESHOLD')
          .argParser(numberArg('--drift-threshold', { min: Number.MIN_VALUE }))
          .default(0.2),
      )
      .option('--alias <alias>', 'alias serving follows (its version is checked)', 'champion')
      .option('--candidate-alias <alias>', 'alias set on the retrained version', 'challenger')
      .option('--promote-if <condition>', 'promote the retrained version to --alias when this gate holds, e.g. "metrics.auc >= 0.8"')
      .option('--force', 'retrain even without drift')
      .option('--pipeline <name>', "on drift, submit this pipeline's WorkflowTemplate (Kubernetes API) instead of training in-process")
      .option('--pipeline-namespace <ns>', "namespace of the pipeline's WorkflowTemplate (default: the context's or the pod's namespace)"),
  ).action(
    async (
      opts: TrainingFlags & {
        experiment: string;
        register: string;
        inferenceUrl?: string;
        driftThreshold: number;
        alias: string;
        candidateAlias: string;
        promoteIf?: string;
        force?: boolean;
        pipeline?: string;
        pipelineNamespace?: string;
      },
    ) => {
      if (!opts.inferenceUrl)
        throw new CliError('retrain: --inference-url (or MLOPS_INFERENCE_URL) is required: the inference server whose /metrics reports drift');
      const { retrainIfDrifted } = await import('./retrain');
      const { MlflowClient } = await import('../mlflow');
      const { parseGate } = await import('../promotion');
      try {
        if (opts.promoteIf) parseGate(opts.promoteIf);
        const pipeline = opts.pipeline ? await retrainPipeline(opts.pipeline, opts.pipelineNamespace) : undefined;
        const outcome = await retrainIfDrifted({
          inferenceUrl: opts.inferenceUrl,
          registeredModel: opts.register,
          experiment: opts.experiment,
          threshold: opts.driftThreshold,
          alias: opts.alias,
          candidateAlias: opts.candidateAlias,
          promoteIf: opts.promoteIf,
          force: opts.force,
          pipeline,
          training: { rows: opts.rows, seed: opts.seed, shift: opts.shift, epochs: opts.epochs, learningRate: opts.learningRate, l2: opts.l2 },
          client: new MlflowClient({ trackingUri: opts.trackingUri }),
          log: (line) => process.stdout.write(`${line}\n`),
        });
        process.stdout.write(
          outcome.workflow
            ? `retrained: submitted workflow ${outcome.workflow}\n`
            : outcome.retrained
              ? `retrained: version=${outcome.training?.version?.version}${outcome.promoted ? ` promoted to @${opts.alias}` : ''}\n`
              : 'retrained: no\n',
        );
      } catch (err) {
        throw new CliError(`retrain: ${errorMessage(err)}`);
      }
    },
  );
}

/** The pipeline `--pipeline` names, bound to the Kubernetes API (kubeconfig, or the pod's in-cluster config). */
async function retrainPipeline(name: string, namespace: string | undefined) {
  const { kubernetesWorkflowApi } = await import('../pipelines/submit-kube');
  const k = await kubernetesWorkflowApi();
  return { name, namespace: namespace ?? k.namespace ?? 'ml-training', api: k.api };
}
