import type { TrackingFeature, TrackingPlugin } from '../plugin';
import { getArtifactRoute } from './get-artifact';
import { historyBulkIntervalRoutes } from './history-bulk-interval';
import { loggedModelArtifactRoute } from './logged-model-artifact';
import { webUiPlugin } from './serve';

/**
 * What the web UI adds to the tracking app. API routes (get-history-bulk-interval, a logged model's
 * file) are mounted under each MLflow prefix (`/api/2.0/mlflow`, `/ajax-api/2.0/mlflow`); root routes
 * at `/` (`/get-artifact`, then the UI's static files with its fallback page, last so every other route
 * keeps precedence in intent and order).
 */
export const webUiApiPlugins: TrackingPlugin[] = [historyBulkIntervalRoutes, loggedModelArtifactRoute];
export const webUiRootPlugins: TrackingPlugin[] = [getArtifactRoute, webUiPlugin];

/** The web UI's server side; mount it last (its fallback page answers every unmatched browser path). */
export const webUiFeature: TrackingFeature = { plugins: webUiApiPlugins, rootPlugins: webUiRootPlugins };

export { webUi, webUiPlugin, findUiAssets, type WebUiOptions } from './serve';
export { historyBulkIntervalRoutes, historyBulkInterval, sampleSteps } from './history-bulk-interval';
export { getArtifactRoute, sendArtifactFile } from './get-artifact';
export { loggedModelArtifactRoute } from './logged-model-artifact';
