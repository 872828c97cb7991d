import { Construct } from 'constructs';
import { Chart } from 'cdk8s';
import type { EnvironmentConfig } from '../environments';
import { Namespaces } from './namespaces';
import { PlatformSecrets } from './secrets';
import type { PlatformContext } from './common';

export interface MlopsPlatformProps {
  readonly env: EnvironmentConfig;
  /** Secrets source; default: the environment's `secrets.mode`. */
  readonly secretsMode?: PlatformContext['secretsMode'];
  /** Cloud stack outputs; default: none (GitOps). */
  readonly cloud?: PlatformContext['cloud'];
}

/**
 * The whole platform for one environment, as one cdk8s Chart per part (so GitOps output is one file
 * per part, applied in chart order). Names are set explicitly and hash suffixes are disabled, so a
 * GitOps diff never churns on generated names.
 */
export class MlopsPlatform extends Construct {
  /** Charts in apply order: namespaces first. */
  readonly charts: Array<{ part: string; chart: Chart }> = [];

  constructor(scope: Construct, id: string, props: MlopsPlatformProps) {
    super(scope, id);
    const chart = (part: string) => {
      const c = new Chart(this, part, { disableResourceNameHashes: true });
      this.charts.push({ part, chart: c });
      return c;
    };
    const ctx: PlatformContext = { env: props.env, secretsMode: props.secretsMode ?? props.env.secrets.mode, cloud: props.cloud ?? {} };
    new Namespaces(chart('namespaces'), 'namespaces', { env: props.env });
    if (ctx.secretsMode === 'external-secrets') new PlatformSecrets(chart('secrets'), 'secrets', { ctx });
  }
}
