import { z } from 'zod';
import { parseImageReference, type ImageReference } from '../core/image-reference';
import { partOverridesSchema } from './parts';
import { pipelines } from './pipelines';
import { checkDistributedTraining, distributedTraining, hyperparameterTuning } from './training-distributed';

/*
 * The typed, validated configuration of one platform environment. Everything the constructs, the
 * Pulumi stacks and the policies need to know about an environment is here, and nothing is read
 * from anywhere else. Field comments give the meaning; `.default()` values are the documented
 * defaults an environment file may leave out.
 */

/** A DNS-1123 label: what Kubernetes accepts for namespaces, object names and label values we derive. */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits, "-")')
  .max(63, 'must be at most 63 characters');

/** A DNS-1123 subdomain, for hostnames. */
const hostname = z
  .string()
  .max(253)
  .regex(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase DNS hostname, e.g. mlflow.example.com');

/** A Kubernetes resource quantity ("500m", "2", "512Mi", "10Gi"). */
const quantity = z.string().regex(/^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, 'must be a Kubernetes quantity, e.g. "500m", "1Gi"');

/**
 * A container image reference pinned by tag or digest: `registry/repo:tag`, `registry/repo@sha256:…`
 * or both (core/image-reference.ts reads it). `latest` and untagged references are rejected: a GitOps
 * diff must show every image change.
 */
export const imageRef = z.string().superRefine((ref, ctx) => {
  let parsed: ImageReference;
  try {
    parsed = parseImageReference(ref);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${ref}" is not an image reference (repository[:tag][@sha256:digest])` });
    return;
  }
  const { tag, digest } = parsed;
  if (!tag && !digest) ctx.addIssue({ code: 'custom', message: `image "${ref}" must be pinned with a tag or a digest` });
  if (tag === 'latest') ctx.addIssue({ code: 'custom', message: `image "${ref}" uses the mutable tag "latest"; pin a version or a digest` });
});

export const resourceRequirements = z
  .object({
    requests: z.object({ cpu: quantity, memory: quantity }),
    limits: z.object({ cpu: quantity.optional(), memory: quantity }),
  })
  .strict();

const storage = z
  .object({
    /** PVC size. */
    size: quantity,
    /** StorageClass; default: the cluster's default class. */
    storageClassName: z.string().min(1).optional(),
  })
  .strict();

const namespaces = z
  .object({
    /** Tracking server, its stores and the ingress auth proxy. */
    platform: dnsLabel.default('mlops-platform'),
    /** Training Jobs and retraining CronJobs. */
    training: dnsLabel.default('ml-training'),
    /** Inference Deployments. */
    serving: dnsLabel.default('ml-serving'),
  })
  .strict()
  .superRefine((ns, ctx) => {
    const seen = new Map<string, string>();
    for (const [role, name] of Object.entries(ns)) {
      if (name === 'default' || name.startsWith('kube-')) {
        ctx.addIssue({ code: 'custom', path: [role], message: `"${name}" is reserved by Kubernetes; choose another namespace` });
      }
      const other = seen.get(name);
      if (other) ctx.addIssue({ code: 'custom', path: [role], message: `"${name}" is already used for namespaces.${other}` });
      seen.set(name, role);
    }
  });

const tls = z.discriminatedUnion('mode', [
  /** Plain HTTP: only for a local cluster. */
  z.object({ mode: z.literal('none') }).strict(),
  /** cert-manager issues the certificate through the named ClusterIssuer (created when `acme` is given). */
  z
    .object({
      mode: z.literal('cert-manager'),
      clusterIssuer: dnsLabel,
      /** When set, the platform also creates the ACME ClusterIssuer. */
      acme: z
        .object({
          server: z.url(),
          email: z.email(),
        })
        .strict()
        .optional(),
    })
    .strict(),
  /** A TLS Secret that already exists in the platform namespace (e.g. a corporate wildcard certificate). */
  z.object({ mode: z.literal('existing-secret'), secretName: dnsLabel }).strict(),
]);

const auth = z.discriminatedUnion('mode', [
  /** nginx basic auth at the edge from an htpasswd Secret (the `auth` key). */
  z.object({ mode: z.literal('basic-auth'), realm: z.string().min(1).default('MLflow') }).strict(),
  /** OpenID Connect through an oauth2-proxy Deployment in front of the tracking server. */
  z
    .object({
      mode: z.literal('oidc'),
      issuerUrl: z.url(),
      clientId: z.string().min(1),
      /** Restrict sign-in to these e-mail domains; default: any. */
      emailDomains: z.array(z.string().min(1)).min(1).default(['*']),
      /** Restrict sign-in to members of these groups (the `groups` claim); default: no restriction. */
      allowedGroups: z.array(z.string().min(1)).default([]),
      image: imageRef.default('quay.io/oauth2-proxy/oauth2-proxy:v7.7.1'),
    })
    .strict(),
]);

const ingress = z
  .object({
    className: z.string().min(1).default('nginx'),
    /** Public host of the tracking server (and UI). */
    host: hostname,
    /** Host for inference endpoints; default: `serving.<host>`. */
    servingHost: hostname.optional(),
    tls,
    auth,
    /** Namespace of the ingress controller, for NetworkPolicies. */
    controllerNamespace: dnsLabel.default('ingress-nginx'),
    /** Maximum request body for artifact uploads through the ingress. */
    maxBodySize: quantity.default('1Gi'),
    /**
     * Addresses or CIDRs of the proxies in front of the tracking server (the ingress controller's and
     * oauth2-proxy's pods), whose X-Forwarded-For names the client its per-address login limits count.
     * Default: the VPC CIDR on EKS (pods take VPC addresses; NetworkPolicies admit only platform peers),
     * none on a local cluster (the limits then count the controller as one client).
     */
    trustedProxies: z
      .array(z.union([z.cidrv4(), z.ipv4()]))
      .max(64)
      .optional(),
  })
  .strict();

const secrets = z.discriminatedUnion('mode', [
  /** Pulumi generates every credential at deploy time and stores it, encrypted, in its state. */
  z.object({ mode: z.literal('pulumi') }).strict(),
  /** GitOps: ExternalSecret objects pull credentials from the named store; Git holds only references. */
  z
    .object({
      mode: z.literal('external-secrets'),
      store: z
        .object({
          kind: z.enum(['ClusterSecretStore', 'SecretStore']).default('ClusterSecretStore'),
          name: dnsLabel,
          /**
           * When set, the platform emits the ClusterSecretStore itself, reading AWS Secrets Manager (or
           * Parameter Store) in `region` as the external-secrets controller's own identity (IRSA), or as
           * `role` when given. Without it the store is a prerequisite the cluster must already have.
           */
          aws: z
            .object({
              service: z.enum(['SecretsManager', 'ParameterStore']).default('SecretsManager'),
              region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/, 'must be an AWS region, e.g. eu-west-1'),
              role: z
                .string()
                .regex(/^arn:aws[a-z-]*:iam::[0-9]{12}:role\/.+$/, 'must be an IAM role ARN')
                .optional(),
            })
            .strict()
            .optional(),
        })
        .strict()
        .refine((s) => !s.aws || s.kind === 'ClusterSecretStore', {
          path: ['aws'],
          error: 'is only emitted as a ClusterSecretStore: with kind SecretStore, create the stores in each namespace yourself',
        }),
      /** Prefix of the remote keys, e.g. `mlops/prod` → `mlops/prod/postgres`. */
      remoteKeyPrefix: z.string().min(1),
      refreshInterval: z
        .string()
        .regex(/^[0-9]+(s|m|h)$/, 'must be a duration such as "1h"')
        .default('1h'),
    })
    .strict(),
]);

