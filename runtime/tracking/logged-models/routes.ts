import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { safeArtifactPath } from '../artifacts';
import { listBelow } from '../artifacts/routes';
import { int64, parseBodyAndQuery as parse, protoEnum } from '../http/request';
import { syncPlugin, type TrackingFeature, type TrackingPlugin } from '../plugin';
import { LOGGED_MODEL_STATUSES } from './entities';

/** MLflow 3 logged models (service.proto) and 2.x's /runs/log-model. Requests are validated before any store call. */

const keyValue = z.object({ key: z.string(), value: z.string().default('') });
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
  order_by: z
    .array(
      z.object({ field_name: z.string(), ascending: z.boolean().default(true), dataset_name: z.string().optional(), dataset_digest: z.string().optional() }),
    )
    .default([]),
  page_token: z.string().optional(),
});
const listArtifactsSchema = z.object({ artifact_directory_path: z.string().optional(), page_token: z.string().optional() });
const logModelSchema = z.object({ run_id: z.string(), model_json: z.string() });

/** /logged-models/* (MLflow 3) and /runs/log-model (2.x). */
export const loggedModelRoutes: TrackingPlugin = syncPlugin((app, ctx) => {
  const store = ctx.loggedModels;

  app.post('/logged-models', async (request) => {
    const req = parse(request, createLoggedSchema);
    const model = await store.create({
      experimentId: req.experiment_id,
      name: req.name,
      modelType: req.model_type,
      sourceRunId: req.source_run_id,
      params: req.params,
      tags: req.tags,
    });
    return { model };
  });

  app.post('/logged-models/search', async (request) => {
    const req = parse(request, searchLoggedSchema, ['experiment_ids']);
    return store.search({
      experimentIds: req.experiment_ids,
      filter: req.filter,
      datasets: req.datasets,
      maxResults: req.max_results,
      orderBy: req.order_by,
      pageToken: req.page_token,
    });
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
});

/** Logged models, under each MLflow API prefix. */
export const loggedModelsFeature: TrackingFeature = { plugins: [loggedModelRoutes] };
