import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mlopsBin } from '../helpers/cli';
import { createTestDatabase } from '../helpers/postgres';
import { freePort } from '../helpers/ports';
import { describeWithTool } from '../helpers/tools';
import { migrations, openStore } from '../../runtime/tracking';
import { migrateToLatest, SCHEMA_LOCK_KEY } from '../../runtime/tracking/db/migrate';
import { storeAvailability, storeKinds, tmpDir, type StoreKind } from './helpers';

jest.setTimeout(120_000);

const ALL = Object.keys(migrations).sort();
/** An older release's schema: the first three migrations only. */
const OLD = Object.fromEntries(ALL.slice(0, 3).map((name) => [name, migrations[name]]));

interface Served {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code and stderr once the process has exited. */
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** The real `mlops tracking serve` as its own process (no --upgrade-db: the default a replica runs with). */
async function serve(backendStoreUri: string, dir: string): Promise<Served> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [mlopsBin, 'tracking', 'serve', '--port', String(port), '--backend-store-uri', backendStoreUri, '--artifacts-destination', path.join(dir, 'artifacts')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { child, url: `http://127.0.0.1:${port}`, exited };
}

/** Waits until /health answers 200, failing early (with the server's stderr) if the process exits. */
async function healthy(s: Served, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: { code: number | null; stderr: string } | undefined;
  void s.exited.then((e) => (exit = e));
  for (;;) {
    if (exit) throw new Error(`server exited with ${exit.code} before becoming healthy: ${exit.stderr}`);
    try {
      if ((await fetch(`${s.url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server at ${s.url} did not become healthy`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(s: Served): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
  await s.exited;
}

/** The migrations the database records, as kysely's table holds them (one row per applied migration). */
async function recordedMigrations(uri: string): Promise<string[]> {
  const connection = await openStore(uri);
  try {
    const rows = await connection.db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute();
    return (rows as Array<{ name: string }>).map((r) => r.name).sort();
  } finally {
    await connection.close();
  }
}

async function freshStore(kind: StoreKind, dir: string): Promise<{ uri: string; drop: () => Promise<void> }> {
  if (kind === 'sqlite') return { uri: `sqlite:///${path.join(dir, 'mlflow.db')}`, drop: () => Promise.resolve() };
  const db = await createTestDatabase('mlops_schema_init');
  return { uri: db.url, drop: db.drop };
}

for (const kind of storeKinds()) {
  describeWithTool(`tracking serve and the schema (${kind})`, storeAvailability(kind), () => {
    let dir: string;
    let store: { uri: string; drop: () => Promise<void> };
    const servers: Served[] = [];
    beforeEach(async () => {
      dir = tmpDir('schema-init');
      store = await freshStore(kind, dir);
    });
    afterEach(async () => {
      await Promise.all(servers.splice(0).map(stop));
      await store.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('an empty database is initialized at start, as mlflow server does', async () => {
      const s = await serve(store.uri, dir);
      servers.push(s);
      await healthy(s);
      expect(await recordedMigrations(store.uri)).toEqual(ALL);
      const created = await fetch(`${s.url}/api/2.0/mlflow/experiments/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'first' }),
      });
      expect(created.status).toBe(200);
      if (kind === 'sqlite') {
        // SQLite upgrades by default; without upgrades an empty file is still initialized.
        const { startTrackingServer } = await import('../../runtime/tracking');
        const other = `sqlite:///${path.join(dir, 'other.db')}`;
        const server = await startTrackingServer({
          port: 0,
          backendStoreUri: other,
          artifactsDestination: path.join(dir, 'artifacts'),
          upgradeDb: false,
          logger: false,
        });
        await server.close();
        expect(await recordedMigrations(other)).toEqual(ALL);
      }
    });

    test("a database holding only kysely's bookkeeping (an interrupted first start) is initialized, not refused", async () => {
      const connection = await openStore(store.uri);
      await migrateToLatest(connection.db, {}); // creates kysely_migration and its lock table, applies nothing
      await connection.close();
      const s = await serve(store.uri, dir);
      servers.push(s);
      await healthy(s);
      expect(await recordedMigrations(store.uri)).toEqual(ALL);
    });

    test('four replicas and the migration Job started at once on one empty database all succeed; each migration is applied once', async () => {
      const job = spawn(process.execPath, [mlopsBin, 'tracking', 'db', 'upgrade', '--backend-store-uri', store.uri], { stdio: ['ignore', 'pipe', 'pipe'] });
      let jobOut = '';
      job.stdout.on('data', (d: Buffer) => (jobOut += d.toString()));
      job.stderr.on('data', (d: Buffer) => (jobOut += d.toString()));
      const jobDone = new Promise<number | null>((resolve) => job.once('exit', resolve));
      const replicas = await Promise.all([0, 1, 2, 3].map(() => serve(store.uri, dir)));
      servers.push(...replicas);
      await Promise.all(replicas.map((s) => healthy(s)));
      expect({ code: await jobDone, out: jobOut }).toEqual({ code: 0, out: expect.stringMatching(/^(applied .*|schema already at .*)\n$/) });
      // kysely_migration's primary key would reject a second row, so also check no start failed over it: all 4 are up.
      expect(await recordedMigrations(store.uri)).toEqual(ALL);
      for (const s of replicas) expect((await fetch(`${s.url}/api/2.0/mlflow/experiments/search?max_results=1`)).status).toBe(200);
    });

    if (kind === 'postgres') {
      test('schema set-up waits for the advisory lock, so replicas take turns instead of racing', async () => {
        const { Client } = await import('pg');
        const holder = new Client({ connectionString: store.uri });
        await holder.connect();
        try {
          await holder.query('select pg_advisory_lock($1)', [SCHEMA_LOCK_KEY]);
          const s = await serve(store.uri, dir);
          servers.push(s);
          // A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
          const waiting = async () =>
            Number(
              (
                await holder.query(
                  "select count(*) as n from pg_locks where locktype = 'advisory' and not granted and classid = $1 and objid = $2 and database = (select oid from pg_database where datname = current_database())",
                  [Math.floor(SCHEMA_LOCK_KEY / 2 ** 32), SCHEMA_LOCK_KEY % 2 ** 32],
                )
              ).rows[0].n,
            );
          while ((await waiting()) === 0) {
            if (s.child.exitCode !== null) throw new Error(`server exited: ${(await s.exited).stderr}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          // Blocked on the lock: not serving, and the database still empty.
          await expect(fetch(`${s.url}/health`)).rejects.toThrow();
          expect(await recordedMigrations(store.uri).catch(() => [])).toEqual([]);
          await holder.query('select pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY]);
          await healthy(s);
          expect(await recordedMigrations(store.uri)).toEqual(ALL);
        } finally {
          await holder.end();
        }
      });
    }

    test('an older, non-empty schema is refused with the upgrade instructions, and left as it was', async () => {
      const connection = await openStore(store.uri);
      await migrateToLatest(connection.db, OLD);
      await connection.close();
      if (kind === 'sqlite') {
        // SQLite upgrades at start by default (zero config); the refusal is what --upgrade-db=false gives.
        const { startTrackingServer } = await import('../../runtime/tracking');
        await expect(
          startTrackingServer({ port: 0, backendStoreUri: store.uri, artifactsDestination: path.join(dir, 'artifacts'), upgradeDb: false, logger: false }),
        ).rejects.toThrow(
          `the database schema at ${store.uri} is not current (pending: ${ALL.slice(3).join(', ')}); run \`mlops tracking db upgrade --backend-store-uri ...\` or start with --upgrade-db`,
        );
      } else {
        const s = await serve(store.uri, dir);
        const exit = await s.exited;
        expect(exit.code).toBe(1);
        const masked = store.uri.replace(/:\/\/([^:]+):[^@]*@/, '://$1:***@');
        expect(exit.stderr).toBe(
          `mlops: cannot start the tracking server: the database schema at ${masked} is not current (pending: ${ALL.slice(3).join(', ')}); run \`mlops tracking db upgrade --backend-store-uri ...\` or start with --upgrade-db\n`,
        );
      }
      expect(await recordedMigrations(store.uri)).toEqual(ALL.slice(0, 3));
    });
  });
}
