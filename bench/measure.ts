import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export { freePort } from '../test/helpers/ports';

/** Linux USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

/**
 * utime + stime in ms (Linux /proc) of a process, or of one of its threads (the main thread's id is the
 * pid): CPU per request is far steadier than latency on a shared machine. NaN where /proc cannot be read.
 */
export function processCpuMs(pid: number | undefined, thread?: number): number {
  try {
    const stat = fs.readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    // Fields 14 and 15 of stat (utime, stime), counted after the parenthesised command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** Ids of a process's live children (Linux /proc), each thread's list merged. */
function childPids(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/**
 * processCpuMs of a process and all its live descendants (uvicorn and MLServer run their workers as
 * child processes); NaN where /proc cannot be read.
 */
export function processTreeCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  let total = processCpuMs(pid);
  for (const child of childPids(pid)) {
    const c = processTreeCpuMs(child);
    if (Number.isFinite(c)) total += c;
  }
  return total;
}

/** The p-th percentile of ascending `sorted` (nearest rank); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const repoRoot = path.resolve(__dirname, '..');
const RESULTS_DIR = path.join(repoRoot, 'bench', 'results');

/** Every bench/results/<kind>-<time>.json writeResults wrote for `kind`, oldest first (the times sort as text). */
export function resultsFiles(kind: string): string[] {
  const names = fs.existsSync(RESULTS_DIR) ? fs.readdirSync(RESULTS_DIR) : [];
  return names
    .filter((f) => f.startsWith(`${kind}-`) && f.endsWith('.json'))
    .sort()
    .map((f) => path.join(RESULTS_DIR, f));
}

/** Writes one run's figures to bench/results/<kind>-<time>.json (with the date and CPU count), prints the path and returns it. */
export function writeResults(kind: string, doc: Record<string, unknown>): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const date = new Date().toISOString();
  const file = path.join(RESULTS_DIR, `${kind}-${date.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ date, cpus: os.cpus().length, loadavgAtEnd: os.loadavg(), ...doc }, null, 2));
  console.log(`\nresults: ${path.relative(repoRoot, file)}`);
  return file;
}
