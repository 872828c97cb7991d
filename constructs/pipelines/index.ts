import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { KUBE_SCORE_IGNORE } from '../../core/annotations';
import type { EnvironmentConfig } from '../../environments';
import type { PipelineDefinition } from '../../environments/pipelines';
import {
  customObject,
  imageVersion,
  k8s,
  MINIO_NAME,
  namespacePeer,
  restrictedPodSecurity,
  RUNTIME_UID,
  selectorLabels,
  standardLabels,
  tcp,
  type PlatformContext,
} from '../common';
import { IRSA_ANNOTATION, podGroup, type IdentityBinding, type PodGroup } from '../facts';
import { MINIO_PORT } from '../minio';
import { s3Egress } from '../network-policies';
import { PLATFORM_SECRETS } from '../secrets';
import { artifactBucket } from '../tracking';
import { retrainPipeline, TRAINING_COMPONENT } from '../training';
import { ownValue } from '../../core/records';
import { retrainTrigger } from './trigger';
import { distributedPodLabels, distributedReplicaSelector } from './distributed-step';
import { peerNetworkPolicy } from '../distributed-training';
import { PyTorchJob } from '../imports/kubeflow.org';
import { PIPELINE_LABEL, PIPELINE_STEP_LABEL } from './steps';
import { pipelineTemplates } from './templates';

export { EXECUTOR_SECURITY_PATCH, PIPELINE_LABEL, PIPELINE_STEP_LABEL } from './steps';

/** The Argo Workflows API group/version of WorkflowTemplate and CronWorkflow (v4.0.5, the declared minimum). */
export const ARGO_API = 'argoproj.io/v1alpha1';
/** ServiceAccount of every step pod: bound to the executor Role only (the IRSA training role on EKS). */
export const PIPELINE_SERVICE_ACCOUNT = 'pipeline';
/** Role with exactly what Argo's emissary executor needs (upstream manifests/quick-start/base/executor/emissary). */
export const EXECUTOR_ROLE = 'pipeline-executor';
/** The ConfigMap Argo reads artifact repositories from by default, in the workflow's namespace. */
export const ARTIFACT_REPOSITORIES = 'artifact-repositories';
/** Its default key; versioned, as upstream recommends, so a new store is a new key. */
export const ARTIFACT_REPOSITORY_KEY = 'default-v1';

export interface PipelinesProps {
  readonly ctx: PlatformContext;
}

/** The artifact repository: the platform's bucket under `pipelines/` (MinIO with its own user, or S3 through IRSA). */
export function artifactRepository(ctx: PlatformContext): Record<string, unknown> {
  const { env, cloud } = ctx;
  const bucket = artifactBucket(env, cloud);
  const as = env.artifactStore;
  if (as.kind === 'minio') {
    const creds = PLATFORM_SECRETS.pipelineArtifacts.name;
    return {
      s3: {
        bucket,
        endpoint: `${MINIO_NAME}.${env.namespaces.platform}.svc:${MINIO_PORT}`,
        // In-cluster MinIO speaks plain HTTP, as the tracking server uses it; the NetworkPolicies confine the flow.
        insecure: true,
        keyFormat: 'pipelines/{{workflow.name}}/{{pod.name}}',
        accessKeySecret: { name: creds, key: 'access-key' },
        secretKeySecret: { name: creds, key: 'secret-key' },
      },
    };
  }
  const prefix = as.prefix.replace(/^\/+|\/+$/g, '');
  return {
    s3: {
      bucket,
      ...(env.cluster.kind === 'eks' ? { endpoint: `s3.${env.cluster.region}.amazonaws.com`, region: env.cluster.region } : { endpoint: 's3.amazonaws.com' }),
      // The pods' IRSA role (the training role: read/write under the artifact prefix, KMS for the bucket key).
      useSDKCreds: true,
      keyFormat: `${prefix ? `${prefix}/` : ''}pipelines/{{workflow.name}}/{{pod.name}}`,
    },
  };
}

/**
 * The environment's pipelines on Argo Workflows, in the training namespace: one WorkflowTemplate per
 * pipeline (a CronWorkflow too when scheduled), the step pods' ServiceAccount with the executor's Role,
 * the artifact repository, and the step pods' NetworkPolicy (tracking comes from the training policy).
 */
