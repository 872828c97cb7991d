import { spawnSync } from 'node:child_process';

/** Whether `cmd args…` runs and exits 0, and if not, why (the same probe test/helpers/tools.ts makes). */
export function commandAvailable(cmd: string, args: string[], what: string): { ok: boolean; reason: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return { ok: false, reason: `${what} is not installed (${r.error.message})` };
  if (r.status !== 0) return { ok: false, reason: `${what} is not usable: ${(r.stderr || r.stdout).trim().split('\n').pop()}` };
  return { ok: true, reason: '' };
}
