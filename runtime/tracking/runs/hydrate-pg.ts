import { sql } from 'kysely';
import type { RunsTable } from '../db/schema';
import type { RunChildren } from './hydrate';

/**
 * PostgreSQL: a run's children as JSON columns of the statement that selects the run, so GetRun and a
 * SearchRuns page are one statement and one round trip (filter, order, limit and hydration). Each is a
 * correlated subquery on a run_uuid index (bench/tracking/plans/); the planner evaluates them after the
 * LIMIT, for the page's rows only.
 */

type MetricTuple = [key: string, value: number | string, timestamp: number, step: number, is_nan: number];
type DatasetTuple = [
  input_uuid: string,
  name: string,
  digest: string,
  source_type: string,
  source: string,
  schema: string | null,
  profile: string | null,
  tags: [string, string][],
];

export interface ChildColumns {
  child_metrics: MetricTuple[];
  child_params: [string, string][];
  child_tags: [string, string | null][];
  child_datasets: DatasetTuple[];
  child_model_inputs: string[];
  child_model_outputs: [string, number | null][];
}

export const childColumnsPg = () => [
  sql<
    MetricTuple[]
  >`(SELECT COALESCE(json_agg(json_build_array(lm.key, lm.value, lm.timestamp, lm.step, lm.is_nan)), '[]') FROM latest_metrics lm WHERE lm.run_uuid = runs.run_uuid)`.as(
    'child_metrics',
  ),
  sql<[string, string][]>`(SELECT COALESCE(json_agg(json_build_array(p.key, p.value)), '[]') FROM params p WHERE p.run_uuid = runs.run_uuid)`.as(
    'child_params',
  ),
  sql<[string, string | null][]>`(SELECT COALESCE(json_agg(json_build_array(t.key, t.value)), '[]') FROM tags t WHERE t.run_uuid = runs.run_uuid)`.as(
    'child_tags',
  ),
  sql<DatasetTuple[]>`(SELECT COALESCE(json_agg(json_build_array(i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema,
      d.dataset_profile, (SELECT COALESCE(json_agg(json_build_array(it.name, it.value)), '[]') FROM input_tags it WHERE it.input_uuid = i.input_uuid))), '[]')
    FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
    WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = runs.run_uuid)`.as('child_datasets'),
  sql<string[]>`(SELECT COALESCE(json_agg(i.source_id), '[]') FROM inputs i WHERE i.source_type = 'RUN_INPUT' AND i.destination_id = runs.run_uuid)`.as(
    'child_model_inputs',
  ),
  sql<
    [string, number | null][]
  >`(SELECT COALESCE(json_agg(json_build_array(i.destination_id, i.step)), '[]') FROM inputs i WHERE i.source_type = 'RUN_OUTPUT' AND i.source_id = runs.run_uuid)`.as(
    'child_model_outputs',
  ),
];

/** A float8 from PostgreSQL JSON: finite values are numbers, ±Infinity arrive as the strings "Infinity" / "-Infinity". */
const float8 = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

/** The JSON columns of childColumnsPg as the lists assembleRuns takes. */
export function childrenFromColumns(rows: (RunsTable & ChildColumns)[]): RunChildren {
  const out: RunChildren = { metrics: [], params: [], tags: [], datasetInputs: [], modelLinks: [], inputTags: [] };
  for (const r of rows) {
    const run_uuid = r.run_uuid;
    for (const [key, value, timestamp, step, is_nan] of r.child_metrics) out.metrics.push({ run_uuid, key, value: float8(value), timestamp, step, is_nan });
    for (const [key, value] of r.child_params) out.params.push({ run_uuid, key, value });
    for (const [key, value] of r.child_tags) out.tags.push({ run_uuid, key, value });
    for (const [input_uuid, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile, tags] of r.child_datasets) {
      out.datasetInputs.push({ run_uuid, input_uuid, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile });
      for (const [tagName, value] of tags) out.inputTags.push({ input_uuid, name: tagName, value });
    }
    for (const source_id of r.child_model_inputs) out.modelLinks.push({ source_type: 'RUN_INPUT', source_id, destination_id: run_uuid, step: null });
    for (const [destination_id, step] of r.child_model_outputs) out.modelLinks.push({ source_type: 'RUN_OUTPUT', source_id: run_uuid, destination_id, step });
  }
  return out;
}