export class Pipelines extends Construct {
  /** The step pods (component `training`, plus the pipeline label). */
  readonly pods: PodGroup[] = [];
  readonly identity?: IdentityBinding;

  constructor(scope: Construct, id: string, props: PipelinesProps) {
    super(scope, id);
    const { ctx } = props;
    const { env } = ctx;
    const ns = env.namespaces.training;
    const defs = Object.entries(env.pipelines ?? {});
    if (defs.length === 0) throw new Error(`environment "${env.name}": the Pipelines construct needs at least one entry in pipelines`);
    const roleArn = ctx.cloud.trainingRoleArn;
    const distributed = defs.some(([, d]) => Object.values(d.steps).some((s) => s.distributed));
    this.executorIdentity(env, roleArn, distributed);
    if (roleArn) this.identity = { identity: 'training', namespace: ns, serviceAccount: PIPELINE_SERVICE_ACCOUNT, roleArn };
    new k8s.KubeConfigMap(this, 'artifact-repositories', {
      metadata: {
        name: ARTIFACT_REPOSITORIES,
        namespace: ns,
        labels: standardLabels(env, ARTIFACT_REPOSITORIES, 'pipeline'),
        annotations: { 'workflows.argoproj.io/default-artifact-repository': ARTIFACT_REPOSITORY_KEY },
      },
      data: { [ARTIFACT_REPOSITORY_KEY]: stringify(artifactRepository(ctx)) },
    });
    for (const [name, def] of defs) this.pipeline(env, name, def);
    this.networkPolicy(env);
    // The drift trigger's access, when the retraining CronJob starts a pipeline instead of training in-process.
    const trigger = retrainPipeline(env);
    const triggerDef = trigger === undefined ? undefined : ownValue(env.pipelines ?? {}, trigger);
    if (trigger && triggerDef) retrainTrigger(this, env, trigger, triggerDef, apiServerEgress(env));
  }

  /** The step pods' ServiceAccount (token mounted: the executor reports results with it) and the executor Role. */
  private executorIdentity(env: EnvironmentConfig, roleArn: string | undefined, distributed: boolean): void {
    const ns = env.namespaces.training;
    new k8s.KubeServiceAccount(this, 'sa', {
      metadata: {
        name: PIPELINE_SERVICE_ACCOUNT,
        namespace: ns,
        labels: standardLabels(env, PIPELINE_SERVICE_ACCOUNT, 'pipeline'),
        ...(roleArn ? { annotations: { [IRSA_ANNOTATION]: roleArn } } : {}),
      },
    });
    new k8s.KubeRole(this, 'executor-role', {
      metadata: { name: EXECUTOR_ROLE, namespace: ns, labels: standardLabels(env, EXECUTOR_ROLE, 'rbac') },
      // Argo v4's emissary executor writes each step's outputs as a WorkflowTaskResult; a distributed step's resource
      // executor creates its PyTorchJob (`kubectl create`) and reads it back until rank 0 ends, and nothing else.
      rules: [
        { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
        ...(distributed ? [{ apiGroups: [PyTorchJob.GVK.apiVersion.split('/')[0]], resources: ['pytorchjobs'], verbs: ['create', 'get'] }] : []),
      ],
    });
    new k8s.KubeRoleBinding(this, 'executor-binding', {
      metadata: { name: EXECUTOR_ROLE, namespace: ns, labels: standardLabels(env, EXECUTOR_ROLE, 'rbac') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: EXECUTOR_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: PIPELINE_SERVICE_ACCOUNT, namespace: ns }],
    });
  }

