/** The runtime's MLflow REST client: connection settings as MLflow reads them, its retry policy, one error type. */
export { MlflowClient, type MlflowClientOptions } from './client';
export { MlflowApiError } from './errors';
export { resolveConnection, authorizationHeader, type MlflowConnection, type MlflowConnectionOptions } from './config';
export { MlflowHttp, type MlflowHttpHooks, type MlflowRequest } from './http';
export { backoffSeconds, retryAfterSeconds, retryDelaySeconds, isRetryableStatus, TRANSIENT_STATUSES, RETRY_AFTER_STATUSES, type RetryPolicy } from './retry';
export { parseModelUri, type ModelUri, type RegistryModelUri } from './model-uri';
export type { ArtifactFileInfo, ModelVersion, ResolvedVersion, Run, RunData, RunInfo } from './types';
