import type { Command } from 'commander';
import { CliError } from '../../core/errors';

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The training namespace's default name (environments rename it; --namespace or the context's namespace then). */
const DEFAULT_NAMESPACE = 'ml-training';

/** The `pipeline` command group, shared with `mlops pipeline run` (registered by whichever comes first). */
export function pipelineGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'pipeline') ?? program.command('pipeline').description('ML pipelines on Argo Workflows');
}

interface SubmitFlags {
  param: string[];
  namespace?: string;
  watch?: boolean;
  timeout?: string;
}

/** `mlops pipeline submit <name>`: a Workflow from the pipeline's WorkflowTemplate, through the Kubernetes API. */
export function registerPipelineSubmitCommand(program: Command): void {
  pipelineGroup(program)
    .command('submit <name>')
    .description("create a Workflow from the pipeline's WorkflowTemplate (kubeconfig's current context, or in-cluster config)")
    .option('--param <name=value>', 'override a pipeline parameter (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('-n, --namespace <ns>', `namespace of the WorkflowTemplate (default: the context's namespace, else ${DEFAULT_NAMESPACE})`)
    .option('--watch', 'follow the Workflow: each step phase as it changes, then the final phase (exit 1 unless Succeeded)')
    .option('--timeout <seconds>', 'with --watch: give up after this many seconds')
    .action(async (name: string, opts: SubmitFlags) => {
      const { parseParams, submitPipeline, stepNames, watchWorkflow } = await import('./submit');
      const { kubernetesWorkflowApi } = await import('./submit-kube');
      try {
        const params = parseParams(opts.param);
        const timeoutMs = opts.timeout === undefined ? undefined : positiveSeconds(opts.timeout) * 1000;
        const { api, namespace: contextNamespace } = await kubernetesWorkflowApi();
        const namespace = opts.namespace ?? contextNamespace ?? DEFAULT_NAMESPACE;
        const created = await submitPipeline(api, { name, namespace, params });
        const wfName = created.metadata.name ?? '';
        process.stdout.write(`workflow ${namespace}/${wfName} submitted from WorkflowTemplate ${name}\n`);
        if (!opts.watch) return;
        const template = await api.getWorkflowTemplate(namespace, name);
        const log = (line: string) => process.stdout.write(`${line}\n`);
        const phase = await watchWorkflow(api, { namespace, workflow: wfName, steps: template ? stepNames(template) : [], log, timeoutMs });
        if (phase !== 'Succeeded') throw new CliError(`pipeline submit: workflow ${wfName} ended ${phase}`);
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`pipeline submit: ${errorMessage(err)}`);
      }
    });
}

function positiveSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--timeout must be a positive number of seconds (got "${v}")`);
  return n;
}
