/**
 * The README's scale tables, rendered from one run of `npm run bench:scale` (tracking.ts and
 * inference.ts each write a results file). The run the README shows is kept in bench/recorded/scale.json
 * with the plans tracking.ts wrote beside it (bench/scale/plans/), and test/readme-figures.test.ts checks
 * that the README holds exactly these blocks.
 *   npx tsx bench/scale/readme-tables.ts            prints the blocks of the recorded run
 *   npx tsx bench/scale/readme-tables.ts --record   records the newest bench/results/scale-{tracking,inference}-*.json
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Result } from '../tracking/load';
import type { MemoryPoint, SearchPoint, WritePoint } from './results';
import type { HistoryShape } from './sql';
import { fmt as num, minute } from '../format';
import { resultsFiles } from '../measure';

const repoRoot = path.resolve(__dirname, '..', '..');
export const RECORDED = path.join(repoRoot, 'bench', 'recorded', 'scale.json');
export const PLANS = path.join(__dirname, 'plans');

interface RunInfo {
  date: string;
  cpus: number;
  loadAverage: { start: number[]; end: number[] };
}

export interface ScaleTracking extends RunInfo {
  history: HistoryShape;
  write: WritePoint[];
  search: SearchPoint[];
}

export interface ScaleInference extends RunInfo {
  workers: number;
  curve: MemoryPoint[];
}

export interface ScaleRecord {
  tracking: ScaleTracking;
  inference: ScaleInference;
}

const ms = (n: number) => num(n, n < 10 ? 1 : 0);
const x = (value: number, base: number) => `${num(value / base, 2)}×`;
/** 1000000 → 1M, 100000 → 100k: the sizes as the issue names them. */
const size = (n: number) =>
  n >= 1e6 && n % 1e5 === 0 ? `${num(n / 1e6, n % 1e6 ? 1 : 0)}M` : n >= 1e3 && n % 100 === 0 ? `${num(n / 1e3, n % 1e3 ? 1 : 0)}k` : num(n);
const mibOf = (bytes: number) => num(bytes / 2 ** 20);
const loads = (l: RunInfo['loadAverage']) => `load average ${num(l.start[0], 1)} at start, ${num(l.end[0], 1)} at end`;

/** `p50 / p99 ms`, and the ratios to the first size's when this is not the first. */
function latency(r: Result, base: Result | undefined): string {
  const own = `${ms(r.p50)} / ${ms(r.p99)} ms`;
  return base && base !== r ? `${own} (${x(r.p50, base.p50)} / ${x(r.p99, base.p99)})` : own;
}

/** When and how the recorded run ran. */
export function runLine(doc: ScaleRecord): string {
  const t = doc.tracking;
  const i = doc.inference;
  return (
    `Recorded run: tracking ${t.date.slice(0, 10)} ${minute(t.date)} UTC (${t.cpus} CPUs, ${loads(t.loadAverage)}), ` +
    `inference memory ${minute(i.date)} UTC (${loads(i.loadAverage)}).`
  );
}

export function writeTable(t: ScaleTracking): string {
  const workloads = t.write[0].results.map((r) => r.workload);
  const lines = [
    `| points filled into \`metrics\` (metrics table, its indexes) | ${workloads.map((w) => `${w} p50 / p99`).join(' | ')} |`,
    `|---|${workloads.map(() => '---|').join('')}`,
  ];
  for (const p of t.write) {
    const metrics = p.sizes.find((s) => s.table === 'metrics');
    const label = p.filled === 0 ? '0' : `${size(p.filled)} (${num(metrics?.totalMiB ?? NaN)} MiB, ${num(metrics?.indexesMiB ?? NaN)} MiB indexes)`;
    lines.push(`| ${label} | ${p.results.map((r, k) => latency(r, t.write[0].results[k])).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The sum of `Execution Time` over the statements of a plan file tracking.ts wrote. */
export function planMs(runs: number, plans = PLANS): number {
  const text = fs.readFileSync(path.join(plans, `search-runs-postgres-${runs}.txt`), 'utf8');
  return [...text.matchAll(/Execution Time: ([\d.]+) ms/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

export function searchTable(t: ScaleTracking, plans = PLANS): string {
  const [one, many] = t.search[0].results.map((r) => r.workload);
  const lines = [
    `| runs in the experiment | ${one} p50 / p99 | ${many} p50 / p99 | PostgreSQL execution, \`EXPLAIN (ANALYZE, BUFFERS)\` |`,
    '|---|---|---|---|',
  ];
  for (const p of t.search) {
    const base = t.search[0].results;
    const file = `bench/scale/plans/search-runs-postgres-${p.runs}.txt`;
    lines.push(
      `| ${size(p.runs)} | ${latency(p.results[0], base[0])} | ${latency(p.results[1], base[1])} | ${num(planMs(p.runs, plans), 1)} ms ([plan](${file})) |`,
    );
  }
  return lines.join('\n');
}

export function memoryTable(i: ScaleInference): string {
  const base = i.curve[0];
  const lines = [
    `| weights | model file | RSS started | RSS after load | RSS idle | (RSS after load − RSS at ${size(base.weights)} weights) / file |`,
    '|---|---|---|---|---|---|',
  ];
  for (const p of i.curve) {
    const file = p.fileBytes < 2 ** 20 ? `${num(p.fileBytes / 1024, 1)} KiB` : `${num(p.fileBytes / 2 ** 20, 1)} MiB`;
    // Under 1 MiB of difference is RSS noise, not the model: a ratio of it to a few KiB would mean nothing.
    const grown = p.rssLoaded - base.rssLoaded;
    const growth = p === base || Math.abs(grown) < 2 ** 20 ? '–' : `${num(grown / p.fileBytes, 1)}×`;
    lines.push(`| ${size(p.weights)} | ${file} | ${mibOf(p.rssStart)} MiB | ${mibOf(p.rssLoaded)} MiB | ${mibOf(p.rssIdle)} MiB | ${growth} |`);
  }
  return lines.join('\n');
}

/** Every block the README holds, in its order. */
export function scaleBlocks(doc: ScaleRecord, plans = PLANS): string[] {
  return [runLine(doc), writeTable(doc.tracking), searchTable(doc.tracking, plans), memoryTable(doc.inference)];
}

function newest(kind: string): unknown {
  const files = resultsFiles(kind);
  if (files.length === 0) throw new Error(`no bench/results/${kind}-*.json: run npm run bench:scale first`);
  return JSON.parse(fs.readFileSync(files[files.length - 1], 'utf8'));
}

if (require.main === module) {
  if (process.argv.includes('--record')) {
    fs.writeFileSync(RECORDED, `${JSON.stringify({ tracking: newest('scale-tracking'), inference: newest('scale-inference') }, null, 2)}\n`);
  }
  const doc = JSON.parse(fs.readFileSync(RECORDED, 'utf8')) as ScaleRecord;
  process.stdout.write(`${scaleBlocks(doc).join('\n\n')}\n`);
}
