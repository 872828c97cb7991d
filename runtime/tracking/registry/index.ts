/** The model registry, its audit trail and MLflow 3 logged models: mounted by default on the tracking server. */
export { registryPlugins, registryRoutes, loggedModelRoutes } from './routes';
export { RegistryStore, parseModelsUri, isUriWithinRoot, type Actor, type CreateModelVersionInput } from './store';
export { LoggedModelStore, LOGGED_MODELS_RUN_TAG } from './logged-models';
export type { RegistryTables, RegistryDatabase, RegistryDb } from './schema';
export * from './entities';
export { REGISTRY_LIMITS } from '../limits';
