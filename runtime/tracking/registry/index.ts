/** The model registry and its audit trail (and, re-exported, MLflow 3 logged models): mounted by default on the tracking server. */
import { loggedModelRoutes } from '../logged-models/routes';
import type { TrackingPlugin } from '../plugin';
import { registryRoutes } from './routes';

export { registryFeature, registryRoutes } from './routes';
export { loggedModelRoutes } from '../logged-models/routes';
/** The registry's and logged models' API plugins, as one list. */
export const registryPlugins: TrackingPlugin[] = [registryRoutes, loggedModelRoutes];
export { RegistryStore, parseModelsUri, isUriWithinRoot, type Actor, type CreateModelVersionInput } from './store';
export { LoggedModelStore, LOGGED_MODELS_RUN_TAG } from '../logged-models/store';
export type { RegistryTables, RegistryDatabase, RegistryDb } from '../db/schema';
export * from './entities';
export * from '../logged-models/entities';
export { REGISTRY_LIMITS } from '../http/limits';
