import type { RouteOptions } from 'fastify';
import { basicAuth } from '../../runtime/tracking/auth';
import { REQUEST_LIMITS as L } from '../../runtime/tracking/http/limits';
import { startTestServer, type StoreKind, type TestServer } from '../tracking/helpers';

/**
 * A real tracking server for the security suites: a fresh store of the given kind, basic-auth on (the
 * admin and one ordinary user with MLflow's default READ permission), and the server's route table
 * as Fastify registered it, so suites can walk every endpoint instead of a hand-kept list.
 */

export const ADMIN = { username: 'admin', password: 'admin-password-0001' };
export const USER = { username: 'alice', password: 'alice-password-0001' };
export type Who = typeof ADMIN;

export interface Route {
  method: string;
  url: string;
  bodyLimit?: number;
}

export interface SecureServer extends TestServer {
  routes: Route[];
  /** One request as `who` (null: anonymous); see call(). */
  call(who: Who | null, method: string, path: string, payload?: unknown): Promise<Reply>;
}

export interface Reply {
  status: number;
  body: any;
  text: string;
  ms: number;
}

export async function startSecureServer(kind: StoreKind): Promise<SecureServer> {
  const auth = basicAuth({ adminUsername: ADMIN.username, adminPassword: ADMIN.password });
  const routes: Route[] = [];
  const server = await startTestServer(kind, {
    plugins: auth.plugins,
    beforeRoutes: async (app, context) => {
      app.addHook('onRoute', (r: RouteOptions) => {
        for (const method of [r.method].flat()) routes.push({ method, url: r.url, bodyLimit: r.bodyLimit });
      });
      await auth.beforeRoutes(app, context);
    },
  });
  const secure: SecureServer = { ...server, routes, call: (who, method, path, payload) => call(server.url, who, method, path, payload) };
  const created = await secure.call(ADMIN, 'POST', '/api/2.0/mlflow/users/create', USER);
  if (created.status !== 200) throw new Error(`users/create: ${created.status} ${created.text}`);
  return secure;
}

/**
 * GET/DELETE-without-body with a query string (repeated keys for arrays), anything else with a JSON
 * body; a string payload is sent as is (raw JSON text, or a prebuilt query string for GET).
 */
export async function call(baseUrl: string, who: Who | null, method: string, path: string, payload?: unknown): Promise<Reply> {
  let url = `${baseUrl}${path}`;
  const headers: Record<string, string> = {};
  if (who) headers.authorization = `Basic ${Buffer.from(`${who.username}:${who.password}`).toString('base64')}`;
  const init: RequestInit = { method, headers };
  if (method === 'GET' && payload !== undefined) {
    url += `?${typeof payload === 'string' ? payload : queryString(payload as Record<string, unknown>)}`;
  } else if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  }
  const started = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  const ms = performance.now() - started;
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, text, ms };
}

export function queryString(fields: Record<string, unknown>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
  return qs.toString();
}

/** True when `body` is MLflow's error JSON: exactly {error_code, message}, both strings. */
export function isMlflowError(body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const keys = Object.keys(body).sort();
  const b = body as Record<string, unknown>;
  return keys.length === 2 && keys[0] === 'error_code' && keys[1] === 'message' && typeof b.error_code === 'string' && typeof b.message === 'string';
}

/** `n` comparisons AND-ed, e.g. clauses(3, (i) => `metrics.m${i} > 0`). */
export function clauses(n: number, clause: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => clause(i)).join(' AND ');
}

