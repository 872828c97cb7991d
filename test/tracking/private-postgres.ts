import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../helpers/ports';
import type { Availability } from '../helpers/tools';
import { tmpDir } from './helpers';

/**
 * A throwaway PostgreSQL instance for tests that must stop and start the database server (the shared
 * server on :5432 is used by other suites concurrently and must never be restarted). Debian's binaries,
 * run as the `postgres` OS user, in a temp directory, on a free port.
 */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

export function privatePostgresAvailability(): Availability {
  const bin = binDir();
  if (!bin) return { ok: false, reason: 'PostgreSQL server binaries (/usr/lib/postgresql/<ver>/bin/initdb) are not installed' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'starting a private PostgreSQL needs root (to run initdb/pg_ctl as the postgres user)' };
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
  } catch {
    return { ok: false, reason: 'there is no postgres OS user' };
  }
  return { ok: true, reason: '' };
}

function asPostgres(command: string): void {
  execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', command], { stdio: 'pipe', timeout: 60_000 });
}

export interface PrivatePostgres {
  url: string;
  port: number;
  start(): void;
  stop(): void;
  destroy(): void;
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir()!;
  const dir = tmpDir('pg');
  fs.chmodSync(dir, 0o755);
  execFileSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  const port = await freePort();
  asPostgres(`${bin}/initdb -D ${data} -U postgres -A trust --no-sync >/dev/null`);
  const pgCtl = (args: string) => asPostgres(`${bin}/pg_ctl -D ${data} ${args}`);
  const start = () => pgCtl(`-w -t 30 -l ${dir}/server.log -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null`);
  start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop: () => pgCtl('-w -t 30 -m fast stop >/dev/null'),
    destroy: () => {
      try {
        pgCtl('-w -t 30 -m immediate stop >/dev/null');
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
