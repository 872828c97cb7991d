import { sql, type RawBuilder } from 'kysely';
import { MlflowError } from '../http/errors';
import { excerpt } from '../http/limits';
import { parseFilter } from './filter';
import { keyValuePredicate, numericPredicate, stringPredicate } from './predicates';
import { ownValue } from '../../../core/records';

/** Logged-model searches (MLflow 3 SearchLoggedModels): the columns of `logged_models` for the shared compiler (predicates.ts). */

const ATTRIBUTES: Record<string, { column: RawBuilder<unknown>; numeric: boolean }> = {
  model_id: { column: sql.ref('logged_models.model_id'), numeric: false },
  name: { column: sql.ref('logged_models.name'), numeric: false },
  model_type: { column: sql.ref('logged_models.model_type'), numeric: false },
  status: { column: sql.ref('logged_models.status'), numeric: false },
  source_run_id: { column: sql.ref('logged_models.source_run_id'), numeric: false },
  creation_timestamp: { column: sql.ref('logged_models.creation_timestamp_ms'), numeric: true },
  creation_time: { column: sql.ref('logged_models.creation_timestamp_ms'), numeric: true },
  last_updated_timestamp: { column: sql.ref('logged_models.last_updated_timestamp_ms'), numeric: true },
};

const KEY_VALUES = {
  tag: {
    table: 'logged_model_tags',
    owner: sql`kv.model_id = logged_models.model_id`,
    keyColumn: 'tag_key',
    valueColumn: 'tag_value',
    nullChecks: false,
    list: true,
  },
  param: {
    table: 'logged_model_params',
    owner: sql`kv.model_id = logged_models.model_id`,
    keyColumn: 'param_key',
    valueColumn: 'param_value',
    nullChecks: false,
    list: true,
  },
} as const;

/**
 * The filter's predicates; a metric comparison holds when any logged point of the key satisfies it
 * (MLflow joins on all metric rows, not the latest) on one of the requested datasets (`onDatasets`).
 */
export function loggedModelFilter(
  filter: string | undefined,
  onDatasets: RawBuilder<boolean>,
): { predicates: RawBuilder<boolean>[]; hasMetricFilter: boolean } {
  let hasMetricFilter = false;
  const predicates = parseFilter(filter, { allowBareAttributes: true }).map((c) => {
    if (c.type === 'metric') {
      hasMetricFilter = true;
      const cmp = numericPredicate(sql.ref('x.metric_value'), c, `metric '${c.key}'`);
      return sql<boolean>`EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = logged_models.model_id AND x.metric_name = ${c.key} AND x.is_nan = 0 AND ${cmp} AND ${onDatasets})`;
    }
    if (c.type === 'tag' || c.type === 'param') return keyValuePredicate(KEY_VALUES[c.type], c, `${c.type} '${c.key}'`);
    const attr = c.type === 'attribute' ? ownValue(ATTRIBUTES, c.key) : undefined;
    if (!attr)
      throw MlflowError.invalid(
        `Invalid filter '${excerpt(filter ?? '')}': logged models can be filtered by ${Object.keys(ATTRIBUTES).join(', ')}, metrics.<key>, tags.<key> and params.<key>.`,
      );
    if (!attr.numeric) return stringPredicate(attr.column, c, `attribute '${c.key}'`, { list: true });
    if (typeof c.value === 'string' && !/^\d+$/.test(c.value))
      throw MlflowError.invalid(`Invalid comparison on '${c.key}': compare it with a number using =, !=, <, <=, >, >=.`);
    return numericPredicate(attr.column, c, `attribute '${c.key}'`, 'int64');
  });
  return { predicates, hasMetricFilter };
}

/** ORDER BY terms: attributes, or `metrics.<key>` (optionally on one dataset), models lacking the metric last. */
export function loggedModelOrder(
  orderBy: readonly { field_name: string; ascending: boolean; dataset_name?: string; dataset_digest?: string }[],
): RawBuilder<unknown>[] {
  return orderBy.flatMap((o) => {
    const dir = sql.raw(o.ascending ? 'ASC' : 'DESC');
    if (o.field_name.startsWith('metrics.')) {
      // The model's latest point of the key (newest timestamp, then highest step; MLflow's rank()),
      // optionally on one dataset; models without it (or with NaN there) sort last either way.
      const key = o.field_name.slice('metrics.'.length);
      if (!key) throw MlflowError.invalid(`Invalid order by field name: ${o.field_name}`);
      const ds = sql`${o.dataset_name ? sql`AND x.dataset_name = ${o.dataset_name}` : sql``} ${o.dataset_digest ? sql`AND x.dataset_digest = ${o.dataset_digest}` : sql``}`;
      const latest = sql`(SELECT CASE WHEN x.is_nan = 1 THEN NULL ELSE x.metric_value END FROM logged_model_metrics x
        WHERE x.model_id = logged_models.model_id AND x.metric_name = ${key} ${ds}
        ORDER BY x.metric_timestamp_ms DESC, x.metric_step DESC, x.metric_value DESC LIMIT 1)`;
      return [sql`CASE WHEN ${latest} IS NULL THEN 1 ELSE 0 END`, sql`${latest} ${dir}`];
    }
    const attr = ownValue(ATTRIBUTES, o.field_name.replace(/^attributes?\./, ''));
    if (!attr)
      throw MlflowError.invalid(`Invalid order_by field '${excerpt(o.field_name)}': use one of ${Object.keys(ATTRIBUTES).join(', ')} or metrics.<key>.`);
    return [sql`${attr.column} ${dir}`];
  });
}