/** `[[[…]]]` nested `depth` levels (as text: JSON.stringify of it would itself recurse that deep). */
export function nestedArrays(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

export interface Hostile {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  payload: unknown;
  message: RegExp;
  /** Default: the ordinary user. */
  who?: Who;
}

/** Each request of the finding, plus the same over every search endpoint; `exp` is an existing experiment. */
export function hostileRequests(exp: string): Hostile[] {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));
  const terms = <T>(n: number, term: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => term(i));
  const longValue = `params.p = '${'x'.repeat(L.FILTER_MAX_LENGTH)}'`;
  const inList = (n: number) => `attributes.run_id IN (${terms(n, (i) => `'r${i}'`).join(',')})`;
  return [
    {
      name: 'runs/search: 24,000 order_by terms',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], order_by: terms(24_000, (i) => `metrics.m${i} DESC`) },
      message: /'order_by' may hold at most 10(000)? items, got 24000/,
    },
    {
      name: 'runs/search: 1,000 order_by terms',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], order_by: terms(1_000, (i) => `params.p${i}`) },
      message: /'order_by' may hold at most 10 items/,
    },
    {
      name: 'runs/search: 11 order_by terms',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], order_by: terms(11, (i) => `tags.t${i}`) },
      message: /'order_by' may hold at most 10 items, got 11/,
    },
    {
      name: 'runs/search: an order_by term of 501 characters',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], order_by: [`params.${'k'.repeat(494)}`] },
      message: /'order_by' may be at most 500 characters/,
    },
    {
      name: 'runs/search: 100,000 experiment_ids',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: ids(100_000) },
      message: /more than 100000 values/,
    },
    {
      name: 'runs/search: 10,001 experiment_ids',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: ids(10_001) },
      message: /'experiment_ids' may hold at most 10000 items/,
    },
    {
      name: 'runs/search: 2,001 filter clauses',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], filter: clauses(2_001, (i) => `metrics.m${i} > 0`) },
      message: /at most 20 comparisons/,
    },
    {
      name: 'runs/search: 21 filter clauses',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], filter: clauses(21, (i) => `params.p${i} != 'x'`) },
      message: /at most 20 comparisons/,
    },
    {
      name: 'runs/search: a 50,013-character filter',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], filter: longValue },
      message: /'filter' may be at most 50000 characters/,
    },
    {
      name: 'runs/search: 1,001 IN values',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], filter: inList(1_001) },
      message: /at most 1000 values/,
    },
    {
      name: 'runs/search: max_results 50,001',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], max_results: 50_001 },
      message: /max_results/,
    },
    {
      name: 'runs/search: a 1,025-character page_token',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], page_token: 'A'.repeat(1_025) },
      message: /'page_token' may be at most 1024 characters/,
    },
    {
      name: 'runs/search: run_view_type 99',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], run_view_type: 99 },
      message: /run_view_type/,
    },
    {
      name: 'runs/search: run_view_type not a view type',
      method: 'POST',
      path: '/runs/search',
      payload: { experiment_ids: [exp], run_view_type: "ALL'; DROP TABLE runs; --" },
      message: /run_view_type/,
    },
    {
      name: 'experiments/search: 2,001 filter clauses',
      method: 'POST',
      path: '/experiments/search',
      payload: { filter: clauses(2_001, (i) => `tags.t${i} = 'x'`) },
      message: /at most 20 comparisons/,
    },
    {
      name: 'experiments/search: 11 order_by terms',
      method: 'POST',
      path: '/experiments/search',
      payload: { order_by: terms(11, () => 'name') },
      message: /'order_by' may hold at most 10 items/,
    },
    { name: 'experiments/search: max_results 50,001', method: 'POST', path: '/experiments/search', payload: { max_results: 50_001 }, message: /max_results/ },
    {
      name: 'registered-models/search: 21 filter clauses',
      method: 'GET',
      path: '/registered-models/search',
      payload: { filter: clauses(21, (i) => `tags.t${i} = 'x'`) },
      message: /at most 20 comparisons/,
    },
    {
      name: 'registered-models/search: 11 order_by terms',
      method: 'GET',
      path: '/registered-models/search',
      payload: { order_by: terms(11, () => 'name') },
      message: /'order_by' may hold at most 10 items/,
    },
    {
      name: 'registered-models/search: a 20 kB query string',
      method: 'GET',
      path: '/registered-models/search',
      payload: { filter: clauses(1_000, (i) => `tags.t${i} = 'x'`) },
      message: /request line and headers exceed/,
    },
    {
      name: 'model-versions/search: 21 filter clauses',
      method: 'GET',
      path: '/model-versions/search',
      payload: { filter: clauses(21, (i) => `tags.t${i} = 'x'`) },
      message: /at most 20 comparisons/,
    },
    {
      name: 'model-versions/search: 1,001 IN values',
      method: 'GET',
      path: '/model-versions/search',
      payload: { filter: `run_id IN (${terms(1_001, () => "''").join(',')})` },
      message: /at most 1000 values/,
    },
    {
      name: 'logged-models/search: 2,001 filter clauses',
      method: 'POST',
      path: '/logged-models/search',
      payload: { experiment_ids: [exp], filter: clauses(2_001, (i) => `metrics.m${i} > 0`) },
      message: /at most 20 comparisons/,
    },
    {
      name: 'logged-models/search: 20,000 datasets',
      method: 'POST',
      path: '/logged-models/search',
      payload: { experiment_ids: [exp], datasets: terms(20_000, (i) => ({ dataset_name: `d${i}` })), filter: 'metrics.a > 1' },
      message: /'datasets' may hold at most 100(00)? items/,
    },
    {
      name: 'logged-models/search: 3,000 order_by terms',
      method: 'POST',
      path: '/logged-models/search',
      payload: { experiment_ids: [exp], order_by: terms(3_000, (i) => ({ field_name: `metrics.m${i}` })) },
      message: /'order_by' may hold at most 10 items/,
    },
    {
      name: 'logged-models/search: 10,001 experiment_ids',
      method: 'POST',
      path: '/logged-models/search',
      payload: { experiment_ids: ids(10_001) },
      message: /'experiment_ids' may hold at most 10000 items/,
    },
    // As the admin: for others basic-auth looks up every run id first (an unknown one is a 404 there).
    {
      name: 'get-history-bulk-interval: 101 run_ids',
      method: 'GET',
      path: '/metrics/get-history-bulk-interval',
      payload: { run_ids: terms(101, (i) => `r${i}`), metric_key: 'm' },
      message: /at most 100 run_ids/,
      who: ADMIN,
    },
    {
      name: 'get-history-bulk-interval: 10,000 run_ids',
      method: 'GET',
      path: '/metrics/get-history-bulk-interval',
      payload: { run_ids: terms(10_000, (i) => `r${i}`), metric_key: 'm' },
      message: /request line and headers exceed/,
    },
    {
      name: 'a 10,000-deep JSON body',
      method: 'POST',
      path: '/runs/search',
      payload: `{"experiment_ids": ${nestedArrays(10_000)}}`,
      message: /nested deeper than 64 levels/,
    },
    {
      name: 'a JSON body of 300,000 empty arrays',
      method: 'POST',
      path: '/experiments/search',
      payload: `{"order_by": [${Array(300_000).fill('[]').join(',')}]}`,
      message: /more than 100000 values/,
    },
    {
      name: '90,000 wrongly typed items: refused by their count',
      method: 'POST',
      path: '/experiments/search',
      payload: { order_by: Array(90_000).fill(0) },
      message: /'order_by' may hold at most 10000 items, got 90000/,
    },
    {
      name: '10,000 wrongly typed items: one message, not one per item',
      method: 'POST',
      path: '/experiments/search',
      payload: { order_by: Array(10_000).fill(0) },
      message: /order_by\[0\].*and 9995 more/,
    },
  ];
}

