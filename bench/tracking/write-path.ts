/**
 * `npx tsx bench/tracking/write-path.ts [sqlite|postgres]`: where one log_batch(500 metrics) spends its
 * time, in process (no HTTP): the whole TrackingStore.logBatch, and the database statements it issues
 * (counted through a kysely plugin). One client, back to back, on one pooled connection; figures are
 * medians of MLOPS_BENCH_BATCHES batches, with CPU per batch of this process and of the PostgreSQL
 * backend (from /proc), which a shared machine's load disturbs far less than wall time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../../runtime/tracking/db/connection';
import { prepareSchema } from '../../runtime/tracking/db/migrate';
import { TrackingStore } from '../../runtime/tracking/runs/store';
import { sql } from 'kysely';
import { percentile, processCpuMs } from '../measure';
import { createDatabase, dropDatabase } from './servers';

const BATCHES = Number(process.env.MLOPS_BENCH_BATCHES ?? 200);

async function main(): Promise<void> {
  const dialect = process.argv[2] === 'sqlite' ? 'sqlite' : 'postgres';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-write-path-'));
  const uri = dialect === 'sqlite' ? `sqlite:///${path.join(dir, 'w.db')}` : await createDatabase('mlops_bench_write_path');
  process.env.MLOPS_TRACKING_DB_POOL_SIZE = '1';
  const conn = await openStore(uri);
  try {
    await prepareSchema(conn.db, conn.dialect, { upgrade: true });
    let statements = 0;
    const counted = conn.db.withPlugin({
      transformQuery: (a) => (statements++, a.node),
      transformResult: (a) => Promise.resolve(a.result),
    });
    const store = new TrackingStore(counted, conn.dialect, { defaultArtifactRoot: path.join(dir, 'artifacts') });
    const exp = await store.createExperiment(`w-${Date.now()}`, undefined, []);
    const run = (await store.createRun({ experimentId: exp, tags: [] })).info.run_id;
    const backend = dialect === 'postgres' ? (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn.db)).rows[0].pid : undefined;
    const times: number[] = [];
    statements = 0;
    const cpu0 = process.cpuUsage();
    const pg0 = processCpuMs(backend);
    for (let i = 0; i < BATCHES; i++) {
      const metrics = Array.from({ length: 500 }, (_, k) => ({ key: `m${k % 10}`, value: Math.random(), timestamp: 1_700_000_000_000 + i, step: i }));
      const t0 = performance.now();
      await store.logBatch(run, metrics, [], []);
      times.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpu0);
    const nodeMs = (cpu.user + cpu.system) / 1000 / BATCHES;
    const pgMs = (processCpuMs(backend) - pg0) / BATCHES;
    times.sort((a, b) => a - b);
    console.log(
      `${dialect}: TrackingStore.logBatch(500 metrics) p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms; ` +
        `CPU per batch: node ${nodeMs.toFixed(2)} ms${backend ? `, PostgreSQL backend ${pgMs.toFixed(2)} ms` : ''}; ` +
        `${(statements / BATCHES).toFixed(1)} statements per batch (besides BEGIN/COMMIT)`,
    );
  } finally {
    await conn.close();
    if (dialect === 'postgres') await dropDatabase('mlops_bench_write_path');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
