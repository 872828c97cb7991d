import { Option, type Command } from 'commander';
import { CliError } from '../core/errors';
import type { EnvironmentConfig } from '../environments';

/** Resolves `--env`: a built-in name, `all`, or an environment file; one-line errors naming the field. */
export async function resolveSynthEnvironments(arg: string): Promise<EnvironmentConfig[]> {
  const { ENVIRONMENT_NAMES, isBuiltInEnvironmentName, loadEnvironment, resolveEnvironment, EnvironmentValidationError, EnvironmentSyntaxError } =
    await import('../environments');
  const names = arg === 'all' ? [...ENVIRONMENT_NAMES] : [arg];
  return names.map((name) => {
    try {
      return name === arg && !isBuiltInEnvironmentName(name) ? resolveEnvironment(name) : loadEnvironment(name);
    } catch (err) {
      if (err instanceof EnvironmentValidationError) {
        throw new CliError(`invalid environment ${err.source}: ${err.problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')}`);
      }
      // The offending line and its caret follow the first line.
      if (err instanceof EnvironmentSyntaxError) throw new CliError(`--env: ${err.message}`);
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') throw new CliError(`--env: "${name}" is neither ${ENVIRONMENT_NAMES.join(', ')}, all, nor a readable environment file`);
      throw new CliError(`--env: ${e.message.split('\n')[0]}`);
    }
  });
}

/**
 * `mlops synth --env <dev|staging|prod|all|file> [--out dist]`: synthesizes each environment, validates
 * every object against its OpenAPI schema and the project's policies, and only then writes
 * `<out>/<env>/NN-<part>.k8s.yaml` (plus `argocd/application.k8s.yaml`). Any error writes nothing.
 */
export function registerSynthCommand(program: Command): void {
  program
    .command('synth')
    .description('synthesize the platform manifests for GitOps (dist/<env>/); nothing is written on any error')
    .requiredOption('--env <env>', 'dev, staging, prod, all, or a YAML/JSON environment file')
    .option('--out <dir>', 'output directory', 'dist')
    .option('--secrets-mode <mode>', "pulumi or external-secrets (default: the environment's secrets.mode)")
    .addOption(new Option('--image-lock <file>', 'image lock pinning the images by digest (default: environments/images.lock.json)').env('MLOPS_IMAGE_LOCK'))
    .action(async (opts: { env: string; out: string; secretsMode?: string; imageLock?: string }) => {
      if (opts.secretsMode !== undefined && opts.secretsMode !== 'pulumi' && opts.secretsMode !== 'external-secrets') {
        throw new CliError(`--secrets-mode must be pulumi or external-secrets, got "${opts.secretsMode}"`);
      }
      const envs = await resolveSynthEnvironments(opts.env);
      const { writeSynth, SynthValidationError } = await import('./gitops');
      const { PolicyViolationError } = await import('../policies/synth-gate');
      const { UnpinnedImagesError } = await import('../environments/image-lock');
      let result;
      try {
        result = writeSynth(envs, opts.out, { secretsMode: opts.secretsMode, imageLock: opts.imageLock });
      } catch (err) {
        if (err instanceof UnpinnedImagesError) {
          process.stderr.write(`${err.message}\n`);
          throw new CliError(`environment "${err.environment}": ${err.images.length} image(s) not pinned by digest; nothing was written`);
        }
        if (err instanceof PolicyViolationError || err instanceof SynthValidationError) {
          // The full list (one violation per line, with its fix) first; the one-line summary last.
          process.stderr.write(`${err.message}\n`);
          const count = err instanceof PolicyViolationError ? err.violations.filter((v) => v.severity === 'error' && !v.exception).length : err.problems.length;
          throw new CliError(
            `environment "${err.environment}": ${count} ${err instanceof PolicyViolationError ? 'policy violation(s)' : 'invalid object(s)'}; nothing was written`,
          );
        }
        throw new CliError((err as Error).message.split('\n')[0]);
      }
      for (const r of result.rendered) {
        const warnings = r.violations.filter((v) => v.severity === 'warning' && !v.exception).length;
        const count = r.files.reduce((n, f) => n + f.objects.length, 0);
        process.stdout.write(`${r.env.name}: ${count} objects in ${r.files.length} files${warnings ? `, ${warnings} policy warning(s)` : ''}\n`);
      }
      for (const f of result.written) process.stdout.write(`  ${f}\n`);
    });
}
