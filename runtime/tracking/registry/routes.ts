import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { TrackingPlugin } from '../app';
import { safeArtifactPath } from '../artifacts';
import { boolish, int64, parseRequest, protoEnum } from '../routes/request';
import { listBelow } from '../routes/artifacts';
import { LOGGED_MODEL_STATUSES } from './entities';
import { LoggedModelStore } from './logged-models';
import type { RegistryDb } from './schema';
import { RegistryStore } from './store';

/**
 * The model registry REST API (model_registry.proto), the audit trail, and MLflow 3 logged models
 * (service.proto). One handler per endpoint; requests are validated before any store call.
 */

const keyValue = z.object({ key: z.string(), value: z.string().default('') });
const name = z.string();
const version = z.union([z.string(), z.number().int()]).transform(String);

/**
 * MLflow's client sends DELETE requests with a JSON body; curl users put the fields in the query
 * string. Both are accepted (body fields win).
 */
function parse<S extends z.ZodType>(request: FastifyRequest, schema: S, listFields: readonly string[] = []): z.output<S> {
  if (request.method === 'DELETE' && request.body && typeof request.body === 'object' && !Array.isArray(request.body)) {
    const merged = { ...(request.query as object), ...(request.body as object) };
    const result = schema.safeParse(merged);
    if (result.success) return result.data;
  }
  return parseRequest(request, schema, listFields);
}

const createModelSchema = z.object({ name, tags: z.array(keyValue).default([]), description: z.string().optional() });
const nameSchema = z.object({ name });
const renameSchema = z.object({ name, new_name: z.string().optional() });
const updateModelSchema = z.object({ name, description: z.string().optional() });
const searchSchema = z.object({ filter: z.string().optional(), max_results: int64.optional(), order_by: z.array(z.string()).default([]), page_token: z.string().optional() });
const latestSchema = z.object({ name, stages: z.array(z.string()).default([]) });
const modelTagSchema = z.object({ name, key: z.string(), value: z.string() });
const modelTagDeleteSchema = z.object({ name, key: z.string() });
const createVersionSchema = z.object({
  name,
  source: z.string(),
  run_id: z.string().optional(),
  tags: z.array(keyValue).default([]),
  run_link: z.string().optional(),
  description: z.string().optional(),
  model_id: z.string().optional(),
});
const versionSchema = z.object({ name, version });
const updateVersionSchema = z.object({ name, version, description: z.string().optional() });
const transitionSchema = z.object({ name, version, stage: z.string(), archive_existing_versions: boolish.default(false) });
const versionTagSchema = z.object({ name, version, key: z.string(), value: z.string() });
const versionTagDeleteSchema = z.object({ name, version, key: z.string() });
const aliasSetSchema = z.object({ name, alias: z.string(), version });
const aliasSchema = z.object({ name, alias: z.string() });
const auditSchema = z.object({ name, version: z.string().optional() });