const metadataStore = z.discriminatedUnion('kind', [
  /** PostgreSQL StatefulSet in the platform namespace. */
  z
    .object({
      kind: z.literal('in-cluster-postgres'),
      image: imageRef.default('docker.io/library/postgres:16.4-alpine3.20'),
      database: dnsLabel.default('mlflow'),
      storage: storage.default({ size: '20Gi' }),
      resources: resourceRequirements.default({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } }),
    })
    .strict(),
  /**
   * A PostgreSQL server outside the cluster (RDS or other). With `rds: true` the Pulumi stack creates it
   * and fills in the host; GitOps output reads the connection from the `tracking-db` Secret.
   */
  z
    .object({
      kind: z.literal('external-postgres'),
      rds: z.boolean().default(false),
      host: hostname.optional(),
      port: z.number().int().min(1).max(65535).default(5432),
      database: dnsLabel.default('mlflow'),
      sslMode: z.enum(['require', 'verify-ca', 'verify-full']).default('require'),
      /** CIDR the database lives in, for the egress NetworkPolicy; default: the VPC CIDR. */
      cidr: z.cidrv4().optional(),
    })
    .strict(),
]);

const artifactStore = z.discriminatedUnion('kind', [
  /** MinIO StatefulSet in the platform namespace, with a private bucket. */
  z
    .object({
      kind: z.literal('minio'),
      image: imageRef.default('quay.io/minio/minio:RELEASE.2024-10-13T13-34-11Z'),
      clientImage: imageRef.default('quay.io/minio/mc:RELEASE.2024-10-08T09-37-26Z'),
      bucket: z
        .string()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
        .default('mlflow-artifacts'),
      storage: storage.default({ size: '50Gi' }),
      resources: resourceRequirements.default({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } }),
    })
    .strict(),
  /** An S3 bucket; Pulumi creates it (SSE-KMS, versioning, no public access) and IRSA grants the tracking server its prefix. */
  z
    .object({
      kind: z.literal('s3'),
      /** Bucket name; default: `<project>-<env>-artifacts`, created by the cloud stack. */
      bucket: z
        .string()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
        .optional(),
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9!_.*'()/-]*$/, 'must be an S3 key prefix')
        .default('mlflow'),
    })
    .strict(),
]);

