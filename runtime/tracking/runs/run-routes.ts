import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { syncPlugin, type TrackingPlugin } from '../plugin';
import { MlflowError } from '../http/errors';
import { LIMITS, REQUEST_LIMITS } from '../http/limits';
import { RUN_STATUSES, VIEW_TYPES } from './entities';
import type { TrackingStore } from './store';
import { double, int64, parseRequest, protoEnum, runIdOf } from '../http/request';

const keyValue = z.object({ key: z.string(), value: z.string().default('') });
const runRef = { run_id: z.string().optional(), run_uuid: z.string().optional() };
const metric = z.object({
  key: z.string(),
  value: double,
  timestamp: int64,
  step: int64.default(0),
  model_id: z.string().optional(),
  dataset_name: z.string().optional(),
  dataset_digest: z.string().optional(),
});

const createSchema = z.object({
  experiment_id: z.string().default('0'),
  user_id: z.string().optional(),
  run_name: z.string().optional(),
  start_time: int64.optional(),
  tags: z.array(keyValue).default([]),
});
const getSchema = z.object(runRef);
const updateSchema = z.object({ ...runRef, status: protoEnum(RUN_STATUSES).optional(), end_time: int64.optional(), run_name: z.string().optional() });
const logMetricSchema = z.object({
  ...runRef,
  key: z.string(),
  value: double,
  timestamp: int64,
  step: int64.default(0),
  model_id: z.string().optional(),
  dataset_name: z.string().optional(),
  dataset_digest: z.string().optional(),
});
const logParamSchema = z.object({ ...runRef, key: z.string(), value: z.string() });
const setTagSchema = z.object({ ...runRef, key: z.string(), value: z.string() });
const deleteTagSchema = z.object({ run_id: z.string(), key: z.string() });
const logBatchSchema = z.object({
  run_id: z.string(),
  metrics: z.array(metric).default([]),
  params: z.array(keyValue).default([]),
  tags: z.array(keyValue).default([]),
});
const datasetInput = z.object({
  tags: z.array(keyValue).default([]),
  dataset: z.object({
    name: z.string(),
    digest: z.string(),
    source_type: z.string(),
    source: z.string(),
    schema: z.string().optional(),
    profile: z.string().optional(),
  }),
});
const logInputsSchema = z.object({
  run_id: z.string(),
  datasets: z.array(datasetInput).default([]),
  models: z.array(z.object({ model_id: z.string() })).default([]),
});
const logOutputsSchema = z.object({ run_id: z.string(), models: z.array(z.object({ model_id: z.string(), step: int64.default(0) })).default([]) });
const searchSchema = z.object({
  experiment_ids: z.array(z.string()).default([]),
  filter: z.string().optional(),
  run_view_type: protoEnum(VIEW_TYPES).default('ACTIVE_ONLY'),
  max_results: int64.optional(),
  order_by: z.array(z.string()).default([]),
  page_token: z.string().optional(),
});
const historySchema = z.object({ ...runRef, metric_key: z.string(), page_token: z.string().optional(), max_results: int64.optional() });

/** Run lifecycle: create, get, update, delete, restore, search. */
function runLifecycleRoutes(app: FastifyInstance, store: TrackingStore): void {
  app.post('/runs/create', async (request) => {
    const req = parseRequest(request, createSchema);
    const run = await store.createRun({
      experimentId: req.experiment_id,
      userId: req.user_id ?? request.user ?? undefined,
      runName: req.run_name,
      startTime: req.start_time,
      tags: req.tags,
    });
    return { run };
  });

  app.get('/runs/get', async (request) => ({ run: await store.getRun(runIdOf(parseRequest(request, getSchema))) }));

  app.post('/runs/update', async (request) => {
    const req = parseRequest(request, updateSchema);
    return { run_info: await store.updateRun({ runId: runIdOf(req), status: req.status, endTime: req.end_time, runName: req.run_name }) };
  });

  app.post('/runs/delete', async (request) => {
    await store.deleteRun(runIdOf(parseRequest(request, getSchema)));
    return {};
  });

  app.post('/runs/restore', async (request) => {
    await store.restoreRun(runIdOf(parseRequest(request, getSchema)));
    return {};
  });

  app.post('/runs/search', async (request) => {
    const req = parseRequest(request, searchSchema, ['experiment_ids', 'order_by']);
    return store.searchRuns({
      experimentIds: req.experiment_ids,
      filter: req.filter,
      viewType: req.run_view_type,
      maxResults: req.max_results,
      orderBy: req.order_by,
      pageToken: req.page_token,
    });
  });
}

/** What a run records: metrics (and their history), params, tags, batches, inputs and outputs. */
function runDataRoutes(app: FastifyInstance, store: TrackingStore): void {
  app.post('/runs/log-metric', async (request) => {
    const req = parseRequest(request, logMetricSchema);
    await store.logMetric(runIdOf(req), {
      key: req.key,
      value: req.value,
      timestamp: req.timestamp,
      step: req.step,
      model_id: req.model_id || undefined,
      dataset_name: req.dataset_name || undefined,
      dataset_digest: req.dataset_digest || undefined,
    });
    return {};
  });

  app.post('/runs/log-parameter', async (request) => {
    const req = parseRequest(request, logParamSchema);
    await store.logParam(runIdOf(req), { key: req.key, value: req.value });
    return {};
  });

  app.post('/runs/set-tag', async (request) => {
    const req = parseRequest(request, setTagSchema);
    await store.setTag(runIdOf(req), { key: req.key, value: req.value });
    return {};
  });

  app.post('/runs/delete-tag', async (request) => {
    const req = parseRequest(request, deleteTagSchema);
    await store.deleteTag(req.run_id, req.key);
    return {};
  });

  app.post('/runs/log-batch', async (request) => {
    if (request.bodyBytes > LIMITS.MAX_BATCH_LOG_REQUEST_SIZE) {
      throw MlflowError.invalid(
        `Batched logging API requests must be at most ${LIMITS.MAX_BATCH_LOG_REQUEST_SIZE} bytes, got a request of size ${request.bodyBytes}.`,
      );
    }
    const req = parseRequest(request, logBatchSchema);
    await store.logBatch(req.run_id, req.metrics, req.params, req.tags);
    return {};
  });

  app.post('/runs/log-inputs', { bodyLimit: REQUEST_LIMITS.BODY_LOG_INPUTS_BYTES }, async (request) => {
    const req = parseRequest(request, logInputsSchema);
    await store.logInputs(req.run_id, req.datasets, req.models);
    return {};
  });

  app.post('/runs/outputs', async (request) => {
    const req = parseRequest(request, logOutputsSchema);
    await store.logOutputs(req.run_id, req.models);
    return {};
  });

  app.get('/metrics/get-history', async (request) => {
    const req = parseRequest(request, historySchema);
    return store.getMetricHistory({ runId: runIdOf(req), key: req.metric_key, maxResults: req.max_results, pageToken: req.page_token });
  });
}

/** /runs/* and /metrics/*: MLflow's run endpoints (service.proto: CreateRun … LogOutputs, GetMetricHistory). */
export const runRoutes: TrackingPlugin = syncPlugin((app, { store }) => {
  runLifecycleRoutes(app, store);
  runDataRoutes(app, store);
});