/** /registered-models/* and /model-versions/*: MLflow's ModelRegistryService, plus /model-versions/audit. */
export const registryRoutes: TrackingPlugin = async (app, ctx) => {
  const store = new RegistryStore(ctx.connection.db as unknown as RegistryDb);

  app.post('/registered-models/create', async (request) => {
    const req = parse(request, createModelSchema);
    return { registered_model: await store.createRegisteredModel({ name: req.name, description: req.description, tags: req.tags }, request.user) };
  });

  app.get('/registered-models/get', async (request) => ({ registered_model: await store.getRegisteredModel(parse(request, nameSchema).name) }));

  app.post('/registered-models/rename', async (request) => {
    const req = parse(request, renameSchema);
    return { registered_model: await store.renameRegisteredModel(req.name, req.new_name ?? '', request.user) };
  });

  app.patch('/registered-models/update', async (request) => {
    const req = parse(request, updateModelSchema);
    return { registered_model: await store.updateRegisteredModel(req.name, req.description) };
  });

  app.delete('/registered-models/delete', async (request) => {
    await store.deleteRegisteredModel(parse(request, nameSchema).name, request.user);
    return {};
  });

  app.get('/registered-models/search', async (request) => {
    const req = parse(request, searchSchema, ['order_by']);
    return store.searchRegisteredModels({ filter: req.filter, maxResults: req.max_results, orderBy: req.order_by, pageToken: req.page_token });
  });

  const latest = async (request: FastifyRequest) => {
    const req = parse(request, latestSchema, ['stages']);
    return { model_versions: await store.getLatestVersions(req.name, req.stages) };
  };
  app.post('/registered-models/get-latest-versions', latest);
  app.get('/registered-models/get-latest-versions', latest);

  app.post('/registered-models/set-tag', async (request) => {
    const req = parse(request, modelTagSchema);
    await store.setRegisteredModelTag(req.name, req.key, req.value);
    return {};
  });

  app.delete('/registered-models/delete-tag', async (request) => {
    const req = parse(request, modelTagDeleteSchema);
    await store.deleteRegisteredModelTag(req.name, req.key);
    return {};
  });

  app.post('/model-versions/create', async (request) => {
    const req = parse(request, createVersionSchema);
    const mv = await store.createModelVersion(
      { name: req.name, source: req.source, runId: req.run_id, modelId: req.model_id, runLink: req.run_link, description: req.description, tags: req.tags },
      request.user,
    );
    return { model_version: mv };
  });

  app.get('/model-versions/get', async (request) => {
    const req = parse(request, versionSchema);
    return { model_version: await store.getModelVersion(req.name, req.version) };
  });

  app.patch('/model-versions/update', async (request) => {
    const req = parse(request, updateVersionSchema);
    return { model_version: await store.updateModelVersion(req.name, req.version, req.description) };
  });

  app.delete('/model-versions/delete', async (request) => {
    const req = parse(request, versionSchema);
    await store.deleteModelVersion(req.name, req.version, request.user);
    return {};
  });

  app.get('/model-versions/search', async (request) => {
    const req = parse(request, searchSchema, ['order_by']);
    return store.searchModelVersions({ filter: req.filter, maxResults: req.max_results, orderBy: req.order_by, pageToken: req.page_token });
  });

  app.get('/model-versions/get-download-uri', async (request) => {
    const req = parse(request, versionSchema);
    return { artifact_uri: await store.getModelVersionDownloadUri(req.name, req.version) };
  });

  app.post('/model-versions/transition-stage', async (request) => {
    const req = parse(request, transitionSchema);
    return { model_version: await store.transitionStage(req.name, req.version, req.stage, req.archive_existing_versions, request.user) };
  });

  app.post('/model-versions/set-tag', async (request) => {
    const req = parse(request, versionTagSchema);
    await store.setModelVersionTag(req.name, req.version, req.key, req.value);
    return {};
  });

  app.delete('/model-versions/delete-tag', async (request) => {
    const req = parse(request, versionTagDeleteSchema);
    await store.deleteModelVersionTag(req.name, req.version, req.key);
    return {};
  });

  app.post('/registered-models/alias', async (request) => {
    const req = parse(request, aliasSetSchema);
    await store.setAlias(req.name, req.alias, req.version, request.user);
    return {};
  });

  app.delete('/registered-models/alias', async (request) => {
    const req = parse(request, aliasSchema);
    await store.deleteAlias(req.name, req.alias, request.user);
    return {};
  });

  app.get('/registered-models/alias', async (request) => {
    const req = parse(request, aliasSchema);
    return { model_version: await store.getModelVersionByAlias(req.name, req.alias) };
  });

  /** Who changed what and when: stage transitions, alias changes, version creation and deletion. */
  app.get('/model-versions/audit', async (request) => {
    const req = parse(request, auditSchema);
    return { entries: await store.auditTrail(req.name, req.version) };
  });
};

const modelIdParam = (request: FastifyRequest) => (request.params as { model_id: string }).model_id;

