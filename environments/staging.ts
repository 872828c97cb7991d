import type { EnvironmentInput } from './schema';
import { inferenceImage, trackingImage } from './images';

const registry = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

/**
 * staging: EKS with a GPU pool for training, in-cluster PostgreSQL, an S3 artifact bucket, OIDC at the
 * edge, TLS from cert-manager, credentials from External Secrets (GitOps-friendly), and a canary.
 */
export const staging: EnvironmentInput = {
  name: 'staging',
  cluster: {
    kind: 'eks',
    name: 'mlops-staging',
    region: 'eu-west-1',
    version: '1.30',
    vpcCidr: '10.20.0.0/16',
    availabilityZones: 3,
    publicAccessCidrs: ['203.0.113.0/24'],
    systemPool: { instanceTypes: ['m6i.large'], minSize: 2, maxSize: 4, desiredSize: 2 },
  },
  ingress: {
    host: 'mlflow.staging.example.com',
    servingHost: 'models.staging.example.com',
    tls: {
      mode: 'cert-manager',
      clusterIssuer: 'letsencrypt-staging',
      acme: { server: 'https://acme-staging-v02.api.letsencrypt.org/directory', email: 'platform@example.com' },
    },
    auth: {
      mode: 'oidc',
      issuerUrl: 'https://login.example.com/realms/ml',
      clientId: 'mlflow-staging',
      emailDomains: ['example.com'],
      allowedGroups: ['ml-engineers', 'data-scientists'],
    },
  },
  secrets: {
    mode: 'external-secrets',
    // Emitted with the platform: Secrets Manager in the cluster's region, read as the external-secrets controller's IRSA role.
    store: { kind: 'ClusterSecretStore', name: 'aws-secrets-manager', aws: { service: 'SecretsManager', region: 'eu-west-1' } },
    remoteKeyPrefix: 'mlops/staging',
  },
  metadataStore: { kind: 'in-cluster-postgres', storage: { size: '20Gi', storageClassName: 'gp3' } },
  artifactStore: { kind: 's3', prefix: 'mlflow' },
  tracking: { image: trackingImage(registry), replicas: { min: 2, max: 4 } },
  inference: {
    image: inferenceImage(registry),
    models: [
      {
        name: 'churn-predictor',
        registeredModel: 'churn-predictor',
        alias: 'champion',
        autoscaling: { minReplicas: 2, maxReplicas: 6, targetCPUUtilization: 70 },
        canary: { alias: 'challenger', weight: 10 },
      },
    ],
  },
  training: { image: trackingImage(registry), gpuPool: 'gpu-training', gpus: 1, retrainSchedule: '0 3 * * 1' },
  gpu: {
    pools: [
      {
        name: 'gpu-training',
        instanceTypes: ['g5.xlarge'],
        minSize: 0,
        maxSize: 2,
        labels: { 'mlops.example.com/pool': 'gpu-training' },
      },
    ],
  },
  // Every image pinned by digest (inline or by environments/images.lock.json): synth refuses otherwise.
  images: { requireDigests: true },
  rbac: { groups: { mlEngineers: ['ml-engineers'], dataScientists: ['data-scientists'], deployers: ['ci-deployers'] } },
  gitops: { repoURL: 'https://git.example.com/platform/mlops-gitops.git', path: 'dist/staging', automatedSync: true },
};
