import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MlflowError } from '../http/errors';
import { int64, parseBodyAndQuery as parse, protoEnum } from '../http/request';
import { syncPlugin, type TrackingFeature, type TrackingPlugin } from '../plugin';
import { durationToMs, timestampToMs, TRACE_STATES } from './entities';
import { traceV2CompatRoutes } from './routes-v2';
import type { TraceStore } from './store';

/**
 * MLflow 3 trace endpoints (service.proto: StartTraceV3, GetTraceInfoV3, BatchGetTraceInfos,
 * SearchTracesV3, Set/DeleteTraceTagV3, DeleteTraces(V3), LinkTracesToRun, the assessment RPCs).
 * Requests are validated before any store call. Span data is not sent here: the client uploads it
 * as `traces.json` under the trace's `mlflow.artifactLocation` (this server reports a version below
 * 3.4, so 3.x clients use that path rather than OTLP span export).
 */

const stringMap = z.record(z.string(), z.string()).default({});
const assessmentSchema = z.object({
  assessment_name: z.string(),
  trace_id: z.string().optional(),
  span_id: z.string().optional(),
  source: z.object({ source_type: z.string().optional(), source_id: z.string().optional() }).optional(),
  create_time: z.string().optional(),
  last_update_time: z.string().optional(),
  feedback: z.record(z.string(), z.unknown()).optional(),
  expectation: z.record(z.string(), z.unknown()).optional(),
  rationale: z.string().optional(),
  error: z.record(z.string(), z.unknown()).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  overrides: z.string().optional(),
  valid: z.boolean().optional(),
});
const locationSchema = z.object({
  type: z.string().optional(),
  mlflow_experiment: z.object({ experiment_id: z.string() }).optional(),
  inference_table: z.unknown().optional(),
});
const traceInfoSchema = z.object({
  trace_id: z.string(),
  client_request_id: z.string().optional(),
  trace_location: locationSchema,
  request_preview: z.string().optional(),
  response_preview: z.string().optional(),
  request_time: z.string(),
  execution_duration: z.string().optional(),
  state: protoEnum(TRACE_STATES).default('STATE_UNSPECIFIED'),
  trace_metadata: stringMap,
  assessments: z.array(assessmentSchema).default([]),
  tags: stringMap,
});
const startSchema = z.object({ trace: z.object({ trace_info: traceInfoSchema }) });
const searchSchema = z.object({
  locations: z.array(locationSchema).default([]),
  experiment_ids: z.array(z.string()).default([]),
  filter: z.string().optional(),
  max_results: int64.optional(),
  order_by: z.array(z.string()).default([]),
  page_token: z.string().optional(),
});
const tagSchema = z.object({ key: z.string(), value: z.string().default('') });
const tagKeySchema = z.object({ key: z.string() });
const deleteSchema = z.object({
  experiment_id: z.string(),
  max_timestamp_millis: int64.optional(),
  max_traces: int64.optional(),
  request_ids: z.array(z.string()).default([]),
});
const idsSchema = z.object({ trace_ids: z.array(z.string()).default([]) });
const linkSchema = z.object({ trace_ids: z.array(z.string()).default([]), run_id: z.string() });
const createAssessmentSchema = z.object({ assessment: assessmentSchema });
const updateAssessmentSchema = z.object({
  assessment: assessmentSchema.partial(),
  update_mask: z.union([z.string(), z.object({ paths: z.array(z.string()) })]).optional(),
});

const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string>)[name];

/** An MLflow-experiment location's id; other location types (Databricks inference tables, Unity Catalog) are not served here. */
function experimentOf(location: z.infer<typeof locationSchema>, field: string): string {
  if (!location.mlflow_experiment || (location.type && location.type !== 'MLFLOW_EXPERIMENT')) {
    throw MlflowError.invalid(`Unsupported trace location in '${field}': this server stores traces in MLflow experiments only.`);
  }
  return location.mlflow_experiment.experiment_id;
}

/** POST /traces (StartTraceV3). */
function startTrace(store: TraceStore, request: FastifyRequest) {
  const info = parse(request, startSchema).trace.trace_info;
  return store.start({
    traceId: info.trace_id,
    experimentId: experimentOf(info.trace_location, 'trace.trace_info.trace_location'),
    clientRequestId: info.client_request_id,
    requestPreview: info.request_preview,
    responsePreview: info.response_preview,
    requestTimeMs: timestampToMs(info.request_time, 'trace.trace_info.request_time'),
    executionTimeMs: info.execution_duration === undefined ? undefined : durationToMs(info.execution_duration, 'trace.trace_info.execution_duration'),
    state: info.state,
    metadata: info.trace_metadata,
    tags: info.tags,
    assessments: info.assessments,
  });
}

