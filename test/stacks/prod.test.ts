import { describeStack } from './suite';

// prod: EKS with a private endpoint, GPU training and inference pools, RDS, S3.
describeStack('prod', { cloud: true, rds: true }, { 'mlops:oidcClientSecret': 'prod-client-secret' }, ['mlops:oidcClientSecret']);
