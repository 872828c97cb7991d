import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { bin, cacheAvailability } from '../cluster/cache';
import type { Availability } from '../helpers/tools';

/** promtool from the control-plane cache (test/cluster/build/build.sh promtool). */
export const promtoolAvailability = (): Availability => cacheAvailability(['promtool']);

export interface PromtoolResult {
  status: number | null;
  output: string;
}

/** Runs `promtool <args>` in `dir`. */
export function promtool(args: string[], dir: string): PromtoolResult {
  const r = spawnSync(bin('promtool', 'promtool'), args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A temporary directory with the given YAML documents written into it (name → object). */
export function yamlDir(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-promtool-'));
  for (const [name, doc] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), stringify(doc, { lineWidth: 0 }));
  return dir;
}
