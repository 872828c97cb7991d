import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { int64, parseBodyAndQuery as parse, protoEnum } from '../http/request';
import { syncPlugin, type TrackingPlugin } from '../plugin';
import { timestampToMs, type TraceInfoV3, type TraceState } from './entities';
import type { TraceStore } from './store';

/**
 * The trace API of MLflow 2.x and early 3.x clients (service.proto StartTrace, EndTrace,
 * GetTraceInfo, SearchTraces, all under /api/2.0/mlflow): the server names the trace at its start
 * and the client ends it with a second call, then uploads `traces.json` as 3.x clients do. Stored in
 * the same tables; answered in the v2 TraceInfo shape (key/value lists, millisecond integers).
 */

const TRACE_STATUSES = ['TRACE_STATUS_UNSPECIFIED', 'OK', 'ERROR', 'IN_PROGRESS'] as const;
const keyValues = z.array(z.object({ key: z.string(), value: z.string().default('') })).default([]);
const startSchema = z.object({ experiment_id: z.string(), timestamp_ms: int64, request_metadata: keyValues, tags: keyValues });
const endSchema = z.object({
  timestamp_ms: int64,
  status: protoEnum(TRACE_STATUSES).default('TRACE_STATUS_UNSPECIFIED'),
  request_metadata: keyValues,
  tags: keyValues,
});
const searchSchema = z.object({
  experiment_ids: z.array(z.string()).default([]),
  filter: z.string().optional(),
  max_results: int64.optional(),
  order_by: z.array(z.string()).default([]),
  page_token: z.string().optional(),
});

const toMap = (list: { key: string; value: string }[]) => Object.fromEntries(list.map((kv) => [kv.key, kv.value]));
const toList = (map: Record<string, string>) => Object.entries(map).map(([key, value]) => ({ key, value }));
const state = (status: (typeof TRACE_STATUSES)[number]): TraceState => (status === 'TRACE_STATUS_UNSPECIFIED' ? 'STATE_UNSPECIFIED' : status);
const requestId = (request: FastifyRequest) => (request.params as { request_id: string }).request_id;

/** A TraceInfoV3 in the v2 TraceInfo shape. */
export function traceInfoV2(info: TraceInfoV3) {
  return {
    request_id: info.trace_id,
    experiment_id: info.trace_location.mlflow_experiment.experiment_id,
    timestamp_ms: timestampToMs(info.request_time, 'request_time'),
    ...(info.execution_duration !== undefined ? { execution_time_ms: Math.round(Number(info.execution_duration.slice(0, -1)) * 1000) } : {}),
    status: info.state === 'STATE_UNSPECIFIED' ? 'TRACE_STATUS_UNSPECIFIED' : info.state,
    request_metadata: toList(info.trace_metadata),
    tags: toList(info.tags),
  };
}

function start(store: TraceStore, request: FastifyRequest) {
  const req = parse(request, startSchema);
  return store.start({
    traceId: `tr-${randomUUID().replace(/-/g, '')}`,
    experimentId: req.experiment_id,
    requestTimeMs: req.timestamp_ms,
    state: 'IN_PROGRESS',
    metadata: toMap(req.request_metadata),
    tags: toMap(req.tags),
    assessments: [],
  });
}

export const traceV2CompatRoutes: TrackingPlugin = syncPlugin((app, ctx) => {
  const store = ctx.traces;
  app.post('/traces', async (request) => ({ trace_info: traceInfoV2(await start(store, request)) }));
  app.patch('/traces/:request_id', async (request) => {
    const req = parse(request, endSchema);
    const info = await store.end(requestId(request), {
      endTimeMs: req.timestamp_ms,
      state: state(req.status),
      metadata: toMap(req.request_metadata),
      tags: toMap(req.tags),
    });
    return { trace_info: traceInfoV2(info) };
  });
  app.get('/traces/:request_id/info', async (request) => ({ trace_info: traceInfoV2(await store.getInfo(requestId(request))) }));
  app.get('/traces', async (request) => {
    const req = parse(request, searchSchema, ['experiment_ids', 'order_by']);
    const page = await store.search({
      experimentIds: req.experiment_ids,
      filter: req.filter,
      maxResults: req.max_results,
      orderBy: req.order_by,
      pageToken: req.page_token,
    });
    return { traces: page.traces.map(traceInfoV2), ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}) };
  });
});
