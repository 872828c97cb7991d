import { describeStack } from './suite';

// staging: EKS with a CIDR-restricted public endpoint, a GPU training pool, in-cluster PostgreSQL, S3.
describeStack('staging', { cloud: true, rds: false }, { 'mlops:oidcClientSecret': 'staging-client-secret' }, ['mlops:oidcClientSecret']);