export interface HealthWatch {
  /** Stops the loop; what it saw while running. */
  stop(): Promise<{ answered: number; failures: string[]; maxGapMs: number }>;
}

/**
 * GET /health back to back until stopped (`ok`: the body a healthy server answers). A request that errors, or takes longer than `hangMs` (a
 * hang, far beyond any stall being measured), is a failure; maxGapMs is the longest time between two
 * answers: how long the event loop was held.
 */
export function watchHealth(url: string, hangMs = 30_000, ok = 'OK'): HealthWatch {
  let running = true;
  let answered = 0;
  let maxGapMs = 0;
  const failures: string[] = [];
  // A named function rather than an IIFE: TS would follow the IIFE's flow and take `running` as always true.
  const poll = async () => {
    let last = performance.now();
    while (running) {
      try {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(hangMs) });
        const text = await res.text();
        if (res.status !== 200 || text !== ok) failures.push(`${res.status} ${text}`);
        else answered++;
      } catch (err) {
        failures.push((err as Error).message);
      }
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
    }
  };
  const loop = poll();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { answered, failures, maxGapMs };
    },
  };
}

// ---- Fuzz inputs: seeded, so a failing case replays with MLOPS_FUZZ_SEED=<seed>. ----

/** mulberry32: a small seeded PRNG (deterministic across runs and platforms). */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const ENTITIES = [
  'metrics',
  'metric',
  'params',
  'param',
  'parameter',
  'tags',
  'tag',
  'attributes',
  'attribute',
  'attr',
  'run',
  'datasets',
  'dataset',
  'Metrics',
  'nope',
  '',
];
const KEYS = [
  'm',
  'acc',
  'lr',
  'mlflow.runName',
  'run_id',
  'run_name',
  'status',
  'start_time',
  'end_time',
  'user_id',
  'artifact_uri',
  'name',
  'digest',
  'context',
  'creation_time',
  'last_update_time',
  'experiment_id',
  'version_number',
  'source_path',
  'model_id',
  'model_type',
  'creation_timestamp',
  'mlflow.prompt.is_prompt',
  'a b',
  'k-1',
  'é',
  '日本',
  '1x',
];
const OPS = ['=', '!=', '>', '>=', '<', '<=', 'LIKE', 'ILIKE', 'like', '==', '<>', '=>', '!'];
const STRINGS = [
  '',
  'x',
  '%',
  '_',
  '%a%',
  "it''s",
  'ACTIVE',
  'FINISHED',
  'true',
  'false',
  '0.01',
  'é',
  '\u200b',
  '\u0000',
  '🚀',
  'a'.repeat(300),
  "'; DROP TABLE runs; --",
  "' OR '1'='1",
  'UNION SELECT * FROM users',
];
const NUMBERS = [
  '0',
  '1',
  '-1',
  '0.5',
  '1e3',
  '1e309',
  '-1e309',
  '9007199254740993',
  '99999999999999999999999',
  '.5',
  '-.5e-7',
  '0x10',
  'NaN',
  'Infinity',
  '1.2.3',
  '--1',
  '+3',
];
const JUNK = [
  "'",
  '"',
  '`',
  '(',
  ')',
  ',',
  '.',
  ' AND ',
  ' OR ',
  ' NOT ',
  ' IN ',
  ' IS NULL',
  '((((((((((',
  '))))',
  '\\',
  ';',
  '--',
  '/*',
  '\n',
  '\t',
  '\u202e',
  '\ud800',
  '%00',
  '$1',
  '?',
];

