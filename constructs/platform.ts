import { Construct } from 'constructs';
import { Chart } from 'cdk8s';
import type { EnvironmentConfig } from '../environments';
import { Namespaces } from './namespaces';

export interface MlopsPlatformProps {
  readonly env: EnvironmentConfig;
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
    new Namespaces(chart('namespaces'), 'namespaces', { env: props.env });
  }
}
