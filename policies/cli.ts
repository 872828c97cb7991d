import type { Command } from 'commander';
import { CliError } from '../core/errors';

/** `mlops policy check <file|dir>...`: the project's policies over any Kubernetes manifests. */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('policy-as-code checks over Kubernetes manifests');

  policy
    .command('check')
    .description('check YAML/JSON manifests (files or directories); exit 1 on any error-level violation without an exception')
    .argument('<paths...>', 'manifest files or directories (searched recursively for .yaml/.yml/.json)')
    .option('--format <format>', 'text or json', 'text')
    .option('--exceptions <file>', 'YAML/JSON list of { rule, object, reason } exceptions')
    .option(
      '--env <env>',
      'environment of manifests that mlops synth did not write (name or file); enables its allowances (e.g. allowLoadBalancer). Folders synth wrote carry their own (mlops-environment)',
    )
    .option('--mode <mode>', "user, gitops (Secrets with data are errors) or pulumi (default: a synthesized folder's recorded mode, else user)")
    .action(async (paths: string[], opts: { format: string; exceptions?: string; env?: string; mode?: string }) => {
      if (opts.format !== 'text' && opts.format !== 'json') throw new CliError(`--format must be text or json, got "${opts.format}"`);
      if (opts.mode !== undefined && !['user', 'gitops', 'pulumi'].includes(opts.mode))
        throw new CliError(`--mode must be user, gitops or pulumi, got "${opts.mode}"`);
      const { loadExceptionsFile, ManifestError } = await import('./load');
      const { checkGroups } = await import('./groups');
      const { formatGroups } = await import('./format');
      const { hasErrors } = await import('./index');
      let environment;
      if (opts.env) {
        const { resolveEnvironment } = await import('../environments');
        try {
          environment = resolveEnvironment(opts.env);
        } catch (err) {
          throw new CliError(`--env: ${(err as Error).message}`);
        }
      }
      try {
        const exceptions = opts.exceptions ? loadExceptionsFile(opts.exceptions) : [];
        const groups = checkGroups(paths, { environment, mode: opts.mode as 'user' | 'gitops' | 'pulumi' | undefined, exceptions });
        process.stdout.write(formatGroups(groups, opts.format));
        if (groups.some((g) => hasErrors(g.violations))) process.exitCode = 1;
      } catch (err) {
        if (err instanceof ManifestError) throw new CliError(err.message);
        throw new CliError((err as Error).message.split('\n')[0]);
      }
    });
}
