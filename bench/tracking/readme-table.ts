/**
 * The README's tracking benchmark table, generated from a results file of bench.ts (the README's run is
 * kept in bench/recorded/, and test/readme-figures.test.ts checks the README holds exactly this table).
 * `npx tsx bench/tracking/readme-table.ts <results.json>` prints it; with `--traces`, the trace benchmark's block
 * (traces.ts's results, recorded in bench/recorded/traces.json).
 */
import * as fs from 'node:fs';
import type { Result } from './load';
import { fmt as num, minute } from '../format';

export interface ResultsFile {
  date: string;
  cpus: number;
  loadavgAtEnd?: number[];
  concurrency: number;
  results: Result[];
}

const OURS = 'mlops tracking (PostgreSQL)';
const cell = (r: Result) => `${num(r.p50, 1)} / ${num(r.p99, 1)} ms, ${num(r.rps)} req/s${r.errors ? `, ${r.errors} errors` : ''}`;
const ratio = (x: number) => `${num(x, 1)}×`;
const oursOf = (doc: ResultsFile) => doc.results.filter((r) => r.target === OURS);
const mlflowOf = (doc: ResultsFile, workload: string) => doc.results.find((r) => r.target.startsWith('mlflow server') && r.workload === workload);

/** One row per workload of ours on PostgreSQL: MLflow's server beside it, and the "before" checkout's columns when the run has one. */
export function trackingTable(doc: ResultsFile): string {
  const before = (w: string) => doc.results.find((r) => r.target.includes('before:') && r.workload === w);
  const withBefore = doc.results.some((r) => r.target.includes('before:'));
  const lines = [
    `| workload | ours, p50 / p99, throughput | \`mlflow server\`, same | ours / MLflow, throughput | p50 |${withBefore ? ' before this stop, same | ours / before, throughput |' : ''}`,
    `|---|---|---|---|---|${withBefore ? '---|---|' : ''}`,
  ];
  for (const o of oursOf(doc)) {
    const m = mlflowOf(doc, o.workload);
    const b = before(o.workload);
    const beforeCells = withBefore ? ` ${b ? cell(b) : '—'} | ${b ? ratio(o.rps / b.rps) : '—'} |` : '';
    lines.push(`| ${o.workload} | ${cell(o)} | ${m ? cell(m) : '—'} | ${m ? ratio(o.rps / m.rps) : '—'} | ${m ? ratio(m.p50 / o.p50) : '—'} |${beforeCells}`);
  }
  return lines.join('\n');
}

/** Issue 18's tracking targets, as the run measured them: every workload ≥ 10× MLflow's throughput, single-client log_batch(500) p50 ≤ 15 ms. */
export function trackingTargets(doc: ResultsFile): string {
  const ours = oursOf(doc);
  const ratios = ours.flatMap((o) => {
    const m = mlflowOf(doc, o.workload);
    return m ? [{ workload: o.workload, x: o.rps / m.rps }] : [];
  });
  const short = ratios.filter((r) => r.x < 10);
  const alone = ours.find((r) => r.workload === 'log_batch(500 metrics), 1 client');
  const tenfold =
    ratios.length === 0
      ? 'not measured (no MLflow server in the run)'
      : short.length === 0
        ? `met by all ${ratios.length} workloads (lowest ${ratio(Math.min(...ratios.map((r) => r.x)))})`
        : `met by ${ratios.length - short.length} of ${ratios.length}; short: ${short.map((r) => `${r.workload} ${ratio(r.x)}`).join(', ')}`;
  const p50 = alone ? `${num(alone.p50, 1)} ms (${alone.p50 <= 15 ? 'met' : 'not met'})` : 'not measured';
  return `Issue 18's targets in this run: ≥ 10× \`mlflow server\` on every workload: ${tenfold}. Single-client log_batch(500) p50 ≤ 15 ms: ${p50}.`;
}

/** When and where a run ran, for the line above its table. */
export function runLine(doc: ResultsFile): string {
  const load = doc.loadavgAtEnd ? `, load average ${num(doc.loadavgAtEnd[0], 1)} at its end` : '';
  return `Recorded run: ${doc.date.slice(0, 10)} ${minute(doc.date)} UTC, ${doc.cpus} CPUs${load}.`;
}

/** The trace benchmark's block (traces.ts results): its run line and the same table as bench.ts's. */
export function tracesBlock(doc: ResultsFile): string {
  return `${runLine(doc)}\n\n${trackingTable(doc)}`;
}

if (require.main === module) {
  const traces = process.argv.includes('--traces');
  const file = process.argv.slice(2).find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: npx tsx bench/tracking/readme-table.ts [--traces] <results.json>');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as ResultsFile;
  console.log(traces ? tracesBlock(doc) : `${trackingTable(doc)}\n\n${trackingTargets(doc)}`);
}
