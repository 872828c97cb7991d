import { App } from 'cdk8s';
import { loadEnvironment, type EnvironmentConfig } from '../../environments';
import { churnPipeline } from '../../environments/pipelines';
import { MlopsPlatform } from '../../constructs/platform';
import { RETRAIN_TRIGGER_SERVICE_ACCOUNT, retrainCommand, driftSource } from '../../constructs/training';
import type { KubeObject } from '../../core/kube-objects';
import { checkManifests } from '../../policies';
import { parseParams, stepNames, workflowFromTemplate, type WorkflowTemplateObject } from '../../runtime/pipelines/submit';
import { runMlops } from '../helpers/cli';

/*
 * What `mlops pipeline submit` builds from the WorkflowTemplate the constructs render (the real object, not a
 * hand-written one), and the drift trigger's rendering. Submitting, watching and the RBAC at work are shown
 * on a real API server with the real workflow-controller in test/cluster/pipelines.test.ts.
 */
const objectsOf = (env: EnvironmentConfig): KubeObject[] =>
  new MlopsPlatform(new App(), env.name, { env, cloud: {} }).charts.flatMap(({ chart }) => chart.toJson() as KubeObject[]);
const find = (objects: KubeObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

const prod = loadEnvironment('prod', { images: { requireDigests: false }, pipelines: { churn: churnPipeline() } });
const prodObjects = objectsOf(prod);
const template = find(prodObjects, 'WorkflowTemplate', 'churn') as unknown as WorkflowTemplateObject;

describe('mlops pipeline submit: parameters', () => {
  test('--param flags: name=value, values may contain "=", a flag without a name or "=" or given twice is an error', () => {
    expect([...parseParams(['rows=100', 'min-auc=0.8', 'q=a=b', 'empty='])]).toEqual([
      ['rows', '100'],
      ['min-auc', '0.8'],
      ['q', 'a=b'],
      ['empty', ''],
    ]);
    expect(() => parseParams(['rows'])).toThrow('--param "rows": expected name=value');
    expect(() => parseParams(['=1'])).toThrow('--param "=1": expected name=value');
    expect(() => parseParams(['rows=1', 'rows=2'])).toThrow('--param rows given twice');
    expect(() => parseParams([`x=${'a'.repeat(1025)}`])).toThrow('value longer than 1024 characters');
    expect(() => parseParams(Array.from({ length: 65 }, (_, i) => `p${i}=1`))).toThrow('at most 64 --param flags');
  });

  test('the Workflow refers to the template by name, generateName <name>-, only the overridden parameters', () => {
    const wf = workflowFromTemplate(template, parseParams(['rows=2000', 'seed=7']));
    expect(wf).toEqual({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { generateName: 'churn-', labels: { 'workflows.argoproj.io/workflow-template': 'churn' } },
      spec: {
        workflowTemplateRef: { name: 'churn' },
        arguments: {
          parameters: [
            { name: 'rows', value: '2000' },
            { name: 'seed', value: '7' },
          ],
        },
      },
    });
    expect(workflowFromTemplate(template, new Map()).spec).toEqual({ workflowTemplateRef: { name: 'churn' } });
  });

  test('an unknown parameter is one line naming the declared ones (and inherited names are not parameters)', () => {
    const declared = 'experiment, registered-model, alias, rows, seed, shift, min-auc';
    expect(() => workflowFromTemplate(template, parseParams(['epochz=3']))).toThrow(`pipeline "churn" has no parameter "epochz" (declared: ${declared})`);
    expect(() => workflowFromTemplate(template, parseParams(['constructor=x']))).toThrow('has no parameter "constructor"');
    expect(() => workflowFromTemplate(template, parseParams(['__proto__=x']))).toThrow('has no parameter "__proto__"');
  });

  test('--watch reports the steps of the entrypoint DAG, in definition order', () => {
    expect(stepNames(template)).toEqual(['prepare-data', 'train', 'evaluate', 'register', 'promote']);
  });

  test('the CLI: a bad --param fails before any API call, as one line', () => {
    const r = runMlops(['pipeline', 'submit', 'churn', '--param', 'rows'], { env: { KUBECONFIG: '/nonexistent' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('mlops: pipeline submit: --param "rows": expected name=value\n');
  });
});

describe('the drift trigger starts the pipeline', () => {
  test('with pipelines.churn, the retrain CronJob runs `mlops retrain --pipeline churn` on CPU as retrain-trigger, with its token', () => {
    const cron = find(prodObjects, 'CronJob', 'retrain-churn') as KubeObject & { spec: any };
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].command).toEqual(retrainCommand(prod, driftSource(prod)));
    expect(pod.containers[0].command.slice(-4)).toEqual(['--pipeline', 'churn', '--pipeline-namespace', 'ml-training']);
    expect(pod.serviceAccountName).toBe(RETRAIN_TRIGGER_SERVICE_ACCOUNT);
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.tolerations).toBeUndefined();
    expect(pod.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
  });

  test('its Role: get on the one WorkflowTemplate, create on Workflows, nothing more; bound to its ServiceAccount only', () => {
    const role = find(prodObjects, 'Role', 'retrain-trigger') as KubeObject & { rules: unknown[] };
    expect(role.metadata.namespace).toBe('ml-training');
    expect(role.rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflowtemplates'], resourceNames: ['churn'], verbs: ['get'] },
      { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['create'] },
    ]);
    const binding = find(prodObjects, 'RoleBinding', 'retrain-trigger') as KubeObject & { subjects: unknown[]; roleRef: unknown };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'retrain-trigger', namespace: 'ml-training' }]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'retrain-trigger' });
  });

  test('its pods may reach the API server (a NetworkPolicy selecting only them); the platform policies pass', () => {
    const np = find(prodObjects, 'NetworkPolicy', 'retrain-churn-to-api-server') as KubeObject & { spec: any };
    expect(np.spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe('retrain-churn');
    expect(np.spec.policyTypes).toEqual(['Egress']);
    // The same API server flow as the step pods' (their executor reports to it): the VPC on 443 on EKS.
    const steps = find(prodObjects, 'NetworkPolicy', 'pipeline-steps') as KubeObject & { spec: any };
    expect(np.spec.egress).toEqual([steps.spec.egress[1]]);
    expect(np.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: expect.stringMatching(/^10\./) } }], ports: [{ protocol: 'TCP', port: 443 }] }]);
    const errors = checkManifests(prodObjects, { mode: 'gitops', environment: prod }).filter((v) => v.severity === 'error' && !v.exception);
    expect(errors).toEqual([]);
  });

  test('without pipelines.churn nothing changes: in-process retraining as `training`, no trigger objects', () => {
    const plain = loadEnvironment('prod', { images: { requireDigests: false } });
    const objects = objectsOf(plain);
    const pod = (find(objects, 'CronJob', 'retrain-churn') as KubeObject & { spec: any }).spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].command).not.toContain('--pipeline');
    expect(pod.serviceAccountName).toBe('training');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(objects.filter((o) => o.metadata.name.startsWith('retrain-trigger') || o.metadata.name === 'retrain-churn-to-api-server')).toEqual([]);
  });

  test('a churn pipeline that lacks a parameter the trigger sets is a synth error naming the field', () => {
    const churn = { parameters: { experiment: 'churn', 'registered-model': 'churn-predictor' }, steps: { only: { command: ['mlops', 'train'] } } };
    const env = loadEnvironment('prod', { images: { requireDigests: false }, pipelines: { churn } });
    expect(() => objectsOf(env)).toThrow(
      'environment "prod": pipelines.churn.parameters must declare "alias": the drift trigger (training.retrainSchedule) sets experiment, registered-model, alias',
    );
  });
});

describe("the executor's containers", () => {
  test("each container template patches Argo's init and wait containers to the restricted security context (Pod Security admission rejects them otherwise)", () => {
    const spec = (template as unknown as { spec: { podSpecPatch?: string; templates: Array<{ container?: unknown; podSpecPatch?: string }> } }).spec;
    // Per template, not workflow-wide: a distributed step's resource pod has no wait container to patch.
    expect(spec.podSpecPatch).toBeUndefined();
    const steps = spec.templates.filter((t) => t.container);
    expect(steps.length).toBeGreaterThan(0);
    for (const t of steps) expect(t.podSpecPatch).toBe(steps[0].podSpecPatch);
    const restricted = {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    };
    expect(JSON.parse(steps[0].podSpecPatch ?? '')).toEqual({
      initContainers: [{ name: 'init', securityContext: restricted }],
      containers: [{ name: 'wait', securityContext: restricted }],
    });
  });
});
