import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { boolish, int64, parseBodyAndQuery as parse } from '../http/request';
import { syncPlugin, type SearchPager, type TrackingFeature, type TrackingPlugin } from '../plugin';
import type { RegistryStore } from './store';

/**
 * The model registry REST API (model_registry.proto) and the audit trail. One handler per endpoint;
 * requests are validated before any store call.
 */

const keyValue = z.object({ key: z.string(), value: z.string().default('') });
const name = z.string();
const version = z.union([z.string(), z.number().int()]).transform(String);

const createModelSchema = z.object({ name, tags: z.array(keyValue).default([]), description: z.string().optional() });
const nameSchema = z.object({ name });
const renameSchema = z.object({ name, new_name: z.string().optional() });
const updateModelSchema = z.object({ name, description: z.string().optional() });
const searchSchema = z.object({
  filter: z.string().optional(),
  max_results: int64.optional(),
  order_by: z.array(z.string()).default([]),
  page_token: z.string().optional(),
});
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

/** /registered-models/*: create, read, rename, update, delete, search, latest versions, tags. */
function registeredModelRoutes(app: FastifyInstance, store: RegistryStore): void {
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

  const searchModels: SearchPager = async (request, page) => {
    const req = parse(request, searchSchema, ['order_by']);
    return store.searchRegisteredModels({
      filter: req.filter,
      maxResults: page?.maxResults ?? req.max_results,
      orderBy: req.order_by,
      pageToken: page?.pageToken ?? req.page_token,
    });
  };
  app.get('/registered-models/search', { config: { searchPage: searchModels } }, async (request) => searchModels(request));

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
}

/** /model-versions/*: create, read, update, delete, search, download URI, stage transitions, tags. */
function modelVersionRoutes(app: FastifyInstance, store: RegistryStore): void {
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

  const searchVersions: SearchPager = async (request, page) => {
    const req = parse(request, searchSchema, ['order_by']);
    return store.searchModelVersions({
      filter: req.filter,
      maxResults: page?.maxResults ?? req.max_results,
      orderBy: req.order_by,
      pageToken: page?.pageToken ?? req.page_token,
    });
  };
  app.get('/model-versions/search', { config: { searchPage: searchVersions } }, async (request) => searchVersions(request));

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
}

/** Aliases (/registered-models/alias) and the audit trail (/model-versions/audit). */
function aliasAndAuditRoutes(app: FastifyInstance, store: RegistryStore): void {
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
}

/** /registered-models/* and /model-versions/*: MLflow's ModelRegistryService, plus /model-versions/audit. */
export const registryRoutes: TrackingPlugin = syncPlugin((app, ctx) => {
  registeredModelRoutes(app, ctx.registry);
  modelVersionRoutes(app, ctx.registry);
  aliasAndAuditRoutes(app, ctx.registry);
});
/** The model registry and its audit trail, under each MLflow API prefix. */
export const registryFeature: TrackingFeature = { plugins: [registryRoutes] };