function quote(rng: Rng, s: string): string {
  const q = rng.pick(["'", "'", '"']);
  return q + s.split(q).join(q + q) + q;
}

function fuzzIdentifier(rng: Rng): string {
  const key = rng.pick(KEYS);
  const k = rng.chance(0.25) ? `\`${key}\`` : rng.chance(0.1) ? `"${key}"` : key;
  if (rng.chance(0.15)) return key;
  return `${rng.pick(ENTITIES)}.${k}`;
}

function fuzzClause(rng: Rng): string {
  const id = fuzzIdentifier(rng);
  const r = rng.next();
  if (r < 0.1) return `${id} IS ${rng.chance(0.5) ? 'NOT ' : ''}NULL`;
  if (r < 0.2) {
    const n = rng.chance(0.9) ? 1 + rng.int(4) : rng.int(1_200);
    return `${id} ${rng.chance(0.5) ? 'NOT ' : ''}IN (${Array.from({ length: n }, () => quote(rng, rng.pick(STRINGS))).join(', ')})`;
  }
  const value = rng.chance(0.5) ? quote(rng, rng.pick(STRINGS)) : rng.pick(NUMBERS);
  return `${id} ${rng.pick(OPS)} ${value}`;
}

/** The searchable columns of each search endpoint: the grammar picks these most of the time. */
export type SearchKind = 'runs' | 'experiments' | 'registered-models' | 'model-versions' | 'logged-models';
const NUM_OPS = ['=', '!=', '>', '>=', '<', '<='];
const STR_OPS = ['=', '!=', 'LIKE', 'ILIKE'];
type Column = [name: string, kind: 'num' | 'str' | 'list' | 'null'];
const COLUMNS: Record<SearchKind, Column[]> = {
  runs: [
    ['metrics.m', 'num'],
    ['metrics.`acc`', 'num'],
    ['params.lr', 'str'],
    ['params.lr', 'null'],
    ['tags.t', 'str'],
    ['tags."mlflow.runName"', 'str'],
    ['attributes.run_id', 'list'],
    ['attributes.status', 'str'],
    ['attributes.run_name', 'str'],
    ['attributes.start_time', 'num'],
    ['run.end_time', 'num'],
    ['datasets.name', 'list'],
    ['dataset.context', 'str'],
  ],
  experiments: [
    ['attributes.name', 'str'],
    ['attribute.creation_time', 'num'],
    ['attributes.last_update_time', 'num'],
    ['tags.t', 'str'],
    ['tags.t', 'null'],
  ],
  'registered-models': [
    ['name', 'str'],
    ['name', 'list'],
    ['tags.t', 'str'],
    ['tags.`mlflow.prompt.is_prompt`', 'str'],
    ['tags.t', 'null'],
  ],
  'model-versions': [
    ['name', 'str'],
    ['run_id', 'list'],
    ['source_path', 'str'],
    ['version_number', 'num'],
    ['tags.t', 'str'],
  ],
  'logged-models': [
    ['metrics.m', 'num'],
    ['params.lr', 'str'],
    ['tags.t', 'str'],
    ['name', 'str'],
    ['status', 'list'],
    ['source_run_id', 'str'],
    ['creation_timestamp', 'num'],
  ],
};

