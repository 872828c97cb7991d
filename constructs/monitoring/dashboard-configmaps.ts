import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../environments';
import { k8s, standardLabels } from '../common';
import { MONITORING_COMPONENT } from './alerts';
import { platformDashboards } from './dashboards';
import { dashboardJson } from './grafana';

/** The label Grafana's dashboard sidecar (kiwigrid k8s-sidecar, as the Grafana Helm chart sets it up) watches for. */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';
/** The annotation naming the Grafana folder (the chart's `sidecar.dashboards.folderAnnotation`, kube-prometheus-stack's value). */
export const GRAFANA_FOLDER_ANNOTATION = 'grafana_folder';

export interface PlatformDashboardsProps {
  readonly env: EnvironmentConfig;
}

/** One ConfigMap per dashboard (`<uid>.json`) in the platform namespace, for Grafana's sidecar to load. */
export class PlatformDashboards extends Construct {
  readonly names: string[] = [];

  constructor(scope: Construct, id: string, props: PlatformDashboardsProps) {
    super(scope, id);
    const { env } = props;
    for (const spec of platformDashboards(env)) {
      const name = `grafana-dashboard-${spec.uid.replace(new RegExp(`-${env.name}$`), '')}`;
      new k8s.KubeConfigMap(this, spec.uid, {
        metadata: {
          name,
          namespace: env.namespaces.platform,
          labels: { ...standardLabels(env, name, MONITORING_COMPONENT), [GRAFANA_DASHBOARD_LABEL]: '1' },
          annotations: { [GRAFANA_FOLDER_ANNOTATION]: env.monitoring.dashboards.folder },
        },
        data: { [`${spec.uid}.json`]: JSON.stringify(dashboardJson(spec), null, 2) },
      });
      this.names.push(name);
    }
  }
}
