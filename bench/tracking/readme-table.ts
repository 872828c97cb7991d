/**
 * The README's tracking benchmark table, generated from a results file of bench.ts (the README's run is
 * kept in bench/recorded/, and test/readme-figures.test.ts checks the README holds exactly this table).
 * `npx tsx bench/tracking/readme-table.ts <results.json>` prints it.
 */
import * as fs from 'node:fs';
import type { Result } from './load';

export interface ResultsFile {
  date: string;
  cpus: number;
  concurrency: number;
  results: Result[];
}

const OURS = 'mlops tracking (PostgreSQL)';
const num = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const cell = (r: Result) => `${num(r.p50, 1)} / ${num(r.p99, 1)} ms, ${num(r.rps)} req/s${r.errors ? `, ${r.errors} errors` : ''}`;
const ratio = (x: number) => `${num(x, 1)}×`;

/** One row per workload of ours on PostgreSQL: MLflow's server and the "before" checkout beside it when the run has them. */
export function trackingTable(doc: ResultsFile): string {
  const ours = doc.results.filter((r) => r.target === OURS);
  const mlflow = (w: string) => doc.results.find((r) => r.target.startsWith('mlflow server') && r.workload === w);
  const before = (w: string) => doc.results.find((r) => r.target.includes('before:') && r.workload === w);
  const lines = [
    '| workload | ours, p50 / p99, throughput | `mlflow server`, same | ours / MLflow, throughput | p50 | before this stop, same | ours / before, throughput |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const o of ours) {
    const m = mlflow(o.workload);
    const b = before(o.workload);
    lines.push(
      `| ${o.workload} | ${cell(o)} | ${m ? cell(m) : '—'} | ${m ? ratio(o.rps / m.rps) : '—'} | ${m ? ratio(m.p50 / o.p50) : '—'} | ${b ? cell(b) : '—'} | ${b ? ratio(o.rps / b.rps) : '—'} |`,
    );
  }
  return lines.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx bench/tracking/readme-table.ts <results.json>');
  console.log(trackingTable(JSON.parse(fs.readFileSync(file, 'utf8')) as ResultsFile));
}