function validClause(rng: Rng, kind: SearchKind): string {
  const [column, type] = rng.pick(COLUMNS[kind]);
  const value = () => quote(rng, rng.pick(STRINGS));
  switch (type) {
    case 'num':
      return `${column} ${rng.pick(NUM_OPS)} ${rng.pick(NUMBERS.slice(0, 8))}`;
    case 'str':
      return `${column} ${rng.pick(STR_OPS)} ${value()}`;
    case 'null':
      return `${column} IS ${rng.chance(0.5) ? 'NOT ' : ''}NULL`;
    case 'list':
      return rng.chance(0.5)
        ? `${column} = ${value()}`
        : `${column} ${rng.chance(0.7) ? 'IN' : 'NOT IN'} (${Array.from({ length: 1 + rng.int(4) }, value).join(', ')})`;
  }
}

/**
 * A grammar-generated search filter for one endpoint: mostly valid clauses of its columns, some of
 * any grammar, and sometimes mutated (junk inserted, spans cut or repeated).
 */
export function fuzzFilter(rng: Rng, kind: SearchKind = 'runs'): string {
  const n = rng.chance(0.9) ? 1 + rng.int(4) : 1 + rng.int(30);
  const clause = () => (rng.chance(0.75) ? validClause(rng, kind) : fuzzClause(rng));
  let f = Array.from({ length: n }, clause).join(rng.chance(0.9) ? ' AND ' : rng.pick([' and ', ' OR ', '  AND\n', ' && ']));
  const mutations = rng.chance(0.7) ? 0 : 1 + rng.int(3);
  for (let m = 0; m < mutations; m++) {
    const at = rng.int(f.length + 1);
    const r = rng.next();
    if (r < 0.5) f = f.slice(0, at) + rng.pick(JUNK) + f.slice(at);
    else if (r < 0.75) f = f.slice(0, at) + f.slice(at + 1 + rng.int(8));
    else f = f.slice(0, at) + f.slice(at, at + 10).repeat(1 + rng.int(5)) + f.slice(at);
  }
  return f;
}

