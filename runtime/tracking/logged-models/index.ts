/** MLflow 3 logged models: their store, routes and entities. */
export { LoggedModelStore, LOGGED_MODELS_RUN_TAG } from './store';
export { loggedModelRoutes, loggedModelsFeature } from './routes';
export * from './entities';
