import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { Availability } from './tools';

/**
 * The PostgreSQL server tests use: `.ci/run` starts Debian's cluster on 127.0.0.1:5432 with password
 * `postgres`; set MLOPS_TEST_POSTGRES_URL to use another server. Each suite gets its own database.
 */
export const adminUrl = process.env.MLOPS_TEST_POSTGRES_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';

/** Synchronous probe (so suites can decide at collection time) through a child process running `pg`. */
export function postgresAvailability(): Availability {
  const script = `const {Client}=require('pg');const c=new Client({connectionString:process.argv[1],connectionTimeoutMillis:3000});c.connect().then(()=>c.end()).then(()=>process.exit(0),e=>{console.error(e.message);process.exit(1)})`;
  const r = spawnSync(process.execPath, ['-e', script, adminUrl], { encoding: 'utf8', timeout: 10_000, cwd: __dirname });
  if (r.status === 0) return { ok: true, reason: '' };
  return { ok: false, reason: `PostgreSQL is not reachable at ${adminUrl.replace(/:[^:@/]*@/, ':***@')} (${(r.stderr || 'timeout').trim().split('\n')[0]})` };
}

/** Creates a fresh database; returns its URL and a function that drops it. */
export async function createTestDatabase(prefix = 'mlops_test'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const { Client } = await import('pg');
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
