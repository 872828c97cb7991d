import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const mlopsBin = path.join(repoRoot, 'bin', 'mlops.js');

/** Runs the real `mlops` command as a user would, and returns its exit code and output. */
export function runMlops(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [mlopsBin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
  });
}
