import { defineEnvironment, extendEnvironment, builtInEnvironments } from 'mlops-blueprint/environments';

/**
 * The team's production environment: the blueprint's `dev` layout (a local cluster, in-cluster stores) under
 * the team's own name and hosts, one more model, and larger namespace quotas.
 */
export const teamProd = defineEnvironment(
  extendEnvironment('dev', {
    name: 'team-prod',
    ingress: { host: 'mlflow.team.127.0.0.1.nip.io', servingHost: 'models.team.127.0.0.1.nip.io' },
    inference: {
      models: [
        ...(builtInEnvironments.dev.inference.models ?? []),
        { name: 'fraud-detector', registeredModel: 'fraud-detector', alias: 'champion', autoscaling: { minReplicas: 1, maxReplicas: 3 } },
      ],
    },
    parts: { namespaces: { cpuRequestsQuota: '32', memoryRequestsQuota: '128Gi' } },
  }),
);