  /** One pipeline: the WorkflowTemplate, and the CronWorkflow submitting it when scheduled. */
  private pipeline(env: EnvironmentConfig, name: string, def: PipelineDefinition): void {
    const ns = env.namespaces.training;
    // Component `training`: the training NetworkPolicy (→ tracking) and the tracking server's ingress admit the steps.
    const podLabels = { ...standardLabels(env, `pipeline-${name}`, TRAINING_COMPONENT, imageVersion(env.training.image)), [PIPELINE_LABEL]: name };
    for (const [step, s] of Object.entries(def.steps)) {
      if (!s.distributed) {
        this.pods.push(podGroup(ns, { ...podLabels, [PIPELINE_STEP_LABEL]: step }));
        continue;
      }
      // The job's replicas, which reach each other (MASTER_PORT, rendezvous). The Argo pod creating the job is the
      // controller's (argoexec only, no container of ours); the steps' NetworkPolicy gives it the API server.
      this.pods.push(podGroup(ns, distributedPodLabels(step, podLabels)));
      peerNetworkPolicy(this, env, `${name}-${step}`, s.distributed, distributedReplicaSelector(name, step));
    }
    customObject(this, `template-${name}`, {
      apiVersion: ARGO_API,
      kind: 'WorkflowTemplate',
      metadata: { name, namespace: ns, labels: standardLabels(env, name, 'pipeline') },
      spec: workflowSpec(env, name, def, podLabels),
    });
    if (def.schedule) {
      customObject(this, `cron-${name}`, {
        apiVersion: ARGO_API,
        kind: 'CronWorkflow',
        metadata: { name, namespace: ns, labels: standardLabels(env, name, 'pipeline') },
        spec: {
          schedules: [def.schedule],
          timezone: 'Etc/UTC',
          // Never two runs of one pipeline at once; a run missed during an outage is dropped after an hour.
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: 3600,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          workflowSpec: { workflowTemplateRef: { name } },
        },
      });
    }
  }

  /** Step pods reach MinIO (or S3) for artifacts, and the API server for the executor; tracking comes from the training policy. */
  private networkPolicy(env: EnvironmentConfig): void {
    const ns = env.namespaces.training;
    const store: k8s.NetworkPolicyEgressRule =
      env.artifactStore.kind === 'minio'
        ? { to: [namespacePeer(env.namespaces.platform, selectorLabels(env, MINIO_NAME))], ports: [tcp(MINIO_PORT)] }
        : s3Egress(env);
    new k8s.KubeNetworkPolicy(this, 'steps', {
      metadata: {
        name: 'pipeline-steps',
        namespace: ns,
        labels: standardLabels(env, 'pipeline-steps', 'network-policy'),
        // kube-score sees no pod template here: the pods come from the WorkflowTemplates (the project's own policy checks them).
        annotations: { [KUBE_SCORE_IGNORE]: 'networkpolicy-targets-pod' },
      },
      spec: {
        podSelector: { matchExpressions: [{ key: PIPELINE_LABEL, operator: 'Exists' }] },
        policyTypes: ['Ingress', 'Egress'],
        egress: [store, apiServerEgress(env)],
      },
    });
  }
}

/** The API server, which the executor reports each step's outputs to (WorkflowTaskResults). */
export function apiServerEgress(env: EnvironmentConfig): k8s.NetworkPolicyEgressRule {
  // EKS: the control plane's ENIs in the VPC on 443. Elsewhere the endpoint's address is the cluster's own.
  if (env.cluster.kind === 'eks') return { to: [{ ipBlock: { cidr: env.cluster.vpcCidr } }], ports: [tcp(443)] };
  return { ports: [tcp(443), tcp(6443)] };
}

/** The WorkflowTemplate spec of one pipeline. */
export function workflowSpec(env: EnvironmentConfig, name: string, def: PipelineDefinition, podLabels: Record<string, string>): Record<string, unknown> {
  const params = Object.entries(def.parameters);
  return {
    entrypoint: 'main',
    ...(params.length ? { arguments: { parameters: params.map(([n, value]) => ({ name: n, value })) } } : {}),
    serviceAccountName: PIPELINE_SERVICE_ACCOUNT,
    podMetadata: { labels: podLabels },
    securityContext: k8s.toJson_PodSecurityContext(restrictedPodSecurity(RUNTIME_UID)),
    activeDeadlineSeconds: def.timeoutSeconds,
    // Pods of succeeded steps go at once; failed ones stay for their logs until the workflow is deleted a day later.
    podGC: { strategy: 'OnPodSuccess' },
    ttlStrategy: { secondsAfterCompletion: 86400 },
    workflowMetadata: { labels: { [PIPELINE_LABEL]: name } },
    templates: pipelineTemplates(env, name, def, podLabels),
  };
}
