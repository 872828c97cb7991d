import { sql, type RawBuilder } from 'kysely';
import { MlflowError } from '../http/errors';
import { excerpt } from '../http/limits';
import { parseFilter, parseOrderByList, type Comparison, type EntityAliases } from './filter';
import { keyValuePredicate, listPredicate, numericPredicate, stringPredicate } from './predicates';
import { ownValue } from '../../../core/records';

/**
 * Trace searches (MLflow 3 SearchTracesV3, mlflow/utils/search_utils.py SearchTraceUtils): the
 * columns of `trace_info` and its tag and request-metadata tables for the shared compiler
 * (predicates.ts). Keys MLflow maps elsewhere are mapped the same way: `name` is the
 * `mlflow.traceName` tag, `run_id` the `mlflow.sourceRun` metadata or a LinkTracesToRun link.
 */

const TRACE_ENTITIES: EntityAliases = {
  attribute: 'attribute',
  attributes: 'attribute',
  trace: 'attribute',
  tag: 'tag',
  tags: 'tag',
  request_metadata: 'metadata',
  metadata: 'metadata',
  feedback: 'feedback',
  expectation: 'expectation',
  span: 'span',
};

const column = (name: string) => sql.ref(`trace_info.${name}`);
const END_TIME = sql`(trace_info.timestamp_ms + COALESCE(trace_info.execution_time_ms, 0))`;

const NUMERIC: Record<string, RawBuilder<unknown>> = {
  timestamp_ms: column('timestamp_ms'),
  timestamp: column('timestamp_ms'),
  execution_time_ms: column('execution_time_ms'),
  execution_time: column('execution_time_ms'),
  end_time_ms: END_TIME,
  end_time: END_TIME,
};
const STRINGS: Record<string, RawBuilder<unknown>> = {
  request_id: column('request_id'),
  status: column('status'),
  client_request_id: column('client_request_id'),
};

const TAGS = { table: 'trace_tags', owner: sql`kv.request_id = trace_info.request_id`, list: true } as const;
const METADATA = { table: 'trace_request_metadata', owner: sql`kv.request_id = trace_info.request_id`, list: true } as const;
/** Keys MLflow reads from tags rather than trace_info. */
const KEY_TO_TAG: Record<string, string> = { name: 'mlflow.traceName', prompt: 'mlflow.linkedPrompts' };

function unsupported(filter: string, what: string): MlflowError {
  return MlflowError.invalid(`Invalid filter '${excerpt(filter)}': ${what}`);
}

/** `run_id = 'x'` / IN: the trace's source run (metadata) or a run it was linked to. */
function runIdPredicate(c: Comparison, filter: string): RawBuilder<boolean> {
  if (c.comparator !== '=' && c.comparator !== 'IN') throw unsupported(filter, "run_id can be compared with '=' or IN only");
  const linked = { ...c, key: 'run_id' };
  const link = c.comparator === 'IN' ? listPredicate(sql.ref('l.run_id'), linked) : stringPredicate(sql.ref('l.run_id'), linked, 'run_id');
  const metadata = keyValuePredicate(METADATA, { ...c, key: 'mlflow.sourceRun' }, 'run_id');
  return sql<boolean>`(${metadata} OR EXISTS (SELECT 1 FROM trace_run_links l WHERE l.request_id = trace_info.request_id AND ${link}))`;
}

function attributePredicate(c: Comparison, filter: string): RawBuilder<boolean> {
  const key = c.key.toLowerCase();
  const tag = ownValue(KEY_TO_TAG, key);
  if (tag) return keyValuePredicate(TAGS, { ...c, key: tag }, `attribute '${c.key}'`);
  if (key === 'run_id') return runIdPredicate(c, filter);
  const numeric = ownValue(NUMERIC, key);
  if (numeric) return numericPredicate(numeric, c, `attribute '${c.key}'`, 'int64');
  const text = ownValue(STRINGS, key);
  if (text) return stringPredicate(text, c, `attribute '${c.key}'`, { list: true });
  if (key === 'text') throw unsupported(filter, 'full-text search over span content is not supported (spans are stored as artifacts)');
  throw unsupported(
    filter,
    `traces can be filtered by ${[...Object.keys(NUMERIC), ...Object.keys(STRINGS), 'name', 'run_id', 'prompt'].join(', ')}, tags.<key> and metadata.<key>`,
  );
}

/** The predicates of a trace filter; every value a bound parameter. */
export function traceFilter(filter: string | undefined): RawBuilder<boolean>[] {
  return parseFilter(filter, { allowBareAttributes: true, entities: TRACE_ENTITIES }).map((c) => {
    const source = filter ?? '';
    switch (c.type) {
      case 'tag':
        return keyValuePredicate(TAGS, c, `tag '${c.key}'`);
      case 'metadata':
        return keyValuePredicate(METADATA, c, `request metadata '${c.key}'`);
      case 'attribute':
        return attributePredicate(c, source);
      case 'span':
        throw unsupported(source, 'span filters are not supported (spans are stored as artifacts)');
      default:
        throw unsupported(source, `${c.type} filters are not supported by this server yet`);
    }
  });
}

const ORDER_COLUMNS: Record<string, RawBuilder<unknown>> = {
  experiment_id: column('experiment_id'),
  ...NUMERIC,
  status: column('status'),
  request_id: column('request_id'),
  name: sql`(SELECT t.value FROM trace_tags t WHERE t.request_id = trace_info.request_id AND t.key = ${KEY_TO_TAG.name})`,
  run_id: sql`(SELECT m.value FROM trace_request_metadata m WHERE m.request_id = trace_info.request_id AND m.key = 'mlflow.sourceRun')`,
};

/**
 * ORDER BY terms (MLflow's default: newest first), always ending with request_id so that pages
 * never repeat or skip a trace.
 */
export function traceOrder(orderBy: readonly string[]): RawBuilder<unknown>[] {
  const terms = parseOrderByList(orderBy, TRACE_ENTITIES).map((o) => {
    const col = o.type === 'attribute' ? ORDER_COLUMNS[o.key.toLowerCase()] : undefined;
    if (!col) throw MlflowError.invalid(`Invalid order_by field '${excerpt(o.key)}': traces can be ordered by ${Object.keys(ORDER_COLUMNS).join(', ')}.`);
    // NULLs last either way, the same on SQLite and PostgreSQL.
    return sql`CASE WHEN ${col} IS NULL THEN 1 ELSE 0 END, ${col} ${sql.raw(o.ascending ? 'ASC' : 'DESC')}`;
  });
  if (!terms.length) terms.push(sql`trace_info.timestamp_ms DESC`);
  terms.push(sql`trace_info.request_id ASC`);
  return terms;
}
