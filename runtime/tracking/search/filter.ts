import { MlflowError } from '../http/errors';
import { checkCount, checkLength, excerpt, REQUEST_LIMITS } from '../http/limits';
import { ownValue } from '../../../core/records';

/**
 * MLflow's search filter DSL (mlflow/utils/search_utils.py): an AND of comparisons such as
 * `metrics.acc > 0.9 AND params.lr = '0.01' AND tags.\`team name\` LIKE 'ml-%' AND attributes.run_id IN ('a','b')`.
 * This module only parses; compilation to SQL (bound parameters, never string splicing) is in predicates.ts (and the entities' column maps beside it).
 */
/** The last four are trace searches' (request metadata, assessments by name, span fields). */
export type EntityType = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset' | 'metadata' | 'feedback' | 'expectation' | 'span';
export type Comparator = '=' | '!=' | '>' | '>=' | '<' | '<=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';

export interface Comparison {
  type: EntityType;
  key: string;
  comparator: Comparator;
  value: string | number | string[] | null;
}

export interface OrderBy {
  type: EntityType;
  key: string;
  ascending: boolean;
}

type Token =
  | { t: 'ident'; v: string; quoted: boolean }
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'op'; v: string }
  | { t: 'punct'; v: '(' | ')' | ',' | '.' };

const ENTITY_ALIASES: Record<string, EntityType> = {
  metric: 'metric',
  metrics: 'metric',
  parameter: 'param',
  parameters: 'param',
  param: 'param',
  params: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

/** How a search names its entities: `tags.x`, `attributes.y`… (runs by default). */
export type EntityAliases = Readonly<Record<string, EntityType>>;

export interface ParseOptions {
  /** Whether a bare name (`status = 'OK'`) is an attribute. @default false */
  allowBareAttributes?: boolean;
  /** The entity prefixes this search accepts. @default run and model searches' (metrics, params, tags, attributes, datasets) */
  entities?: EntityAliases;
}

const NUMBER = /[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/y;
const IDENT = /[\p{L}\p{N}_:/-]+/uy;
const OPERATOR = /!=|>=|<=|=|>|</y;

/** `re` (sticky) matched at position i, or undefined. */
function matchAt(re: RegExp, input: string, i: number): string | undefined {
  re.lastIndex = i;
  return re.exec(input)?.[0];
}

/** A token as an error message shows it: JSON, cut to a readable length. */
function shown(t: Token | undefined): string {
  return t ? excerpt(JSON.stringify(t.v)) : 'end of input';
}

function invalidFilter(input: string, msg: string): MlflowError {
  return MlflowError.invalid(`Invalid filter '${excerpt(input)}': ${msg}`);
}

/** One pass, linear in the input: sticky regexes without backtracking, quotes found with indexOf. */
function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw invalidFilter(input, msg);
  };
  while (i < input.length) {
    const c = input[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"' || c === '`') {
      // Quoted: a doubled quote escapes itself, as in SQL.
      const parts: string[] = [];
      let j = i + 1;
      for (;;) {
        const end = input.indexOf(c, j);
        if (end < 0) fail(`unterminated quote starting at position ${i}`);
        parts.push(input.slice(j, end));
        if (input[end + 1] !== c) {
          j = end;
          break;
        }
        parts.push(c);
        j = end + 2;
      }
      const v = parts.join('');
      // Backticks always quote identifiers; double quotes quote an identifier right after a '.', else a string.
      const prev = tokens.at(-1);
      if (c === '`' || (c === '"' && prev?.t === 'punct' && prev.v === '.')) tokens.push({ t: 'ident', v, quoted: true });
      else tokens.push({ t: 'string', v });
      i = j + 1;
    } else if (/[0-9]/.test(c) || ((c === '-' || c === '+' || c === '.') && /[0-9.]/.test(input[i + 1] ?? '') && !isIdentEnd(tokens))) {
      const m = matchAt(NUMBER, input, i) ?? fail(`bad number at position ${i}`);
      tokens.push({ t: 'number', v: Number(m) });
      i += m.length;
    } else if (/[\p{L}_]/u.test(c)) {
      const m = matchAt(IDENT, input, i) ?? fail(`bad identifier at position ${i}`);
      tokens.push({ t: 'ident', v: m, quoted: false });
      i += m.length;
    } else if (c === '.' || c === '(' || c === ')' || c === ',') {
      tokens.push({ t: 'punct', v: c });
      i++;
    } else {
      const m = matchAt(OPERATOR, input, i) ?? fail(`unexpected character '${c}' at position ${i}`);
      tokens.push({ t: 'op', v: m });
      i += m.length;
    }
  }
  return tokens;
}

