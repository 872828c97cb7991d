import { describeStack } from './suite';

// dev: a local cluster (kubeconfig context from the environment), no AWS resources.
describeStack('dev', { cloud: false, rds: false });
