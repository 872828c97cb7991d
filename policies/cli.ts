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
    .option('--env <env>', 'environment the manifests are for (name or file); enables its allowances (e.g. allowLoadBalancer)')
    .option('--mode <mode>', 'user, gitops (Secrets with data are errors) or pulumi', 'user')
    .action(async (paths: string[], opts: { format: string; exceptions?: string; env?: string; mode: string }) => {
      if (opts.format !== 'text' && opts.format !== 'json') throw new CliError(`--format must be text or json, got "${opts.format}"`);
      if (!['user', 'gitops', 'pulumi'].includes(opts.mode)) throw new CliError(`--mode must be user, gitops or pulumi, got "${opts.mode}"`);
      const { loadManifests, loadExceptionsFile, ManifestError } = await import('./load');
      const { checkManifests, formatViolations, hasErrors } = await import('./index');
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
        const objects = loadManifests(paths);
        const exceptions = opts.exceptions ? loadExceptionsFile(opts.exceptions) : [];
        const violations = checkManifests(objects, { mode: opts.mode as 'user' | 'gitops' | 'pulumi', environment }, { exceptions });
        process.stdout.write(formatViolations(violations, opts.format));
        if (hasErrors(violations)) process.exitCode = 1;
      } catch (err) {
        if (err instanceof ManifestError) throw new CliError(err.message);
        throw err;
      }
    });
}
