import { sql, type RawBuilder } from 'kysely';
import { MlflowError } from '../errors';
import { checkLength, excerpt, REQUEST_LIMITS } from '../limits';
import type { Comparison, OrderBy } from './search-filter';

/**
 * Compiles parsed search filters to SQL predicates over the `runs` / `experiments` tables. Every user
 * value is a bound parameter (`${value}` in kysely's sql tag); only column names chosen from fixed
 * whitelists below are ever written into the SQL text.
 */
const NUMERIC_OPS = new Set(['=', '!=', '>', '>=', '<', '<=']);
const STRING_OPS = new Set(['=', '!=', 'LIKE', 'ILIKE']);

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

function stringPredicate(column: RawBuilder<unknown>, c: Comparison, what: string): RawBuilder<boolean> {
  if (typeof c.value !== 'string') throw MlflowError.invalid(`${what} value must be a quoted string, got ${JSON.stringify(c.value)}.`);
  switch (c.comparator) {
    case '=':
      return sql<boolean>`${column} = ${c.value}`;
    case '!=':
      return sql<boolean>`${column} <> ${c.value}`;
    case 'LIKE':
      return sql<boolean>`${column} LIKE ${c.value}`;
    case 'ILIKE':
      return sql<boolean>`lower(${column}) LIKE lower(${c.value})`;
    default:
      throw MlflowError.invalid(`Invalid comparator '${c.comparator}' for ${what}.`);
  }
}

/**
 * The largest magnitude an integer column is compared with as is: PostgreSQL's int4 for INTEGER
 * columns; for BIGINT the largest exact JavaScript integer (stored timestamps are far below it).
 */
export const INTEGER_RANGE = { int32: 2 ** 31 - 1, int64: Number.MAX_SAFE_INTEGER } as const;
export type IntegerWidth = keyof typeof INTEGER_RANGE;

/**
 * `column <op> value` for an INTEGER/BIGINT column and any number. PostgreSQL types the parameter as
 * the column, so 0.5, 1e309 or (for int4) 2^40 would be a database error; the comparison is rewritten
 * to one with the same truth on integers: x > 0.5 is x > 0, x >= 0.5 is x >= 1, x = 0.5 matches
 * nothing, and a bound beyond the column's range matches every row or none.
 */
export function integerPredicate(column: RawBuilder<unknown>, op: string, value: number, width: IntegerWidth): RawBuilder<boolean> {
  const max = INTEGER_RANGE[width];
  const none = sql<boolean>`1 = 0`;
  const all = sql<boolean>`${column} IS NOT NULL`;
  if (value > max) return op === '<' || op === '<=' || op === '!=' ? all : none;
  if (value < -max) return op === '>' || op === '>=' || op === '!=' ? all : none;
  let bound = value;
  if (!Number.isInteger(value)) {
    if (op === '=') return none;
    if (op === '!=') return all;
    bound = op === '>' || op === '<=' ? Math.floor(value) : Math.ceil(value);
  }
  return sql<boolean>`${column} ${sql.raw(op === '!=' ? '<>' : op)} ${bound}`;
}

/**
 * `column <op> number` for metric and numeric-attribute comparisons (also used by logged-model
 * search); `width` names an integer column's type (metric values are doubles).
 */
export function numericPredicate(column: RawBuilder<unknown>, c: Comparison, what: string, width?: IntegerWidth): RawBuilder<boolean> {
  const value = typeof c.value === 'string' && c.value.trim() !== '' && Number.isFinite(Number(c.value)) ? Number(c.value) : c.value;
  if (typeof value !== 'number') throw MlflowError.invalid(`${what} must be compared with a number, got ${excerpt(JSON.stringify(c.value))}.`);
  if (!NUMERIC_OPS.has(c.comparator)) throw MlflowError.invalid(`Invalid comparator '${c.comparator}' for ${what}; expected one of ${[...NUMERIC_OPS].join(', ')}.`);
  if (width) return integerPredicate(column, c.comparator, value, width);
  return sql<boolean>`${column} ${sql.raw(c.comparator === '!=' ? '<>' : c.comparator)} ${value}`;
}

/** Param or tag: string comparisons against the row for that key, IS [NOT] NULL as (non-)existence. */
function keyValuePredicate(table: 'params' | 'tags', c: Comparison): RawBuilder<boolean> {
  const what = table === 'params' ? `parameter '${c.key}'` : `tag '${c.key}'`;
  const t = sql.table(table);
  if (c.comparator === 'IS NULL') return sql<boolean>`NOT EXISTS (SELECT 1 FROM ${t} kv WHERE kv.run_uuid = runs.run_uuid AND kv.key = ${c.key})`;
  if (c.comparator === 'IS NOT NULL') return sql<boolean>`EXISTS (SELECT 1 FROM ${t} kv WHERE kv.run_uuid = runs.run_uuid AND kv.key = ${c.key})`;
  if (!STRING_OPS.has(c.comparator)) throw MlflowError.invalid(`Invalid comparator '${c.comparator}' for ${what}; expected one of =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL.`);
  return sql<boolean>`EXISTS (SELECT 1 FROM ${t} kv WHERE kv.run_uuid = runs.run_uuid AND kv.key = ${c.key} AND ${stringPredicate(sql.ref('kv.value'), c, what)})`;
}