const tracking = z
  .object({
    image: imageRef,
    /** Replicas; with a shared store (Postgres + object storage) an HPA scales between these bounds. */
    replicas: z
      .object({ min: z.number().int().min(1), max: z.number().int().min(1) })
      .strict()
      .default({ min: 2, max: 4 }),
    resources: resourceRequirements.default({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } }),
  })
  .strict()
  .refine((t) => t.replicas.min <= t.replicas.max, { path: ['replicas', 'max'], error: 'must be ≥ replicas.min' });

const canary = z
  .object({
    /** Registry alias served by the canary, e.g. `challenger`. */
    alias: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a registry alias'),
    /** Percentage of traffic sent to the canary by the nginx canary ingress. */
    weight: z.number().int().min(1).max(99),
    replicas: z.number().int().min(1).default(1),
  })
  .strict();

const inferenceModel = z
  .object({
    /** Deployment/Service name; DNS label. */
    name: dnsLabel,
    /** Registered model name in the registry. */
    registeredModel: z.string().min(1),
    /** Alias followed by the serving Deployment (hot-swapped when it moves). */
    alias: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'must be a registry alias')
      .default('champion'),
    autoscaling: z
      .object({
        minReplicas: z.number().int().min(1),
        maxReplicas: z.number().int().min(1),
        targetCPUUtilization: z.number().int().min(1).max(100).default(70),
        /** Optional custom metric target (requests in flight per pod, via prometheus-adapter). */
        targetRequestsInFlight: z.number().int().min(1).optional(),
      })
      .strict()
      .refine((a) => a.minReplicas <= a.maxReplicas, { path: ['maxReplicas'], error: 'must be ≥ minReplicas' }),
    resources: resourceRequirements.default({ requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } }),
    /** GPU pool (from `gpu.pools`) to schedule on; default: CPU nodes. */
    gpuPool: dnsLabel.optional(),
    canary: canary.optional(),
    batching: z
      .object({
        /** Rows per merged session run (`mlops serve --max-batch-size`). */
        maxBatchSize: z.number().int().min(1).default(1024),
        /** Input bytes per merged session run (`--max-batch-bytes`): lower it for large inputs such as images. */
        maxBatchBytes: z
          .number()
          .int()
          .min(1)
          .default(16 * 1024 * 1024),
        maxBatchDelayMs: z.number().min(0).default(2),
        maxQueue: z.number().int().min(1).default(256),
      })
      .strict()
      .default({ maxBatchSize: 1024, maxBatchBytes: 16 * 1024 * 1024, maxBatchDelayMs: 2, maxQueue: 256 }),
    /**
     * Where the onnxruntime sessions run. `worker-threads` (default): one HTTP event loop handing batches to
     * one worker thread per requested core. `event-loops`: one HTTP listener per requested core, each running
     * its sessions on its own event loop (`mlops serve --listeners <cores> --workers 0`), for models whose run
     * takes microseconds, where the hand-off to a thread costs more than the run (docs/adr/0033).
     */
    sessions: z.enum(['worker-threads', 'event-loops']).default('worker-threads'),
  })
  .strict();