/** The update_mask's paths (a comma-separated string in proto JSON); none means every field sent. */
function maskedUpdate(req: z.infer<typeof updateAssessmentSchema>) {
  const paths =
    req.update_mask === undefined ? undefined : typeof req.update_mask === 'string' ? req.update_mask.split(',').map((p) => p.trim()) : req.update_mask.paths;
  const wanted = (field: string) =>
    !paths || paths.some((p) => p === field || p.startsWith(`${field}.`) || p === field.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()));
  const a = req.assessment;
  return {
    assessment_name: wanted('assessment_name') ? a.assessment_name : undefined,
    feedback: wanted('feedback') ? a.feedback : undefined,
    expectation: wanted('expectation') ? a.expectation : undefined,
    rationale: wanted('rationale') ? a.rationale : undefined,
    metadata: wanted('metadata') ? a.metadata : undefined,
  };
}

/** /api/3.0/mlflow/traces…: the MLflow 3 client's trace API. */
export const traceV3Routes: TrackingPlugin = syncPlugin((app, ctx) => {
  const store = ctx.traces;

  app.post('/traces', async (request) => ({ trace: { trace_info: await startTrace(store, request) } }));
  app.get('/traces/:trace_id', async (request) => ({ trace: { trace_info: await store.getInfo(param(request, 'trace_id')) } }));
  app.post('/traces/batchGetInfos', async (request) => ({ trace_infos: await store.batchGetInfos(parse(request, idsSchema, ['trace_ids']).trace_ids) }));

  app.post('/traces/search', async (request) => {
    const req = parse(request, searchSchema);
    const experimentIds = [...req.experiment_ids, ...req.locations.map((l, i) => experimentOf(l, `locations[${i}]`))];
    return store.search({ experimentIds, filter: req.filter, maxResults: req.max_results, orderBy: req.order_by, pageToken: req.page_token });
  });

  tagRoutes(app, store);
  app.post('/traces/delete-traces', async (request) => deleteTraces(store, request));
  assessmentRoutes(app, store);
});

/** Set/DeleteTraceTag: `/traces/<id>/tags` on both prefixes (the 3.x client calls the 2.0 one). */
function tagRoutes(app: Parameters<TrackingPlugin>[0], store: TraceStore): void {
  app.patch('/traces/:trace_id/tags', async (request) => {
    const req = parse(request, tagSchema);
    await store.setTag(param(request, 'trace_id'), req.key, req.value);
    return {};
  });
  app.delete('/traces/:trace_id/tags', async (request) => {
    await store.deleteTag(param(request, 'trace_id'), parse(request, tagKeySchema).key);
    return {};
  });
}

function assessmentRoutes(app: Parameters<TrackingPlugin>[0], store: TraceStore): void {
  const traceId = (request: FastifyRequest) => param(request, 'trace_id');
  app.post('/traces/:trace_id/assessments', async (request) => {
    const a = parse(request, createAssessmentSchema).assessment;
    if (a.trace_id && a.trace_id !== traceId(request)) throw MlflowError.invalid(`The assessment's trace_id '${a.trace_id}' does not match the path's.`);
    return { assessment: await store.assessments.create(traceId(request), a, (db) => store.exists(db, traceId(request))) };
  });
  app.get('/traces/:trace_id/assessments/:assessment_id', async (request) => {
    await store.getInfo(traceId(request));
    return { assessment: await store.assessments.get(traceId(request), param(request, 'assessment_id')) };
  });
  app.patch('/traces/:trace_id/assessments/:assessment_id', async (request) => {
    const update = maskedUpdate(parse(request, updateAssessmentSchema));
    return { assessment: await store.assessments.update(traceId(request), param(request, 'assessment_id'), update) };
  });
  app.delete('/traces/:trace_id/assessments/:assessment_id', async (request) => {
    await store.assessments.delete(traceId(request), param(request, 'assessment_id'), (db) => store.exists(db, traceId(request)));
    return {};
  });
}

async function deleteTraces(store: TraceStore, request: FastifyRequest) {
  const req = parse(request, deleteSchema, ['request_ids']);
  const n = await store.deleteTraces({
    experimentId: req.experiment_id,
    maxTimestampMillis: req.max_timestamp_millis,
    maxTraces: req.max_traces,
    requestIds: req.request_ids,
  });
  return { traces_deleted: n };
}

/** /api/2.0/mlflow/traces…: the endpoints the 3.x client still calls on the 2.0 prefix. */
export const traceV2Routes: TrackingPlugin = syncPlugin((app, ctx) => {
  app.post('/traces/delete-traces', async (request) => deleteTraces(ctx.traces, request));
  tagRoutes(app, ctx.traces);
  app.post('/traces/link-to-run', async (request) => {
    const req = parse(request, linkSchema);
    await ctx.traces.linkToRun(req.trace_ids, req.run_id);
    return {};
  });
});

/** MLflow 3 tracing: the v3 trace API, the 2.0-prefixed endpoints 3.x clients call, and the 2.x clients' trace API. */
export const tracesFeature: TrackingFeature = { plugins: [traceV2Routes, traceV2CompatRoutes], v3Plugins: [traceV3Routes] };
