import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../environments';
import type { PipelineDefinition } from '../../environments/pipelines';
import { k8s, selectorLabels, standardLabels } from '../common';
import { RETRAIN_NAME, RETRAIN_TRIGGER_SERVICE_ACCOUNT } from '../training';

const ARGO_GROUP = 'argoproj.io';

/** Role of the retraining pods that start a pipeline. */
export const RETRAIN_TRIGGER_ROLE = 'retrain-trigger';
/** Parameters `mlops retrain --pipeline` sets on the Workflow: the pipeline must declare each. */
export const TRIGGER_PARAMETERS = ['experiment', 'registered-model', 'alias'] as const;

/**
 * What the drift trigger (the retraining CronJob with `--pipeline`) needs to start `pipeline`: its own
 * ServiceAccount with an API token, a Role with `get` on that one WorkflowTemplate (submit checks the
 * parameters against it) and `create` on Workflows — nothing to read, list, watch or delete Workflows, no pods —
 * and egress from its pods to the API server.
 */
export function retrainTrigger(
  scope: Construct,
  env: EnvironmentConfig,
  pipeline: string,
  def: PipelineDefinition,
  apiServer: k8s.NetworkPolicyEgressRule,
): void {
  const missing = TRIGGER_PARAMETERS.filter((p) => !(p in def.parameters));
  if (missing.length)
    throw new Error(
      `environment "${env.name}": pipelines.${pipeline}.parameters must declare ${missing.map((m) => `"${m}"`).join(', ')}: the drift trigger (training.retrainSchedule) sets ${TRIGGER_PARAMETERS.join(', ')}`,
    );
  const ns = env.namespaces.training;
  const labels = standardLabels(env, RETRAIN_TRIGGER_ROLE, 'rbac');
  new k8s.KubeServiceAccount(scope, 'trigger-sa', {
    metadata: { name: RETRAIN_TRIGGER_SERVICE_ACCOUNT, namespace: ns, labels: standardLabels(env, RETRAIN_TRIGGER_SERVICE_ACCOUNT, 'pipeline') },
  });
  new k8s.KubeRole(scope, 'trigger-role', {
    metadata: { name: RETRAIN_TRIGGER_ROLE, namespace: ns, labels },
    rules: [
      { apiGroups: [ARGO_GROUP], resources: ['workflowtemplates'], resourceNames: [pipeline], verbs: ['get'] },
      // `create` cannot be narrowed by name (the Workflow's name is generated).
      { apiGroups: [ARGO_GROUP], resources: ['workflows'], verbs: ['create'] },
    ],
  });
  new k8s.KubeRoleBinding(scope, 'trigger-binding', {
    metadata: { name: RETRAIN_TRIGGER_ROLE, namespace: ns, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: RETRAIN_TRIGGER_ROLE },
    subjects: [{ kind: 'ServiceAccount', name: RETRAIN_TRIGGER_SERVICE_ACCOUNT, namespace: ns }],
  });
  new k8s.KubeNetworkPolicy(scope, 'trigger-egress', {
    metadata: { name: `${RETRAIN_NAME}-to-api-server`, namespace: ns, labels: standardLabels(env, `${RETRAIN_NAME}-to-api-server`, 'network-policy') },
    spec: { podSelector: { matchLabels: selectorLabels(env, RETRAIN_NAME) }, policyTypes: ['Egress'], egress: [apiServer] },
  });
}