/** Longest model name KServe delivery allows: `<name>-canary-predictor` must stay a 63-character DNS label. */
export const KSERVE_MAX_MODEL_NAME = 63 - '-canary-predictor'.length;

const taint = z
  .object({
    key: z.string().min(1),
    value: z.string().default(''),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  })
  .strict();

const gpuPool = z
  .object({
    name: dnsLabel,
    instanceTypes: z.array(z.string().regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'must be an EC2 instance type, e.g. g5.xlarge')).min(1),
    minSize: z.number().int().min(0),
    maxSize: z.number().int().min(1),
    desiredSize: z.number().int().min(0).optional(),
    gpusPerNode: z.number().int().min(1).default(1),
    /** EKS AMI type; the GPU AMIs carry the NVIDIA driver. */
    amiType: z.enum(['AL2_x86_64_GPU', 'AL2023_x86_64_NVIDIA', 'BOTTLEROCKET_x86_64_NVIDIA']).default('AL2023_x86_64_NVIDIA'),
    diskSizeGiB: z.number().int().min(20).default(100),
    labels: z.record(z.string(), z.string()).default({}),
    taints: z.array(taint).default([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.minSize > p.maxSize) ctx.addIssue({ code: 'custom', path: ['maxSize'], message: 'must be ≥ minSize' });
    if (p.desiredSize !== undefined && (p.desiredSize < p.minSize || p.desiredSize > p.maxSize)) {
      ctx.addIssue({ code: 'custom', path: ['desiredSize'], message: 'must be between minSize and maxSize' });
    }
  });

const gpu = z
  .object({
    pools: z.array(gpuPool).default([]),
    /** NVIDIA device plugin DaemonSet, deployed when any pool exists. */
    devicePluginImage: imageRef.default('nvcr.io/nvidia/k8s-device-plugin:v0.16.2'),
  })
  .strict();

const training = z
  .object({
    /** Image of the training entrypoint (the project's runtime image runs `mlops train`). */
    image: imageRef,
    resources: resourceRequirements.default({ requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } }),
    gpuPool: dnsLabel.optional(),
    /** GPUs per training pod when `gpuPool` is set. */
    gpus: z.number().int().min(1).default(1),
    /** Retraining CronJob schedule (cron syntax); omitted: no CronJob. */
    retrainSchedule: z
      .string()
      .regex(/^(\S+\s+){4}\S+$/, 'must be a five-field cron expression')
      .optional(),
    /** Multi-node training as a Training Operator PyTorchJob (environments/training-distributed.ts); omitted: one pod. */
    distributed: distributedTraining.optional(),
    /** Hyperparameter search as a Katib Experiment over the training step; omitted: none. */
    tuning: hyperparameterTuning.optional(),
  })
  .strict();

/** A Prometheus duration (`30s`, `15m`, `6h`, `2d`): what `for:` and range selectors take. */
const promDuration = z.string().regex(/^[1-9][0-9]*(s|m|h|d|w)$/, 'must be a Prometheus duration such as "15m" or "6h"');
const ratio = z.number().positive().max(1);

