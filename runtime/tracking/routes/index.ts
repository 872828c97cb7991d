import type { TrackingFeature } from '../plugin';
import { artifactRoutes, proxiedArtifactRoutes } from './artifacts';
import { experimentRoutes } from './experiments';
import { runRoutes } from './runs';

/** Experiments and runs (MLflow's tracking service), under each MLflow API prefix. */
export const runsFeature: TrackingFeature = { plugins: [experimentRoutes, runRoutes] };

/** Run artifacts under the API prefixes, and the proxied artifact store (`mlflow-artifacts:`) under its own. */
export const artifactsFeature: TrackingFeature = { plugins: [artifactRoutes], artifactPlugins: [proxiedArtifactRoutes] };
