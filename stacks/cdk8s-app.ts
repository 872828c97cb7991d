/*
 * The cdk8s app behind `npx cdk8s synth` (see cdk8s.yaml): for teams that drive synthesis with the cdk8s
 * CLI. It writes exactly what `mlops synth --env all --out dist` writes, through the same schema and
 * policy gates, into the directory the CLI passes in CDK8S_OUTDIR.
 */
import { ENVIRONMENT_NAMES, isBuiltInEnvironmentName, loadEnvironment } from '../environments';
import { writeSynth } from './gitops';

function main(): void {
  const out = process.env.CDK8S_OUTDIR || 'dist';
  const which = process.env.MLOPS_SYNTH_ENV || 'all';
  if (which !== 'all' && !isBuiltInEnvironmentName(which)) {
    throw new Error(`MLOPS_SYNTH_ENV must be all or one of ${ENVIRONMENT_NAMES.join(', ')}, got "${which}"`);
  }
  const names = which === 'all' ? ENVIRONMENT_NAMES : [which];
  // The same image lock as `mlops synth` (MLOPS_IMAGE_LOCK, else environments/images.lock.json).
  const { written } = writeSynth(
    names.map((n) => loadEnvironment(n)),
    out,
    { imageLock: process.env.MLOPS_IMAGE_LOCK || undefined },
  );
  process.stdout.write(`${written.length} files written to ${out}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`cdk8s app: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