/** Thresholds of the platform's alerts (constructs/monitoring); every field has a documented default. */
const alerts = z
  .object({
    /** Emit the PrometheusRules (alerts and the recording rules they and the dashboards share). */
    enabled: z.boolean().default(true),
    /** Extra labels on each PrometheusRule, for the Prometheus `ruleSelector` (e.g. `release: kube-prometheus-stack`). */
    ruleLabels: z.record(z.string(), z.string()).default({}),
    /** The runbook each alert links to (`#<alert name, lowercased>` is appended): this repository's docs/runbook.md where your clone is hosted. */
    runbookUrl: z.url().default('https://github.com/mlops-blueprint/mlops-blueprint/blob/main/docs/runbook.md'),
    /** How long a feature's PSI stays above `driftPsiThreshold` before the drift alert fires. */
    driftFor: promDuration.default('30m'),
    inference: z
      .object({
        /** Share of prediction requests answered 5xx (503s excluded: they have their own alert). */
        errorRatio: ratio.default(0.05),
        /** p99 request latency objective, in seconds. */
        p99Seconds: z.number().positive().default(0.5),
        /** Queue depth, as a share of the model's `batching.maxQueue`, that counts as saturated. */
        queueSaturation: ratio.default(0.8),
        /** Share of requests refused with 503 (queue full or draining). */
        unavailableRatio: ratio.default(0.01),
      })
      .strict()
      .default({ errorRatio: 0.05, p99Seconds: 0.5, queueSaturation: 0.8, unavailableRatio: 0.01 }),
    tracking: z
      .object({
        /** Share of tracking requests answered 5xx (503 excluded). */
        errorRatio: ratio.default(0.05),
        /** Share of tracking requests answered 503 (backend store unavailable) that pages. */
        unavailableRatio: ratio.default(0.01),
        /** p99 latency objective of writes (POST/PATCH/DELETE), in seconds. */
        writeP99Seconds: z.number().positive().default(1),
      })
      .strict()
      .default({ errorRatio: 0.05, unavailableRatio: 0.01, writeP99Seconds: 1 }),
    training: z
      .object({
        /** A training Job or pipeline step running (or pending) longer than this is stuck. */
        stuckAfter: promDuration.default('6h'),
        /** A model version drifted for this long was not replaced by retraining. */
        retrainWithin: promDuration.default('2d'),
      })
      .strict()
      .default({ stuckAfter: '6h', retrainWithin: '2d' }),
    platform: z
      .object({
        /** Days before a cert-manager Certificate expires that the alert fires. */
        certificateExpiryDays: z.number().int().min(1).default(14),
        /** Share of a PersistentVolumeClaim's capacity in use that counts as nearly full. */
        pvcFullRatio: ratio.default(0.85),
        /** Container restarts within 15 minutes that count as crash-looping (besides CrashLoopBackOff itself). */
        restartsPer15m: z.number().int().min(1).default(3),
      })
      .strict()
      .default({ certificateExpiryDays: 14, pvcFullRatio: 0.85, restartsPer15m: 3 }),
  })
  .strict();

/** The `monitoring.alerts` defaults (what an environment that writes no `alerts:` block gets). */
export const ALERT_DEFAULTS: z.output<typeof alerts> = alerts.parse({});

/** Grafana dashboards as ConfigMaps for Grafana's dashboard sidecar (`grafana_dashboard: "1"`). */
const dashboards = z
  .object({
    enabled: z.boolean().default(true),
    /** Grafana folder the sidecar files the dashboards in (its folder annotation). */
    folder: z.string().min(1).max(100).default('MLOps'),
  })
  .strict();

const monitoring = z
  .object({
    /** Emit prometheus-operator ServiceMonitors. */
    serviceMonitors: z.boolean().default(true),
    /** Namespace and pod labels of Prometheus, for the NetworkPolicies that let it scrape. */
    prometheusNamespace: dnsLabel.default('monitoring'),
    prometheusPodLabels: z.record(z.string(), z.string()).default({ 'app.kubernetes.io/name': 'prometheus' }),
    /** Population stability index above which a feature is considered drifted (the servers' flag and the drift alert). */
    driftPsiThreshold: z.number().positive().max(10).default(0.2),
    alerts: alerts.default(ALERT_DEFAULTS),
    dashboards: dashboards.default({ enabled: true, folder: 'MLOps' }),
  })
  .strict();

const rbac = z
  .object({
    /** Identity-provider groups bound to each platform role. */
    groups: z
      .object({
        mlEngineers: z.array(z.string().min(1)).default([]),
        dataScientists: z.array(z.string().min(1)).default([]),
        deployers: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ mlEngineers: [], dataScientists: [], deployers: [] }),
  })
  .strict();