/** An order_by term: a column, maybe quoted, maybe with a direction, maybe junk. */
export function fuzzOrderBy(rng: Rng): string {
  const base = rng.chance(0.3) ? rng.pick(KEYS) : fuzzIdentifier(rng);
  const dir = rng.pick(['', ' ASC', ' DESC', ' desc', ' UP', ' ASC DESC', ',']);
  return rng.chance(0.1) ? base + rng.pick(JUNK) + dir : base + dir;
}

/** Field names MLflow's requests use, so random bodies reach handlers' deeper checks. */
const FIELDS = [
  'run_id',
  'run_uuid',
  'experiment_id',
  'experiment_ids',
  'name',
  'new_name',
  'key',
  'value',
  'tags',
  'metrics',
  'params',
  'filter',
  'order_by',
  'max_results',
  'page_token',
  'version',
  'stage',
  'alias',
  'model_id',
  'source',
  'datasets',
  'models',
  'status',
  'timestamp',
  'step',
  'start_time',
  'end_time',
  'run_name',
  'artifact_location',
  'description',
  'view_type',
  'run_view_type',
  'model_json',
  'archive_existing_versions',
  'stages',
  'dataset',
  'source_run_id',
  'model_type',
  'username',
  'password',
  'is_admin',
  'permission',
  'metric_key',
  'run_ids',
  'start_step',
  'end_step',
  'dataset_name',
  'dataset_digest',
  'field_name',
  'ascending',
  'path',
  'artifact_directory_path',
  'user_id',
];

export interface FuzzContext {
  experimentId: string;
  runId: string;
  modelName: string;
  modelId: string;
}

/** A random JSON value of the kind that breaks handlers: wrong types, nulls, huge, deep, near-valid. */
export function fuzzValue(rng: Rng, ctx: FuzzContext, depth = 0): unknown {
  const r = rng.next();
  if (r < 0.08) return null;
  if (r < 0.16) return rng.chance(0.5);
  if (r < 0.3) return fuzzNumber(rng);
  if (r < 0.45)
    return rng.pick([
      ctx.experimentId,
      ctx.runId,
      ctx.modelName,
      ctx.modelId,
      '0',
      '1',
      '-1',
      '',
      'x',
      'NaN',
      'Infinity',
      '1e999',
      'ACTIVE_ONLY',
      'FINISHED',
      'Production',
      'LOGGED_MODEL_READY',
      'READ',
      'MANAGE',
      'true',
    ]);
  // Huge values only at the top levels, so one body stays within a few hundred kilobytes.
  if (r < 0.55) return rng.pick(STRINGS) + (depth < 2 && rng.chance(0.1) ? 'y'.repeat(rng.int(200_000)) : '');
  if (r < 0.6) return rng.chance(0.5) ? fuzzFilter(rng) : `models:/${ctx.modelName}/${rng.pick(['1', 'latest', 'Production', '../..', '%2e%2e'])}`;
  if (r < 0.65 && depth < 2) return Array.from({ length: rng.int(20_000) }, () => (rng.chance(0.5) ? fuzzNumber(rng) : rng.pick(STRINGS)));
  if (r < 0.75 && depth < 6) return Array.from({ length: rng.int(4) }, () => fuzzValue(rng, ctx, depth + 1));
  if (r < 0.92 && depth < 6) return fuzzObject(rng, ctx, depth + 1);
  // Deeper than any handler expects (the body's depth limit is 64).
  let v: unknown = rng.pick([1, 'x', {}]);
  for (let i = 0, n = 1 + rng.int(80); i < n; i++) v = rng.chance(0.5) ? [v] : { [rng.pick(FIELDS)]: v };
  return v;
}

function fuzzNumber(rng: Rng): number {
  return rng.pick([0, -1, 1, 2 ** 31, 2 ** 53, 2 ** 63, -(2 ** 63), 1e308, 0.5, -0, 3.7, Number.MAX_SAFE_INTEGER]);
}

export function fuzzObject(rng: Rng, ctx: FuzzContext, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0, n = rng.int(6); i < n; i++) out[rng.chance(0.9) ? rng.pick(FIELDS) : rng.pick(KEYS)] = fuzzValue(rng, ctx, depth);
  return out;
}
