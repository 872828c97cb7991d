/**
 * The plan PostgreSQL runs for one search_runs, as bench/tracking/explain.ts captures it (there for
 * runs seeded through TrackingStore; here on the scale bench's database, already seeded): every
 * statement TrackingStore.searchRuns issues, with EXPLAIN (ANALYZE, BUFFERS).
 */
import * as os from 'node:os';
import { sql, type RootOperationNode } from 'kysely';
import { openStore } from '../../runtime/tracking/db/connection';
import { TrackingStore } from '../../runtime/tracking/runs/store';

/** A SQL literal for a bound parameter, so the statement can be explained as text. */
const literal = (v: unknown): string =>
  Array.isArray(v) ? `ARRAY[${v.map(literal).join(', ')}]` : typeof v === 'number' ? String(v) : `'${String(v).replaceAll("'", "''")}'`;

export async function explainSearch(dbUrl: string, experimentId: string, filter: string): Promise<string> {
  const conn = await openStore(dbUrl);
  try {
    const captured: RootOperationNode[] = [];
    const db = conn.db.withPlugin({
      transformQuery: (a) => (captured.push(a.node), a.node),
      transformResult: (a) => Promise.resolve(a.result),
    });
    const store = new TrackingStore(db, conn.dialect, { defaultArtifactRoot: os.tmpdir() });
    await store.searchRuns({ experimentIds: [experimentId], filter, viewType: 'ACTIVE_ONLY', maxResults: 100, orderBy: [] });
    const out = [`search_runs ${JSON.stringify(filter)}, max_results 100; generated ${new Date().toISOString()} by npm run bench:scale`, ''];
    for (const node of captured) {
      const q = conn.db.getExecutor().compileQuery(node, { queryId: 'explain' });
      let text = q.sql;
      q.parameters.forEach((p, i) => (text = text.replace(new RegExp(`\\$${i + 1}(?!\\d)`), literal(p))));
      const rows = (await sql.raw<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`).execute(conn.db)).rows;
      out.push(`-- ${text.length > 600 ? `${text.slice(0, 600)}…` : text}`, ...rows.map((r) => r['QUERY PLAN']), '');
    }
    return `${out.join('\n')}\n`;
  } finally {
    await conn.close();
  }
}