const cidr = z.cidrv4();

const cluster = z.discriminatedUnion('kind', [
  /** A local cluster (kind, minikube, k3d): no cloud resources, Pulumi uses a kubeconfig context. */
  z.object({ kind: z.literal('local'), kubeContext: z.string().min(1).default('kind-mlops') }).strict(),
  /** An EKS cluster, created by the stack (or an existing one when `create` is false). */
  z
    .object({
      kind: z.literal('eks'),
      create: z.boolean().default(true),
      /** Name of the cluster to create, or of the existing one. */
      name: dnsLabel,
      region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/, 'must be an AWS region, e.g. eu-west-1'),
      version: z.string().regex(/^1\.[0-9]{2}$/, 'must be an EKS version such as "1.30"'),
      vpcCidr: cidr,
      availabilityZones: z.number().int().min(2).max(6).default(3),
      /** Public API endpoint restricted to these CIDRs; empty: private endpoint only. */
      publicAccessCidrs: z.array(cidr).default([]),
      systemPool: z
        .object({
          instanceTypes: z.array(z.string().regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'must be an EC2 instance type')).min(1),
          minSize: z.number().int().min(1),
          maxSize: z.number().int().min(1),
          desiredSize: z.number().int().min(1),
        })
        .strict(),
      rds: z
        .object({
          instanceClass: z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'must be an RDS instance class'),
          allocatedStorageGiB: z.number().int().min(20),
          engineVersion: z
            .string()
            .regex(/^[0-9]+(\.[0-9]+)?$/)
            .default('16.4'),
          multiAz: z.boolean().default(true),
          backupRetentionDays: z.number().int().min(7, 'must be at least 7 days').max(35),
          deletionProtection: z.boolean().default(true),
        })
        .strict()
        .optional(),
      /** Create ECR repositories for the two runtime images. */
      ecr: z.boolean().default(true),
    })
    .strict()
    .superRefine((c, ctx) => {
      for (const [i, block] of c.publicAccessCidrs.entries()) {
        if (block.endsWith('/0'))
          ctx.addIssue({ code: 'custom', path: ['publicAccessCidrs', i], message: 'must not open the API endpoint to the whole internet' });
      }
      const s = c.systemPool;
      if (s.minSize > s.maxSize) ctx.addIssue({ code: 'custom', path: ['systemPool', 'maxSize'], message: 'must be ≥ minSize' });
      if (s.desiredSize < s.minSize || s.desiredSize > s.maxSize)
        ctx.addIssue({ code: 'custom', path: ['systemPool', 'desiredSize'], message: 'must be between minSize and maxSize' });
    }),
]);

/** Why an environment synced from Git cannot take its Secrets from Pulumi. */
export const GITOPS_NEEDS_EXTERNAL_SECRETS =
  'an environment synced by Argo CD must be deployable from Git alone, and Pulumi-generated Secrets exist only in Pulumi state: set secrets.mode "external-secrets" (with its store), or deploy this environment with `pulumi up` and remove gitops';

const gitops = z
  .object({
    /** Git repository Argo CD syncs from. */
    repoURL: z.string().min(1),
    targetRevision: z.string().min(1).default('main'),
    /** Path of this environment's synthesized manifests in that repository. */
    path: z.string().min(1),
    /** Namespace of Argo CD. */
    argocdNamespace: dnsLabel.default('argocd'),
    project: dnsLabel.default('default'),
    automatedSync: z.boolean().default(false),
  })
  .strict();

