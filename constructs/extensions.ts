import type { Chart } from 'cdk8s';
import type { EnvironmentConfig } from '../environments/schema';
import type { PlatformContext } from './common';
import type { IdentityBinding, PlatformEndpoints, PodGroup } from './facts';

/*
 * How a team adds its own parts to the platform without forking it: an extension contributes a construct,
 * in a chart of its own (so GitOps output gets one more `NN-<part>.k8s.yaml`). The built-in parts are built
 * first, so an extension sees their typed facts (pods, identities, endpoints) and never reads synthesized
 * YAML back. Policy rules and exceptions join it in stacks/extensions.ts (`PlatformExtension`), since
 * constructs do not depend on the policies.
 */

/** The typed facts of the built-in parts, as an extension sees them when it is built. */
export interface PlatformFactsView {
  /** Every pod the built-in parts run (namespace and template labels). */
  readonly pods: readonly PodGroup[];
  /** ServiceAccounts bound to cloud identities (IRSA). */
  readonly identities: readonly IdentityBinding[];
  /** The tracking server's and each model's public URL. */
  readonly endpoints: PlatformEndpoints;
}

/** What the hook of an extension receives. */
export interface ExtensionContext {
  /** The extension's own chart (names are not hashed): add the team's constructs to it. */
  readonly chart: Chart;
  /** The validated environment being synthesized. */
  readonly env: EnvironmentConfig;
  /** The synth context every built-in construct gets (environment, secrets mode, cloud outputs). */
  readonly ctx: PlatformContext;
  /** What the built-in parts built. */
  readonly facts: PlatformFactsView;
  /** Reports pods the extension's constructs run (`podGroup(namespace, templateLabels)`), so `MlopsPlatform.pods` lists them. */
  readonly addPods: (...pods: PodGroup[]) => void;
}

/** The construct half of a team's extension (`PlatformExtension` adds policy rules and exceptions). */
export interface ConstructExtension {
  /**
   * The part name: the chart id and the output file `NN-<part>.k8s.yaml`. A DNS label that no built-in part
   * uses (see `PART_ORDER`).
   */
  readonly part: string;
  /**
   * Builds the extension's constructs in `context.chart`. Runs after every built-in part and before the
   * platform's NetworkPolicies, which never open flows to an extension's pods: an extension that runs pods
   * writes their NetworkPolicies too (the `testing` entry's property checks hold it to that).
   * @default no objects (an extension of policies only)
   */
  readonly construct?: (context: ExtensionContext) => void;
}

const PART_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Refuses extensions whose parts are not DNS labels, clash with a built-in part, or with each other. */
export function checkExtensions(extensions: readonly ConstructExtension[], builtInParts: readonly string[]): void {
  const seen = new Set<string>();
  for (const ext of extensions) {
    if (!PART_NAME.test(ext.part) || ext.part.length > 63) throw new Error(`extension part "${ext.part}" must be a DNS-1123 label`);
    if (builtInParts.includes(ext.part) || ext.part === 'argocd')
      throw new Error(`extension part "${ext.part}" is a built-in part of the platform; choose another name`);
    if (seen.has(ext.part)) throw new Error(`extension part "${ext.part}" is given twice`);
    seen.add(ext.part);
  }
}

/**
 * Builds each extension in a chart of its own (made by `newChart`, in order), handing it the built-in
 * parts' facts; returns the pods the extensions reported.
 */
export function buildExtensions(
  extensions: readonly ConstructExtension[],
  base: { ctx: PlatformContext; facts: PlatformFactsView; newChart: (part: string) => Chart },
  builtInParts: readonly string[],
): PodGroup[] {
  checkExtensions(extensions, builtInParts);
  const pods: PodGroup[] = [];
  for (const ext of extensions) {
    const chart = base.newChart(ext.part);
    ext.construct?.({ chart, env: base.ctx.env, ctx: base.ctx, facts: base.facts, addPods: (...p) => pods.push(...p) });
  }
  return pods;
}
