import type { TrackingPlugin } from '../app';
import { getArtifactRoute } from './get-artifact';
import { historyBulkIntervalRoutes } from './history-bulk-interval';
import { webUiPlugin } from './serve';

/**
 * What the web UI adds to the tracking app. API routes are mounted under each MLflow prefix
 * (`/api/2.0/mlflow`, `/ajax-api/2.0/mlflow`); root routes at `/` (`/get-artifact`, then the UI's
 * static files with its fallback page, last so every other route keeps precedence in intent and order).
 */
export const webUiApiPlugins: TrackingPlugin[] = [historyBulkIntervalRoutes];
export const webUiRootPlugins: TrackingPlugin[] = [getArtifactRoute, webUiPlugin];

export { webUi, webUiPlugin, findUiAssets, type WebUiOptions } from './serve';
export { historyBulkIntervalRoutes, historyBulkInterval, sampleSteps } from './history-bulk-interval';
export { getArtifactRoute } from './get-artifact';