export const environmentSchema = z
  .object({
    /** Environment name; also the Pulumi stack name and the `app.kubernetes.io/instance` label. */
    name: dnsLabel,
    /** Recommended label `app.kubernetes.io/part-of`. */
    partOf: dnsLabel.default('mlops-blueprint'),
    cluster,
    namespaces: namespaces.default({ platform: 'mlops-platform', training: 'ml-training', serving: 'ml-serving' }),
    ingress,
    secrets,
    metadataStore,
    artifactStore,
    tracking,
    inference: z
      .object({
        image: imageRef,
        models: z.array(inferenceModel).default([]),
        /**
         * How the models are delivered: the platform's own Deployment, Service, HPA and PDB per model track
         * (`deployments`), or a KServe `ServingRuntime` plus an `InferenceService` per model in RawDeployment
         * mode (`kserve`; the KServe controller and its CRDs are then a prerequisite, see docs/adr/0025-kserve-delivery.md).
         */
        delivery: z.enum(['deployments', 'kserve']).default('deployments'),
      })
      .strict(),
    training,
    gpu: gpu.default({ pools: [], devicePluginImage: 'nvcr.io/nvidia/k8s-device-plugin:v0.16.2' }),
    monitoring: monitoring.default({
      serviceMonitors: true,
      prometheusNamespace: 'monitoring',
      prometheusPodLabels: { 'app.kubernetes.io/name': 'prometheus' },
      driftPsiThreshold: 0.2,
      alerts: ALERT_DEFAULTS,
      dashboards: { enabled: true, folder: 'MLOps' },
    }),
    rbac: rbac.default({ groups: { mlEngineers: [], dataScientists: [], deployers: [] } }),
    images: z
      .object({
        /**
         * Every image must be pinned by digest — inline (`repo:tag@sha256:…`) or by the image lock
         * (`mlops images lock`). Synth and the Pulumi program then refuse an environment with an unpinned
         * image, and the policy `image-digest` is an error instead of a warning.
         */
        requireDigests: z.boolean().default(false),
      })
      .strict()
      .default({ requireDigests: false }),
    /** Allow Services of type LoadBalancer (policy `no-load-balancer`). */
    allowLoadBalancer: z.boolean().default(false),
    gitops: gitops.optional(),
    /** Overrides of the built-in parts' optional props (environments/parts.ts); default: each construct's own defaults. */
    parts: partOverridesSchema.optional(),
    /** Pipelines on Argo Workflows (environments/pipelines.ts); omitted: none, and retraining stays a CronJob. */
    pipelines: pipelines.optional(),
  })
  .strict()
  .superRefine((env, ctx) => {
    // Cross-field rules: references must resolve, and choices must fit the target.
    const pools = new Set(env.gpu.pools.map((p) => p.name));
    const poolNames = new Set<string>();
    env.gpu.pools.forEach((p, i) => {
      if (poolNames.has(p.name)) ctx.addIssue({ code: 'custom', path: ['gpu', 'pools', i, 'name'], message: `duplicate GPU pool "${p.name}"` });
      poolNames.add(p.name);
    });
    if (env.gpu.pools.length > 0 && env.cluster.kind !== 'eks') {
      // A local cluster has no managed node groups; GPU pools describe EKS node groups.
      ctx.addIssue({ code: 'custom', path: ['gpu', 'pools'], message: 'GPU node pools need cluster.kind "eks"' });
    }
    if (env.training.gpuPool && !pools.has(env.training.gpuPool)) {
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'gpuPool'],
        message: `unknown GPU pool "${env.training.gpuPool}" (defined: ${[...pools].join(', ') || 'none'})`,
      });
    }
    checkDistributedTraining(env.training, env.gpu.pools, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    const modelNames = new Set<string>();
    env.inference.models.forEach((m, i) => {
      if (m.gpuPool && !pools.has(m.gpuPool)) {
        ctx.addIssue({
          code: 'custom',
          path: ['inference', 'models', i, 'gpuPool'],
          message: `unknown GPU pool "${m.gpuPool}" (defined: ${[...pools].join(', ') || 'none'})`,
        });
      }
      if (modelNames.has(m.name)) ctx.addIssue({ code: 'custom', path: ['inference', 'models', i, 'name'], message: `duplicate model name "${m.name}"` });
      modelNames.add(m.name);
      if (m.canary && m.canary.alias === m.alias) {
        ctx.addIssue({ code: 'custom', path: ['inference', 'models', i, 'canary', 'alias'], message: `must differ from the stable alias "${m.alias}"` });
      }
      if (env.inference.delivery === 'kserve' && m.autoscaling.targetRequestsInFlight !== undefined) {
        // KServe's HPA autoscaler class takes only cpu and memory targets; a per-pod custom metric needs KEDA.
        ctx.addIssue({
          code: 'custom',
          path: ['inference', 'models', i, 'autoscaling', 'targetRequestsInFlight'],
          message: 'is not supported with inference.delivery "kserve" (KServe\'s HPA autoscaler scales on cpu or memory only)',
        });
      }
      if (env.inference.delivery === 'kserve' && m.name.length > KSERVE_MAX_MODEL_NAME) {
        // KServe names the canary's Deployment and Service `<name>-canary-predictor`, a DNS label.
        ctx.addIssue({
          code: 'custom',
          path: ['inference', 'models', i, 'name'],
          message: `must be at most ${KSERVE_MAX_MODEL_NAME} characters with inference.delivery "kserve"`,
        });
      }
      if (m.name.length > 50) {
        // `<name>-canary` and similar derived names must stay DNS labels.
        ctx.addIssue({ code: 'custom', path: ['inference', 'models', i, 'name'], message: 'must be at most 50 characters (names are derived from it)' });
      }
    });
    if (env.metadataStore.kind === 'external-postgres' && !env.metadataStore.rds && !env.metadataStore.host) {
      ctx.addIssue({ code: 'custom', path: ['metadataStore', 'host'], message: 'is required unless rds is true' });
    }
    if (env.metadataStore.kind === 'external-postgres' && env.metadataStore.rds) {
      if (env.cluster.kind !== 'eks' || !env.cluster.rds) {
        ctx.addIssue({ code: 'custom', path: ['metadataStore', 'rds'], message: 'needs cluster.kind "eks" with cluster.rds settings' });
      }
    }
    if (env.artifactStore.kind === 's3' && env.cluster.kind !== 'eks' && !env.artifactStore.bucket) {
      ctx.addIssue({ code: 'custom', path: ['artifactStore', 'bucket'], message: 'is required when the cluster is not created on AWS' });
    }
    if (env.cluster.kind === 'eks' && env.ingress.tls.mode === 'none') {
      ctx.addIssue({ code: 'custom', path: ['ingress', 'tls', 'mode'], message: '"none" is only allowed for a local cluster' });
    }
    if (env.gitops && env.secrets.mode !== 'external-secrets') {
      // Argo CD syncs only what Git holds; Pulumi-generated Secrets live in Pulumi state, so pods would wait forever.
      ctx.addIssue({ code: 'custom', path: ['gitops'], message: GITOPS_NEEDS_EXTERNAL_SECRETS });
    }
    checkPipelines(env, pools, ctx);
    if (env.ingress.servingHost && env.ingress.servingHost === env.ingress.host) {
      ctx.addIssue({ code: 'custom', path: ['ingress', 'servingHost'], message: 'must differ from ingress.host' });
    }
  });

