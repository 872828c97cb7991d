/**
 * The Pulumi side: `defineStack` (the whole program of one stack: cloud resources on AWS for EKS
 * environments, generated credentials, the platform chart deployed) and its components.
 *
 * @module stacks
 */
export {
  defineStack,
  deployedEnvironment,
  identityServiceAccounts,
  PLACEHOLDERS,
  readSettings,
  stackEnvironment,
  type DefineStackOptions,
  type StackResult,
  type StackSettings,
} from '../stacks/program';
export { Platform, deployedByPulumi, objectKey, partOf, substitute, type PlatformArgs } from '../stacks/platform';
export { PlatformCredentials } from '../stacks/credentials';
export { CloudStack } from '../stacks/cluster';
export type { PlatformExtension } from '../stacks/extensions';