function runAttributePredicate(c: Comparison): RawBuilder<boolean> {
  if (c.key in RUN_NUMERIC_ATTRIBUTES) return numericPredicate(RUN_NUMERIC_ATTRIBUTES[c.key], c, `attribute '${c.key}'`, 'int64');
  const column = RUN_STRING_ATTRIBUTES[c.key];
  if (!column) {
    throw MlflowError.invalid(
      `Invalid attribute key '${c.key}' specified. Valid keys are ${[...Object.keys(RUN_STRING_ATTRIBUTES), ...Object.keys(RUN_NUMERIC_ATTRIBUTES)].join(', ')}`,
    );
  }
  if (c.comparator === 'IN' || c.comparator === 'NOT IN') {
    if (c.key !== 'run_id') throw MlflowError.invalid(`Only the 'run_id' attribute supports comparison with a list of quoted string values.`);
    const values = c.value as string[];
    return c.comparator === 'IN' ? sql<boolean>`${column} IN (${sql.join(values)})` : sql<boolean>`${column} NOT IN (${sql.join(values)})`;
  }
  return stringPredicate(column, c, `attribute '${c.key}'`);
}

function datasetPredicate(c: Comparison): RawBuilder<boolean> {
  const column =
    c.key === 'name' ? sql.ref('d.name') : c.key === 'digest' ? sql.ref('d.digest') : c.key === 'context' ? sql.ref('it.value') : undefined;
  if (!column) throw MlflowError.invalid(`Invalid dataset key '${c.key}'. Valid keys are name, digest, context.`);
  let predicate: RawBuilder<boolean>;
  if (c.comparator === 'IN' || c.comparator === 'NOT IN') {
    const values = c.value as string[];
    predicate = c.comparator === 'IN' ? sql<boolean>`${column} IN (${sql.join(values)})` : sql<boolean>`${column} NOT IN (${sql.join(values)})`;
  } else predicate = stringPredicate(column, c, `dataset ${c.key}`);
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
        return keyValuePredicate('params', c);
      case 'tag':
        return keyValuePredicate('tags', c);
      case 'attribute':
        return runAttributePredicate(c);
      case 'dataset':
        return datasetPredicate(c);
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
      const column = RUN_NUMERIC_ATTRIBUTES[o.key] ?? RUN_STRING_ATTRIBUTES[o.key];
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
    if (c.type === 'tag') {
      const what = `tag '${c.key}'`;
      if (c.comparator === 'IS NULL') return sql<boolean>`NOT EXISTS (SELECT 1 FROM experiment_tags et WHERE et.experiment_id = experiments.experiment_id AND et.key = ${c.key})`;
      if (c.comparator === 'IS NOT NULL') return sql<boolean>`EXISTS (SELECT 1 FROM experiment_tags et WHERE et.experiment_id = experiments.experiment_id AND et.key = ${c.key})`;
      return sql<boolean>`EXISTS (SELECT 1 FROM experiment_tags et WHERE et.experiment_id = experiments.experiment_id AND et.key = ${c.key} AND ${stringPredicate(sql.ref('et.value'), c, what)})`;
    }
    if (c.type !== 'attribute') throw MlflowError.invalid(`Invalid entity type '${c.type}' for an experiment search; use attribute or tag.`);
    if (c.key in EXPERIMENT_NUMERIC_ATTRIBUTES) return numericPredicate(EXPERIMENT_NUMERIC_ATTRIBUTES[c.key], c, `attribute '${c.key}'`, c.key === 'experiment_id' ? 'int32' : 'int64');
    const column = EXPERIMENT_STRING_ATTRIBUTES[c.key];
    if (!column) throw MlflowError.invalid(`Invalid attribute key '${c.key}' specified. Valid keys are name, creation_time, last_update_time`);
    return stringPredicate(column, c, `attribute '${c.key}'`);
  });
}

export function experimentOrderTerms(orderBy: OrderBy[]): RawBuilder<unknown>[] {
  return orderBy.map((o) => {
    const column = o.type === 'attribute' ? (EXPERIMENT_NUMERIC_ATTRIBUTES[o.key] ?? EXPERIMENT_STRING_ATTRIBUTES[o.key]) : undefined;
    if (!column) throw MlflowError.invalid(`Invalid order_by clause: experiments can be ordered by name, experiment_id, creation_time, last_update_time.`);
    return sql`${column} ${sql.raw(o.ascending ? 'ASC' : 'DESC')}`;
  });
}

/** Opaque page tokens, as MLflow makes them: base64 of {"offset": n}. */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

export function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  checkLength('page_token', token, REQUEST_LIMITS.PAGE_TOKEN_MAX_LENGTH);
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isSafeInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // fall through
  }
  throw MlflowError.invalid(`Invalid page token '${excerpt(token)}'.`);
}
