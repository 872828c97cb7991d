/*
 * The Pulumi program (`Pulumi.yaml` main: stacks/): one stack per environment, `pulumi up -s <env>`.
 * Everything is in program.ts; the module's exports are the stack outputs.
 */
import { defineStack } from './program';

const { outputs } = defineStack();

export const environment = outputs.environment;
export const trackingUrl = outputs.trackingUrl;
export const inferenceUrls = outputs.inferenceUrls;
export const artifactBucket = outputs.artifactBucket;
export const clusterName = outputs.clusterName;
/** Admin kubeconfig (secret): `pulumi stack output kubeconfig --show-secrets > kubeconfig.yaml`. */
export const kubeconfig = outputs.kubeconfig;
export const databaseHost = outputs.databaseHost;
export const repositoryUrls = outputs.repositoryUrls;
export const adminUser = outputs.adminUser;
/** Secret: `pulumi stack output adminPassword --show-secrets`. */
export const adminPassword = outputs.adminPassword;
