import { sql, type RawBuilder } from 'kysely';
import { MlflowError } from '../http/errors';
import { excerpt } from '../http/limits';
import type { Comparison } from './filter';

/**
 * The one compiler from parsed search comparisons (filter.ts) to SQL predicates, shared by every
 * search: runs and experiments (runs.ts), registered models and versions (registry.ts), logged
 * models (logged-models.ts). Each entity names its columns; this module compiles the comparisons.
 * Every user value is a bound parameter (`${value}` in kysely's sql tag); only column names chosen
 * from the entities' fixed maps are ever written into the SQL text.
 */
export const NUMERIC_OPS = new Set(['=', '!=', '>', '>=', '<', '<=']);
export const STRING_OPS = new Set(['=', '!=', 'LIKE', 'ILIKE']);

/** `column IN (…)` / `NOT IN (…)` over the comparison's list of quoted strings. */
export function listPredicate(column: RawBuilder<unknown>, c: Comparison): RawBuilder<boolean> {
  const values = c.value as string[];
  return c.comparator === 'IN' ? sql<boolean>`${column} IN (${sql.join(values)})` : sql<boolean>`${column} NOT IN (${sql.join(values)})`;
}

export interface StringPredicateOptions {
  /** Whether IN / NOT IN with a list of quoted strings is allowed. @default false */
  readonly list?: boolean;
}

/** `column = | != | LIKE | ILIKE 'value'` (ILIKE as lower() LIKE lower(), the same on SQLite and PostgreSQL). */
export function stringPredicate(column: RawBuilder<unknown>, c: Comparison, what: string, opts: StringPredicateOptions = {}): RawBuilder<boolean> {
  if (c.comparator === 'IN' || c.comparator === 'NOT IN') {
    if (!opts.list) throw MlflowError.invalid(`Invalid comparator '${c.comparator}' for ${what}.`);
    return listPredicate(column, c);
  }
  if (typeof c.value !== 'string') throw MlflowError.invalid(`${what} must be compared with a quoted string, got ${excerpt(JSON.stringify(c.value))}.`);
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
      throw MlflowError.invalid(
        `Invalid comparator '${c.comparator}' for ${what}; expected one of ${[...STRING_OPS, ...(opts.list ? ['IN', 'NOT IN'] : [])].join(', ')}.`,
      );
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

export interface NumericPredicateOptions {
  /** Refuse non-integer values (a version number) instead of rewriting the comparison. @default false */
  readonly integer?: boolean;
}

/**
 * `column <op> number` for metric and numeric-attribute comparisons; `width` names an integer
 * column's type (metric values are doubles).
 */
export function numericPredicate(
  column: RawBuilder<unknown>,
  c: Comparison,
  what: string,
  width?: IntegerWidth,
  opts: NumericPredicateOptions = {},
): RawBuilder<boolean> {
  const value = typeof c.value === 'string' && c.value.trim() !== '' && Number.isFinite(Number(c.value)) ? Number(c.value) : c.value;
  if (typeof value !== 'number') throw MlflowError.invalid(`${what} must be compared with a number, got ${excerpt(JSON.stringify(c.value))}.`);
  if (opts.integer && !Number.isInteger(value)) throw MlflowError.invalid(`${what} must be compared with an integer, got ${excerpt(JSON.stringify(c.value))}.`);
  if (!NUMERIC_OPS.has(c.comparator))
    throw MlflowError.invalid(`Invalid comparator '${c.comparator}' for ${what}; expected one of ${[...NUMERIC_OPS].join(', ')}.`);
  if (width) return integerPredicate(column, c.comparator, value, width);
  return sql<boolean>`${column} ${sql.raw(c.comparator === '!=' ? '<>' : c.comparator)} ${value}`;
}

/** A key/value table (tags, params) seen from the row it belongs to; aliased `kv` in the subquery. */
export interface KeyValueTable {
  readonly table: string;
  /** How a `kv` row belongs to the outer row, e.g. sql`kv.run_uuid = runs.run_uuid`. */
  readonly owner: RawBuilder<unknown>;
  /** @default 'key' */
  readonly keyColumn?: string;
  /** @default 'value' */
  readonly valueColumn?: string;
  /** Whether IS NULL / IS NOT NULL test the key's (non-)existence. @default true */
  readonly nullChecks?: boolean;
  /** Whether values may be compared with IN / NOT IN. @default false */
  readonly list?: boolean;
}

/** A tag or param comparison: a string comparison on the row for that key; IS [NOT] NULL as (non-)existence. */
export function keyValuePredicate(t: KeyValueTable, c: Comparison, what: string): RawBuilder<boolean> {
  const match = sql`${sql.table(t.table)} kv WHERE ${t.owner} AND ${sql.ref(`kv.${t.keyColumn ?? 'key'}`)} = ${c.key}`;
  if (t.nullChecks !== false) {
    if (c.comparator === 'IS NULL') return sql<boolean>`NOT EXISTS (SELECT 1 FROM ${match})`;
    if (c.comparator === 'IS NOT NULL') return sql<boolean>`EXISTS (SELECT 1 FROM ${match})`;
  }
  return sql<boolean>`EXISTS (SELECT 1 FROM ${match} AND ${stringPredicate(sql.ref(`kv.${t.valueColumn ?? 'value'}`), c, what, { list: t.list })})`;
}
