import { sql, type RawBuilder } from 'kysely';
import { MlflowError } from '../http/errors';
import { checkCount, excerpt, REQUEST_LIMITS } from '../http/limits';
import { parseFilter, parseOrderBy, type Comparison } from './filter';
import { keyValuePredicate, numericPredicate, stringPredicate } from './predicates';

/**
 * Registry search filters and orderings (MLflow's SearchModelUtils / SearchModelVersionUtils): the
 * columns of `registered_models` / `model_versions` for the shared compiler (predicates.ts).
 */

/** A registered model's or a version's tags, seen from the outer row. */
const TAGS = {
  registered_model_tags: { table: 'registered_model_tags', owner: sql`kv.name = registered_models.name` },
  model_version_tags: { table: 'model_version_tags', owner: sql`kv.name = model_versions.name AND kv.version = model_versions.version` },
} as const;

function tagPredicate(c: Comparison, table: keyof typeof TAGS): RawBuilder<boolean> {
  return keyValuePredicate(TAGS[table], c, `tag '${c.key}'`);
}

/** The tag MLflow's prompt registry puts on prompts (registered models and their versions). */
const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt';

/**
 * MLflow's rule for prompts in registry searches (SqlAlchemyStore._is_querying_prompt): the official
 * clients (2.22+, 3.x) append ``tags.`mlflow.prompt.is_prompt` != 'true'`` to every
 * search_registered_models filter. Read literally that matches nothing, since ordinary models have no
 * such tag. Unless the filter asks for prompts (`= 'true'` or `!= 'false'`), the prompt-tag conditions
 * are dropped and prompts are excluded instead: models tagged as one, and all versions of a model with
 * a version tagged as one.
 */
function withoutPromptFilter(
  comparisons: Comparison[],
  table: 'registered_model_tags' | 'model_version_tags',
): { comparisons: Comparison[]; excludePrompts: RawBuilder<boolean>[] } {
  const first = comparisons.find((c) => c.type === 'tag' && c.key === IS_PROMPT_TAG);
  const value = typeof first?.value === 'string' ? first.value.toLowerCase() : undefined;
  const queryingPrompts = (first?.comparator === '=' && value === 'true') || (first?.comparator === '!=' && value === 'false');
  if (queryingPrompts) return { comparisons, excludePrompts: [] };
  const owner = table === 'registered_model_tags' ? sql`p.name = registered_models.name` : sql`p.name = model_versions.name`;
  return {
    comparisons: comparisons.filter((c) => !(c.type === 'tag' && c.key === IS_PROMPT_TAG)),
    excludePrompts: [sql<boolean>`NOT EXISTS (SELECT 1 FROM ${sql.table(table)} p WHERE ${owner} AND p.key = ${IS_PROMPT_TAG} AND p.value = 'true')`],
  };
}

/** `name = 'x'`, `name LIKE 'x%'`, `name ILIKE`, `name IN (...)`, `tags.k = 'v'` … for registered-models/search. */
export function registeredModelFilter(filter: string | undefined): RawBuilder<boolean>[] {
  const { comparisons, excludePrompts } = withoutPromptFilter(parseFilter(filter, { allowBareAttributes: true }), 'registered_model_tags');
  return comparisons
    .map((c) => {
      if (c.type === 'tag') return tagPredicate(c, 'registered_model_tags');
      if (c.type !== 'attribute' || c.key !== 'name') {
        throw MlflowError.invalid(`Invalid attribute key '${c.key}' specified. Valid keys are '{'name'}' and tags.<key>.`);
      }
      return stringPredicate(sql.ref('registered_models.name'), c, `attribute 'name'`, { list: true });
    })
    .concat(excludePrompts);
}

/** `name`, `run_id`, `source_path`, `version_number`, `tags.<key>` for model-versions/search. */
export function modelVersionFilter(filter: string | undefined): RawBuilder<boolean>[] {
  const { comparisons, excludePrompts } = withoutPromptFilter(parseFilter(filter, { allowBareAttributes: true }), 'model_version_tags');
  return comparisons
    .map((c) => {
      if (c.type === 'tag') return tagPredicate(c, 'model_version_tags');
      if (c.type !== 'attribute') throw MlflowError.invalid(`Invalid entity type '${c.type}' in a model version filter; use attributes or tags.<key>.`);
      switch (c.key) {
        case 'name':
          return stringPredicate(sql.ref('model_versions.name'), c, `attribute 'name'`, { list: true });
        case 'run_id':
          return stringPredicate(sql.ref('model_versions.run_id'), c, `attribute 'run_id'`, { list: true });
        case 'source_path':
          return stringPredicate(sql.ref('model_versions.source'), c, `attribute 'source_path'`);
        case 'version_number':
          return numericPredicate(sql.ref('model_versions.version'), c, `attribute 'version_number'`, 'int32', { integer: true });
        default:
          throw MlflowError.invalid(`Invalid attribute key '${c.key}' specified. Valid keys are name, run_id, source_path, version_number and tags.<key>.`);
      }
    })
    .concat(excludePrompts);
}

function orderTerms(orderBy: string[], columns: Record<string, RawBuilder<unknown>>, what: string): { terms: RawBuilder<unknown>[]; keys: Set<string> } {
  checkCount('order_by', orderBy.length, REQUEST_LIMITS.ORDER_BY_MAX_TERMS);
  const terms: RawBuilder<unknown>[] = [];
  const keys = new Set<string>();
  for (const clause of orderBy) {
    const o = parseOrderBy(clause);
    const column = o.type === 'attribute' ? columns[o.key] : undefined;
    if (!column)
      throw MlflowError.invalid(`Invalid order by key '${excerpt(o.key)}' specified. Valid keys for ${what} are ${Object.keys(columns).join(', ')}.`);
    if (keys.has(o.key)) throw MlflowError.invalid(`\`order_by\` contains duplicate fields: ${excerpt(JSON.stringify(orderBy))}`);
    keys.add(o.key);
    terms.push(sql`${column} ${sql.raw(o.ascending ? 'ASC' : 'DESC')}`);
  }
  return { terms, keys };
}

/** ORDER BY for registered-models/search: given keys, then name ASC (MLflow's natural order). */
export function registeredModelOrder(orderBy: string[]): RawBuilder<unknown>[] {
  const { terms, keys } = orderTerms(
    orderBy,
    {
      name: sql.ref('registered_models.name'),
      creation_timestamp: sql.ref('registered_models.creation_time'),
      last_updated_timestamp: sql.ref('registered_models.last_updated_time'),
    },
    'registered models',
  );
  if (!keys.has('name')) terms.push(sql`registered_models.name ASC`);
  return terms;
}

/** ORDER BY for model-versions/search: given keys, then name ASC and version DESC (MLflow's defaults). */
export function modelVersionOrder(orderBy: string[]): RawBuilder<unknown>[] {
  const { terms, keys } = orderTerms(
    orderBy,
    {
      name: sql.ref('model_versions.name'),
      version_number: sql.ref('model_versions.version'),
      creation_timestamp: sql.ref('model_versions.creation_time'),
      last_updated_timestamp: sql.ref('model_versions.last_updated_time'),
    },
    'model versions',
  );
  if (!keys.has('name')) terms.push(sql`model_versions.name ASC`);
  if (!keys.has('version_number')) terms.push(sql`model_versions.version DESC`);
  return terms;
}
