import type { FastifyRequest } from 'fastify';
import { MlflowError } from '../http/errors';
import { checkCount, TRACE_LIMITS } from '../http/limits';
import type { TraceStore } from './store';

/**
 * The experiments a trace request touches, for authorization (traces follow their experiment's
 * permission, as MLflow's auth app resolves them): read exactly where the trace routes read them,
 * before the handler runs. Unknown traces are a 404, as the handlers answer.
 *
 * - `path`: the trace in the route's `trace_id` (v2: `request_id`) parameter;
 * - `trace_ids`: every trace listed in the body's `trace_ids`;
 * - `start`: StartTraceV3's `trace.trace_info.trace_location`, and, when the trace already exists,
 *   its experiment too (a retry merges into it); StartTrace (v2, the server names the trace): `experiment_id`
 *   (a body with both shapes needs permission on both);
 * - `locations`: SearchTracesV3's `locations` and `experiment_ids`.
 */
export type TraceRequestSource = 'path' | 'trace_ids' | 'start' | 'locations';

const record = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function experimentOfLocation(location: unknown): string {
  const id = record(record(location).mlflow_experiment).experiment_id;
  if (typeof id !== 'string' || id === '') throw MlflowError.invalid("Missing value for required parameter 'trace_location.mlflow_experiment.experiment_id'.");
  return id;
}

/** StartTrace's `experiment_id`: a string or number, as the route's handler parses it; anything else is its 400. */
function experimentIdField(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw MlflowError.invalid("Invalid value for parameter 'experiment_id' supplied: expected a string.");
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw MlflowError.invalid(`Invalid value for parameter '${field}' supplied: expected a list of strings.`);
  checkCount(field, value.length, TRACE_LIMITS.MAX_TRACE_ENTRIES);
  return value as string[];
}

export async function experimentsOfTraceRequest(
  request: FastifyRequest,
  from: TraceRequestSource,
  traces: Pick<TraceStore, 'experimentIdOf' | 'experimentIdsOf'>,
): Promise<string[]> {
  const body = record(request.body);
  switch (from) {
    case 'path': {
      const params = record(request.params);
      const id = params.trace_id ?? params.request_id;
      if (typeof id !== 'string' || !id) throw MlflowError.invalid("Missing value for required parameter 'trace_id'.");
      return [await traces.experimentIdOf(id)];
    }
    case 'trace_ids': {
      const ids = stringList(body.trace_ids, 'trace_ids');
      if (!ids.length) throw MlflowError.invalid("Missing value for required parameter 'trace_ids'.");
      return traces.experimentIdsOf(ids);
    }
    case 'start': {
      // Every experiment the body names in either shape is checked, so the one the route's handler
      // reads (v3 nested, v2 top-level) is always among them.
      const info = record(record(body.trace).trace_info);
      const named = [
        ...(body.trace !== undefined ? [experimentOfLocation(info.trace_location)] : []),
        ...(body.experiment_id !== undefined ? [experimentIdField(body.experiment_id)] : []),
      ];
      if (!named.length) throw MlflowError.invalid("Missing value for required parameter 'experiment_id'.");
      const existing = typeof info.trace_id === 'string' ? await traces.experimentIdsOf([info.trace_id], { allowMissing: true }) : [];
      return [...named, ...existing];
    }
    case 'locations': {
      const locations = body.locations === undefined ? [] : Array.isArray(body.locations) ? body.locations : [body.locations];
      checkCount('locations', locations.length, TRACE_LIMITS.MAX_TRACE_ENTRIES);
      const ids = [...locations.map(experimentOfLocation), ...stringList(body.experiment_ids, 'experiment_ids')];
      if (!ids.length) throw MlflowError.invalid('At least one experiment location is required to search traces.');
      return ids;
    }
  }
}