const createLoggedSchema = z.object({
  experiment_id: z.string(),
  name: z.string().optional(),
  model_type: z.string().optional(),
  source_run_id: z.string().optional(),
  params: z.array(keyValue).default([]),
  tags: z.array(keyValue).default([]),
});
const finalizeSchema = z.object({ model_id: z.string().optional(), status: protoEnum(LOGGED_MODEL_STATUSES) });
const tagsSchema = z.object({ model_id: z.string().optional(), tags: z.array(keyValue).default([]) });
const paramsSchema = z.object({ model_id: z.string().optional(), params: z.array(keyValue).default([]) });
const searchLoggedSchema = z.object({
  experiment_ids: z.array(z.string()).default([]),
  filter: z.string().optional(),
  datasets: z.array(z.object({ dataset_name: z.string(), dataset_digest: z.string().optional() })).default([]),
  max_results: int64.optional(),
  order_by: z.array(z.object({ field_name: z.string(), ascending: z.boolean().default(true), dataset_name: z.string().optional(), dataset_digest: z.string().optional() })).default([]),
  page_token: z.string().optional(),
});
const listArtifactsSchema = z.object({ artifact_directory_path: z.string().optional(), page_token: z.string().optional() });
const logModelSchema = z.object({ run_id: z.string(), model_json: z.string() });

/** /logged-models/* (MLflow 3) and /runs/log-model (2.x). */
export const loggedModelRoutes: TrackingPlugin = async (app, ctx) => {
  const store = new LoggedModelStore(ctx.connection.db as unknown as RegistryDb);

  app.post('/logged-models', async (request) => {
    const req = parse(request, createLoggedSchema);
    const model = await store.create({ experimentId: req.experiment_id, name: req.name, modelType: req.model_type, sourceRunId: req.source_run_id, params: req.params, tags: req.tags });
    return { model };
  });

  app.post('/logged-models/search', async (request) => {
    const req = parse(request, searchLoggedSchema, ['experiment_ids']);
    return store.search({ experimentIds: req.experiment_ids, filter: req.filter, datasets: req.datasets, maxResults: req.max_results, orderBy: req.order_by, pageToken: req.page_token });
  });

  app.get('/logged-models/:model_id', async (request) => ({ model: await store.get(modelIdParam(request)) }));

  app.patch('/logged-models/:model_id', async (request) => {
    const req = parse(request, finalizeSchema);
    return { model: await store.finalize(modelIdParam(request), req.status) };
  });

  app.delete('/logged-models/:model_id', async (request) => {
    await store.delete(modelIdParam(request));
    return {};
  });

  app.patch('/logged-models/:model_id/tags', async (request) => {
    const req = parse(request, tagsSchema);
    return { model: await store.setTags(modelIdParam(request), req.tags) };
  });

  app.delete('/logged-models/:model_id/tags/:tag_key', async (request) => {
    await store.deleteTag(modelIdParam(request), (request.params as { tag_key: string }).tag_key);
    return {};
  });

  app.post('/logged-models/:model_id/params', async (request) => {
    const req = parse(request, paramsSchema);
    await store.logParams(modelIdParam(request), req.params);
    return {};
  });

  app.get('/logged-models/:model_id/artifacts/directories', async (request) => {
    const req = parse(request, listArtifactsSchema);
    const rel = safeArtifactPath(req.artifact_directory_path);
    const modelId = modelIdParam(request);
    const rootUri = await store.artifactLocation(modelId);
    // Checked like a run's root: a stored location outside the model's own directory is refused.
    const root = ctx.artifactRoots.resolveStored(rootUri, { kind: 'logged_model', id: modelId });
    return { root_uri: rootUri, files: await listBelow(root, rel) };
  });

  app.post('/runs/log-model', async (request) => {
    const req = parse(request, logModelSchema);
    await store.recordLoggedModel(req.run_id, req.model_json);
    return {};
  });
};

/** Everything this part mounts under /api/2.0/mlflow and /ajax-api/2.0/mlflow. */
export const registryPlugins: TrackingPlugin[] = [registryRoutes, loggedModelRoutes];
