import { builtInEnvironments, ENVIRONMENT_NAMES, validateEnvironment, type EnvironmentConfig } from '../environments';
import type { KubeObject } from '../core/kube-objects';

/** One synthesized manifest file (the contract of `stacks/gitops.ts`). */
export interface SynthesizedFile {
  name: string;
  objects: KubeObject[];
}

export type SynthEnvironment = (env: EnvironmentConfig, opts?: Record<string, unknown>) => SynthesizedFile[];

/**
 * The platform's synthesizer, loaded lazily so the rule set never depends on the constructs (and keeps
 * working while they are absent): undefined when `stacks/gitops.ts` does not exist.
 */
export function platformSynth(): SynthEnvironment | undefined {
  const modulePath = '../stacks/gitops';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(modulePath) as { synthEnvironment?: SynthEnvironment }).synthEnvironment;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (err as Error).message.includes('stacks/gitops')) return undefined;
    throw err;
  }
}

/** Every built-in environment in both secrets modes (Pulumi-generated, and External Secrets for GitOps). */
export function environmentVariants(): Array<{ label: string; env: EnvironmentConfig }> {
  return ENVIRONMENT_NAMES.flatMap((name) => {
    const input = builtInEnvironments[name];
    const base = validateEnvironment(input, `"${name}"`);
    // The other secrets mode replaces `secrets` whole (its variants have different fields).
    const secrets =
      base.secrets.mode === 'pulumi'
        ? { mode: 'external-secrets', store: { kind: 'ClusterSecretStore', name: 'platform-secrets' }, remoteKeyPrefix: `mlops/${name}` }
        : { mode: 'pulumi' };
    // Pulumi-made Secrets never reach Git, so that variant is deployed by Pulumi, not synced by Argo CD.
    const gitops = secrets.mode === 'pulumi' ? { gitops: undefined } : {};
    const swapped = validateEnvironment({ ...input, secrets, ...gitops }, `"${name}" with secrets.mode ${secrets.mode}`);
    return [
      { label: `${name} (secrets: ${base.secrets.mode})`, env: base },
      { label: `${name} (secrets: ${swapped.secrets.mode})`, env: swapped },
    ];
  });
}
