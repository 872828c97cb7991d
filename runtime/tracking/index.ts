/** The MLflow-compatible tracking server: public API for the CLI, other runtime parts and tests. */
export { startTrackingServer, serverFeatures, type TrackingServerOptions, type RunningTrackingServer } from './server';
export { createTrackingApp, type TrackingAppOptions } from './app';
export { API_PREFIXES, ARTIFACT_PREFIXES, type TrackingContext, type TrackingFeature, type TrackingPlugin } from './plugin';
export { MlflowError, ERROR_STATUS, toMlflowError, isTransientDatabaseError, type ErrorCode } from './http/errors';
export { openStore, DEFAULT_BACKEND_STORE_URI, dialectOf, type StoreConnection, type DialectName } from './db/connection';
export { migrateToLatest, pendingMigrations } from './db/migrate';
export { migrations } from './db/migrations';
export type { Database, TrackingDb } from './db/schema';
export { TrackingStore } from './runs/store';
export { artifactRepositoryFor, safeArtifactPath, type ArtifactRepository } from './artifacts';
export { parseRequest, int64, double, protoEnum } from './http/request';
export { SERVER_VERSION } from './version';