function isIdentEnd(tokens: Token[]): boolean {
  const prev = tokens.at(-1);
  return prev?.t === 'ident';
}

class Cursor {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    readonly source: string,
  ) {}
  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  done(): boolean {
    return this.i >= this.tokens.length;
  }
  keyword(word: string): boolean {
    const t = this.peek();
    if (t?.t === 'ident' && !t.quoted && t.v.toUpperCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }
  fail(msg: string): never {
    throw invalidFilter(this.source, msg);
  }
}

/** `entity.key` (key optionally quoted); a bare name is an attribute when allowBare. */
function readIdentifier(cur: Cursor, allowBare: boolean, what: string, aliases: EntityAliases = ENTITY_ALIASES): { type: EntityType; key: string } {
  const first = cur.next();
  if (!first || first.t !== 'ident') cur.fail(`expected an identifier such as metrics.<key>, found ${shown(first)}`);
  const dot = cur.peek();
  if (dot?.t === 'punct' && dot.v === '.') {
    cur.next();
    const entity = ownValue(aliases, first.v.toLowerCase());
    if (!entity) cur.fail(`invalid entity type '${excerpt(first.v)}'. Valid values are ${Object.keys(aliases).join(', ')}`);
    // Unquoted keys may themselves contain dots (tags.mlflow.runName).
    let key = '';
    for (;;) {
      const part = cur.next();
      if (!part || part.t !== 'ident') cur.fail(`expected a key after '${excerpt(first.v)}.'`);
      key += part.v;
      const more = cur.peek();
      if (!part.quoted && more?.t === 'punct' && more.v === '.') {
        cur.next();
        key += '.';
        continue;
      }
      break;
    }
    return { type: entity, key };
  }
  if (!allowBare) {
    cur.fail(
      `invalid ${what} '${excerpt(first.v)}': columns are specified as 'attribute.<key>', 'metric.<key>', 'tag.<key>', 'dataset.<key>' or 'param.<key>'`,
    );
  }
  // Multi-word alternates MLflow accepts, e.g. "Run name".
  return { type: 'attribute', key: first.v };
}

function readValue(cur: Cursor): string | number {
  const t = cur.next();
  if (t?.t === 'string') return t.v;
  if (t?.t === 'number') return t.v;
  return cur.fail(`expected a quoted string or a number, found ${shown(t)}`);
}

