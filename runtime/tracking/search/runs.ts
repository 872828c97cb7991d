import { sql, type RawBuilder } from 'kysely';
import { MlflowError } from '../http/errors';
import type { Comparison, OrderBy } from './filter';
import { keyValuePredicate, numericPredicate, stringPredicate } from './predicates';
import { ownValue } from '../../../core/records';

/** Run and experiment searches: their columns for the shared compiler (predicates.ts), and their orderings. */

const RUN_STRING_ATTRIBUTES: Record<string, RawBuilder<unknown>> = {
  run_id: sql.ref('runs.run_uuid'),
  run_name: sql.ref('runs.name'),
  'run name': sql.ref('runs.name'),
  status: sql.ref('runs.status'),
  artifact_uri: sql.ref('runs.artifact_uri'),
  user_id: sql.ref('runs.user_id'),
};
const RUN_NUMERIC_ATTRIBUTES: Record<string, RawBuilder<unknown>> = {
  start_time: sql.ref('runs.start_time'),
  end_time: sql.ref('runs.end_time'),
  created: sql.ref('runs.start_time'),
  Created: sql.ref('runs.start_time'),
};

function runAttributePredicate(c: Comparison): RawBuilder<boolean> {
  const numeric = ownValue(RUN_NUMERIC_ATTRIBUTES, c.key);
  if (numeric) return numericPredicate(numeric, c, `attribute '${c.key}'`, 'int64');
  const column = ownValue(RUN_STRING_ATTRIBUTES, c.key);
  if (!column) {
    throw MlflowError.invalid(
      `Invalid attribute key '${c.key}' specified. Valid keys are ${[...Object.keys(RUN_STRING_ATTRIBUTES), ...Object.keys(RUN_NUMERIC_ATTRIBUTES)].join(', ')}`,
    );
  }
  if ((c.comparator === 'IN' || c.comparator === 'NOT IN') && c.key !== 'run_id') {
    throw MlflowError.invalid(`Only the 'run_id' attribute supports comparison with a list of quoted string values.`);
  }
  return stringPredicate(column, c, `attribute '${c.key}'`, { list: true });
}

function datasetPredicate(c: Comparison): RawBuilder<boolean> {
  const column = c.key === 'name' ? sql.ref('d.name') : c.key === 'digest' ? sql.ref('d.digest') : c.key === 'context' ? sql.ref('it.value') : undefined;
  if (!column) throw MlflowError.invalid(`Invalid dataset key '${c.key}'. Valid keys are name, digest, context.`);
  const predicate = stringPredicate(column, c, `dataset ${c.key}`, { list: true });
  const contextJoin = c.key === 'context' ? sql`JOIN input_tags it ON it.input_uuid = i.input_uuid AND it.name = ${'mlflow.data.context'}` : sql``;
  return sql<boolean>`EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id ${contextJoin}
    WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = runs.run_uuid AND ${predicate})`;
}

/** One SQL predicate per run-search comparison (to be AND-ed). */
export function runFilterPredicates(comparisons: Comparison[]): RawBuilder<boolean>[] {
  return comparisons.map((c) => {
    switch (c.type) {
      case 'metric':
        // NaN is stored as value 0 with is_nan 1; it never satisfies a numeric comparison.
        return sql<boolean>`EXISTS (SELECT 1 FROM latest_metrics lm WHERE lm.run_uuid = runs.run_uuid AND lm.key = ${c.key} AND lm.is_nan = 0 AND ${numericPredicate(sql.ref('lm.value'), c, `metric '${c.key}'`)})`;
      case 'param':
        return keyValuePredicate({ table: 'params', owner: sql`kv.run_uuid = runs.run_uuid` }, c, `parameter '${c.key}'`);
      case 'tag':
        return keyValuePredicate({ table: 'tags', owner: sql`kv.run_uuid = runs.run_uuid` }, c, `tag '${c.key}'`);
      case 'attribute':
        return runAttributePredicate(c);
      case 'dataset':
        return datasetPredicate(c);
      default:
        // Trace-only entity types (metadata, assessments, spans) never come from a run filter's prefixes.
        throw MlflowError.invalid(`Invalid entity type '${c.type}' in a run filter.`);
    }
  });
}

