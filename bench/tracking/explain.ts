/**
 * `npx tsx bench/tracking/explain.ts [sqlite|postgres]`: the plan of bench.ts's search_runs (metric +
 * param filter over MLOPS_BENCH_RUNS runs, max_results 100) as this server generates it. Seeds the runs
 * through TrackingStore as the bench does over HTTP, captures every statement one searchRuns issues,
 * and writes each with EXPLAIN ANALYZE (PostgreSQL) / EXPLAIN QUERY PLAN (SQLite) and its time to
 * bench/tracking/plans/search-runs-<dialect>.txt.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql, type CompiledQuery, type RootOperationNode } from 'kysely';
import { openStore } from '../../runtime/tracking/db/connection';
import { prepareSchema } from '../../runtime/tracking/db/migrate';
import { TrackingStore } from '../../runtime/tracking/runs/store';
import { SEARCH_FILTER, seedSearchRuns } from './search-runs';
import { createDatabase, dropDatabase } from './servers';

const RUNS = Number(process.env.MLOPS_BENCH_RUNS ?? 10_000);
/** A literal for `EXPLAIN`: SQLite cannot explain a statement with bound parameters through kysely's raw path. */
const literal = (v: unknown): string =>
  Array.isArray(v) ? `ARRAY[${v.map(literal).join(', ')}]` : typeof v === 'number' ? String(v) : `'${String(v).replaceAll("'", "''")}'`;

async function main(): Promise<void> {
  const dialect = process.argv[2] === 'sqlite' ? 'sqlite' : 'postgres';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-explain-'));
  const uri = dialect === 'sqlite' ? `sqlite:///${path.join(dir, 'e.db')}` : await createDatabase('mlops_bench_explain');
  const conn = await openStore(uri);
  try {
    await prepareSchema(conn.db, conn.dialect, { upgrade: true });
    const captured: RootOperationNode[] = [];
    let capturing = false;
    const db = conn.db.withPlugin({
      transformQuery: (a) => (capturing && captured.push(a.node), a.node),
      transformResult: (a) => Promise.resolve(a.result),
    });
    const store = new TrackingStore(db, conn.dialect, { defaultArtifactRoot: path.join(dir, 'artifacts') });
    const exp = await store.createExperiment(`explain-${Date.now()}`, undefined, []);
    const t0 = performance.now();
    await seedSearchRuns(store, exp, RUNS);
    console.log(`seeded ${RUNS} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (dialect === 'postgres') await sql`ANALYZE`.execute(conn.db);
    const search = () => store.searchRuns({ experimentIds: [exp], filter: SEARCH_FILTER, viewType: 'ACTIVE_ONLY', maxResults: 100, orderBy: [] });
    for (let i = 0; i < 5; i++) await search(); // warm
    const t1 = performance.now();
    for (let i = 0; i < 20; i++) await search();
    const perSearch = (performance.now() - t1) / 20;
    capturing = true;
    await search();
    capturing = false;
    const out: string[] = [
      `search_runs as bench.ts sends it: filter ${JSON.stringify(SEARCH_FILTER)}, max_results 100, ${RUNS} runs (half match each predicate), ${dialect}`,
      `TrackingStore.searchRuns in process: ${perSearch.toFixed(2)} ms per search (mean of 20, after 5 warm-up), ${captured.length} statements`,
      `generated ${new Date().toISOString()} by npx tsx bench/tracking/explain.ts ${dialect}`,
      '',
    ];
    for (const node of captured) {
      const q: CompiledQuery = conn.db.getExecutor().compileQuery(node, { queryId: 'explain' });
      let text = q.sql;
      q.parameters.forEach(
        (p, i) => (text = dialect === 'postgres' ? text.replace(new RegExp(`\\$${i + 1}(?!\\d)`), literal(p)) : text.replace('?', literal(p))),
      );
      const explain = dialect === 'postgres' ? `EXPLAIN (ANALYZE, BUFFERS) ${text}` : `EXPLAIN QUERY PLAN ${text}`;
      const rows = (await sql.raw<Record<string, unknown>>(explain).execute(conn.db)).rows;
      const plan = rows.map((r) => (dialect === 'postgres' ? String(r['QUERY PLAN']) : `${'  '.repeat(Number(r.parent) ? 1 : 0)}${String(r.detail)}`));
      out.push(`-- ${text.length > 600 ? `${text.slice(0, 600)}… (${q.parameters.length} parameters)` : text}`, ...plan, '');
    }
    const file = path.join(__dirname, 'plans', `search-runs-${dialect}${process.env.MLOPS_PLAN_SUFFIX ?? ''}.txt`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${out.join('\n')}\n`);
    console.log(out.slice(0, 2).join('\n'), `\n→ ${path.relative(process.cwd(), file)}`);
  } finally {
    await conn.close();
    if (dialect === 'postgres') await dropDatabase('mlops_bench_explain');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
