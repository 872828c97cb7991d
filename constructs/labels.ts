import type { EnvironmentConfig } from '../environments';

/** The recommended `app.kubernetes.io/*` labels every synthesized object carries. */
export function standardLabels(env: EnvironmentConfig, name: string, component: string, version = env.name): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': env.name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': env.partOf,
    'app.kubernetes.io/managed-by': 'mlops-blueprint',
    'app.kubernetes.io/version': version,
  };
}
