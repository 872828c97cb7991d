import type { TrackingFeature } from '../plugin';
import { experimentRoutes } from './experiment-routes';
import { runRoutes } from './run-routes';

/** Experiments and runs (MLflow's tracking service), under each MLflow API prefix. */
export const runsFeature: TrackingFeature = { plugins: [experimentRoutes, runRoutes] };
export { experimentRoutes, runRoutes };
export { TrackingStore } from './store';