/** ORDER BY terms for run search; NULLs (runs lacking the metric/param/tag) sort last either way, as MLflow does. */
export function runOrderTerms(orderBy: OrderBy[]): RawBuilder<unknown>[] {
  const terms: RawBuilder<unknown>[] = [];
  for (const o of orderBy) {
    let expr: RawBuilder<unknown>;
    if (o.type === 'metric') expr = sql`(SELECT lm.value FROM latest_metrics lm WHERE lm.run_uuid = runs.run_uuid AND lm.key = ${o.key})`;
    else if (o.type === 'param') expr = sql`(SELECT p.value FROM params p WHERE p.run_uuid = runs.run_uuid AND p.key = ${o.key})`;
    else if (o.type === 'tag') expr = sql`(SELECT t.value FROM tags t WHERE t.run_uuid = runs.run_uuid AND t.key = ${o.key})`;
    else if (o.type === 'attribute') {
      const column = ownValue(RUN_NUMERIC_ATTRIBUTES, o.key) ?? ownValue(RUN_STRING_ATTRIBUTES, o.key);
      if (!column) throw MlflowError.invalid(`Invalid order_by attribute '${o.key}'.`);
      expr = column;
    } else throw MlflowError.invalid(`Ordering by ${o.type} is not supported.`);
    terms.push(sql`CASE WHEN ${expr} IS NULL THEN 1 ELSE 0 END`);
    terms.push(sql`${expr} ${sql.raw(o.ascending ? 'ASC' : 'DESC')}`);
  }
  return terms;
}

const EXPERIMENT_STRING_ATTRIBUTES: Record<string, RawBuilder<unknown>> = { name: sql.ref('experiments.name') };
const EXPERIMENT_NUMERIC_ATTRIBUTES: Record<string, RawBuilder<unknown>> = {
  creation_time: sql.ref('experiments.creation_time'),
  last_update_time: sql.ref('experiments.last_update_time'),
  experiment_id: sql.ref('experiments.experiment_id'),
};

export function experimentFilterPredicates(comparisons: Comparison[]): RawBuilder<boolean>[] {
  return comparisons.map((c) => {
    if (c.type === 'tag') return keyValuePredicate({ table: 'experiment_tags', owner: sql`kv.experiment_id = experiments.experiment_id` }, c, `tag '${c.key}'`);
    if (c.type !== 'attribute') throw MlflowError.invalid(`Invalid entity type '${c.type}' for an experiment search; use attribute or tag.`);
    const numeric = ownValue(EXPERIMENT_NUMERIC_ATTRIBUTES, c.key);
    if (numeric) return numericPredicate(numeric, c, `attribute '${c.key}'`, c.key === 'experiment_id' ? 'int32' : 'int64');
    const column = ownValue(EXPERIMENT_STRING_ATTRIBUTES, c.key);
    if (!column) throw MlflowError.invalid(`Invalid attribute key '${c.key}' specified. Valid keys are name, creation_time, last_update_time`);
    return stringPredicate(column, c, `attribute '${c.key}'`);
  });
}

export function experimentOrderTerms(orderBy: OrderBy[]): RawBuilder<unknown>[] {
  return orderBy.map((o) => {
    const column = o.type === 'attribute' ? (ownValue(EXPERIMENT_NUMERIC_ATTRIBUTES, o.key) ?? ownValue(EXPERIMENT_STRING_ATTRIBUTES, o.key)) : undefined;
    if (!column) throw MlflowError.invalid(`Invalid order_by clause: experiments can be ordered by name, experiment_id, creation_time, last_update_time.`);
    return sql`${column} ${sql.raw(o.ascending ? 'ASC' : 'DESC')}`;
  });
}