/** Pipeline steps' pools and images resolve against the rest of the environment. */
function checkPipelines(env: { pipelines?: z.output<typeof pipelines>; gpu: { pools: GpuPool[] } }, pools: Set<string>, ctx: z.RefinementCtx): void {
  for (const [pipeline, def] of Object.entries(env.pipelines ?? {})) {
    for (const [step, s] of Object.entries(def.steps)) {
      const at = ['pipelines', pipeline, 'steps', step];
      if (s.gpuPool && !pools.has(s.gpuPool))
        ctx.addIssue({ code: 'custom', path: [...at, 'gpuPool'], message: `unknown GPU pool "${s.gpuPool}" (defined: ${[...pools].join(', ') || 'none'})` });
      checkDistributedTraining(s, env.gpu.pools, (path, message) => ctx.addIssue({ code: 'custom', path, message }), at);
      const image = s.image === undefined ? undefined : imageRef.safeParse(s.image);
      if (image && !image.success) ctx.addIssue({ code: 'custom', path: [...at, 'image'], message: image.error.issues[0].message });
    }
  }
}

/** What an environment file writes (defaults may be left out). */
export type EnvironmentInput = z.input<typeof environmentSchema>;
/** A validated environment with every default filled in: what the rest of the project consumes. */
export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type ResourceRequirements = z.output<typeof resourceRequirements>;
export type GpuPool = EnvironmentConfig['gpu']['pools'][number];
export type InferenceModel = EnvironmentConfig['inference']['models'][number];
export type AlertThresholds = EnvironmentConfig['monitoring']['alerts'];