function readComparison(cur: Cursor, allowBare: boolean, aliases?: EntityAliases): Comparison {
  const { type, key } = readIdentifier(cur, allowBare, 'identifier', aliases);
  let comparator: Comparator;
  const t = cur.peek();
  if (t?.t === 'op') {
    cur.next();
    comparator = t.v as Comparator;
  } else if (cur.keyword('LIKE')) comparator = 'LIKE';
  else if (cur.keyword('ILIKE')) comparator = 'ILIKE';
  else if (cur.keyword('RLIKE')) cur.fail('RLIKE (regular expressions) is not supported by this server; use LIKE or ILIKE');
  else if (cur.keyword('IN')) comparator = 'IN';
  else if (cur.keyword('NOT')) {
    if (!cur.keyword('IN')) cur.fail('expected IN after NOT');
    comparator = 'NOT IN';
  } else if (cur.keyword('IS')) {
    comparator = cur.keyword('NOT') ? 'IS NOT NULL' : 'IS NULL';
    if (!cur.keyword('NULL')) cur.fail('expected NULL after IS');
    return { type, key, comparator, value: null };
  } else return cur.fail(`expected a comparison operator after '${excerpt(key)}'`);

  if (comparator === 'IN' || comparator === 'NOT IN') {
    const open = cur.next();
    if (open?.t !== 'punct' || open.v !== '(') cur.fail(`expected '(' after ${comparator}`);
    const values: string[] = [];
    for (;;) {
      const v = cur.next();
      if (v?.t !== 'string') cur.fail(`${comparator} takes a list of quoted strings`);
      values.push(v.v);
      const sep = cur.next();
      if (sep?.t === 'punct' && sep.v === ')') break;
      if (sep?.t !== 'punct' || sep.v !== ',') cur.fail(`expected ',' or ')' in ${comparator} list`);
    }
    return { type, key, comparator, value: values };
  }
  return { type, key, comparator, value: readValue(cur) };
}

/**
 * Parses a filter string into an AND-list of comparisons (empty filter → []). Its length is checked
 * before tokenizing and the clause and IN-value counts while parsing (REQUEST_LIMITS), so the work
 * and the SQL it compiles to stay bounded.
 */
export function parseFilter(filter: string | undefined, opts: ParseOptions = {}): Comparison[] {
  if (!filter || filter.trim() === '') return [];
  checkLength('filter', filter, REQUEST_LIMITS.FILTER_MAX_LENGTH);
  const cur = new Cursor(tokenize(filter), filter);
  const out: Comparison[] = [];
  let inValues = 0;
  for (;;) {
    if (out.length === REQUEST_LIMITS.FILTER_MAX_CLAUSES) cur.fail(`a filter may AND at most ${REQUEST_LIMITS.FILTER_MAX_CLAUSES} comparisons`);
    const c = readComparison(cur, opts.allowBareAttributes ?? false, opts.entities);
    if (Array.isArray(c.value) && (inValues += c.value.length) > REQUEST_LIMITS.FILTER_MAX_IN_VALUES) {
      cur.fail(`IN and NOT IN lists may hold at most ${REQUEST_LIMITS.FILTER_MAX_IN_VALUES} values in one filter`);
    }
    out.push(c);
    if (cur.done()) break;
    if (!cur.keyword('AND')) {
      const t = cur.peek();
      cur.fail(t && String(t.v).toUpperCase() === 'OR' ? 'OR is not supported; only AND of comparisons' : `expected AND, found ${shown(t)}`);
    }
  }
  return out;
}

/** A request's order_by list, each parsed with parseOrderBy, at most ORDER_BY_MAX_TERMS of them. */
export function parseOrderByList(clauses: readonly string[], entities?: EntityAliases): OrderBy[] {
  checkCount('order_by', clauses.length, REQUEST_LIMITS.ORDER_BY_MAX_TERMS);
  return clauses.map((c) => parseOrderBy(c, entities));
}

/** Parses one order_by clause such as `metrics.acc DESC` or `attributes.start_time`. */
export function parseOrderBy(clause: string, entities?: EntityAliases): OrderBy {
  checkLength('order_by', clause, REQUEST_LIMITS.ORDER_BY_TERM_MAX_LENGTH);
  const cur = new Cursor(tokenize(clause), clause);
  const { type, key } = readIdentifier(cur, true, 'order_by column', entities);
  let ascending = true;
  if (cur.keyword('DESC')) ascending = false;
  else cur.keyword('ASC');
  if (!cur.done()) throw MlflowError.invalid(`Invalid order_by clause '${excerpt(clause)}'. Could not be parsed.`);
  return { type, key, ascending };
}
