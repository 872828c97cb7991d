/**
 * The README's inference benchmark tables, rendered from one run's results (record.ts). The run the
 * README shows is kept in bench/recorded/inference.json, and test/readme-figures.test.ts checks the
 * README holds exactly these blocks.
 *
 *   npx tsx bench/inference/readme-tables.ts            prints the blocks of the recorded run
 *   npx tsx bench/inference/readme-tables.ts --record   records the newest bench/results/inference-<part>-*.json
 *                                                       of each part and the newest profile of each configuration
 *                                                       (profile.ts), then prints the blocks
 *   npx tsx bench/inference/readme-tables.ts --record peers   re-records only the parts named (bench, peers,
 *                                                       listeners, grpc), keeping the others and the profiles
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProfileResults } from './profile-results';
import { BATCHING, ceilingRps, FLOOR, inProcessOfModel, inProcessOfRows, isOurs } from './labels';
import type { Part, PartResults, Sample } from './record';
import { fmt as num, minute } from '../format';
import { resultsFiles } from '../measure';

/** The four parts of one `npm run bench:inference` run, and the profiles taken after it. */
export type InferenceRecord = Record<Part, PartResults> & { profiles: ProfileResults[] };

const PARTS: Part[] = ['bench', 'peers', 'listeners', 'grpc'];
const repoRoot = path.resolve(__dirname, '..', '..');
export const RECORDED = path.join(repoRoot, 'bench', 'recorded', 'inference.json');

const pct = (x: number) => `${num(100 * x, 1)} %`;
const times = (x: number) => `${num(x, 1)}x`;
const rowsOf = (n: number) => `${n} ${n === 1 ? 'row' : 'rows'}`;

/** `a–b` over the values as printed, or one figure when they print the same. */
function range(values: number[], d = 0): string {
  const lo = num(Math.min(...values), d);
  const hi = num(Math.max(...values), d);
  return lo === hi ? lo : `${lo}–${hi}`;
}

function find(doc: PartResults, match: Partial<Sample>): Sample[] {
  return doc.samples.filter((s) => Object.entries(match).every(([k, v]) => s[k as keyof Sample] === v));
}

function one(doc: PartResults, match: Partial<Sample>): Sample {
  const s = find(doc, match)[0] as Sample | undefined;
  if (!s) throw new Error(`${doc.part}: no sample ${JSON.stringify(match)}`);
  return s;
}

const SCRIPTS: Record<Part, string> = { bench: 'bench.ts', peers: 'peers.ts', listeners: 'listeners.ts', grpc: 'grpc.ts' };

/** When and where the recorded parts ran (each part is a script that also runs alone, so they may come from different runs). */
export function runLine(doc: InferenceRecord): string {
  const first = doc.bench;
  const ends = PARTS.map((p) => `\`${SCRIPTS[p]}\` ${minute(doc[p].date)}`);
  return (
    `Recorded on ${first.date.slice(0, 10)} (each part's end, UTC: ${ends.join(', ')}), on ${first.cpus} cores (${first.cpuModel.trim()}), ` +
    `load average ${PARTS.map((p) => num(doc[p].loadavgAtStart[0], 2)).join(', ')} at the parts' starts; ` +
    `Node ${first.node}, onnxruntime-node ${first.onnxruntime}, ${first.seconds} s per measurement.`
  );
}

/** bench.ts: each model's in-process rate and what HTTP reaches of it, per session placement. */
export function limitTable(doc: PartResults): string {
  const floor = one(doc, { server: FLOOR });
  const models = [...new Set(doc.samples.filter((s) => s.server !== FLOOR).map((s) => s.model))];
  const lines = [
    '| model | in-process single rows | batching, sessions on worker threads | batching, sessions on the HTTP thread (`--workers 0`) | no batching | server CPU µs/req (of which HTTP thread), threads / `--workers 0` | p99 at half of peak, threads / `--workers 0` (target ≤ 5 ms) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const model of models) {
    const limit = doc.figures[inProcessOfModel(model)];
    const at32 = (server: string) => one(doc, { model, server, target: 'v2', clients: 32, loop: 'closed' });
    const half = (server: string) => one(doc, { model, server, loop: 'open' });
    const [threads, inline, off] = [BATCHING.threads, BATCHING.inline, BATCHING.off].map(at32);
    const cell = (m: Sample) => `${num(m.rps)} req/s = ${pct(m.rps / limit)} (${pct(m.rps / floor.rps)} of the floor)`;
    const cpu = (m: Sample) => `${num(m.serverCpuUs!)} (${num(m.httpThreadCpuUs!)})`;
    const p99 = (server: string) => `${num(half(server).p99, 2)} ms at ${num(half(server).rate!)} req/s`;
    lines.push(
      `| ${model} | ${num(limit)} rows/s | ${cell(threads)} | ${cell(inline)} | ${cell(off)} | ${cpu(threads)} / ${cpu(inline)} | ${p99(BATCHING.threads)} / ${p99(BATCHING.inline)} |`,
    );
  }
  const ceiling = ceilingRps(floor, doc.cpus);
  lines.push(
    '',
    `Node's HTTP floor answered ${num(floor.rps)} req/s at ${num(floor.serverCpuUs!)} µs of server CPU per request, while the load generator spent ` +
      `${num(floor.clientCpuUs!)} µs: ${doc.cpus} cores shared by the two cannot pass about ${num(ceiling)} req/s, ` +
      `${models.map((m) => `${pct(ceiling / doc.figures[inProcessOfModel(m)])} of ${m}'s in-process rate`).join(' and ')}.`,
  );
  return lines.join('\n');
}

const PEER_TARGETS: Partial<Record<string, Partial<Record<number, number>>>> = { MLServer: { 1: 10, 64: 10 }, 'mlflow models serve': { 1: 50 } };

function verdict(ratios: number[], target: number | undefined): string {
  if (target === undefined) return '—';
  const met = ratios.filter((r) => r >= target).length;
  const state = met === ratios.length ? 'met' : met === 0 ? 'not met' : `met in ${met} of ${ratios.length} rounds`;
  return `≥ ${target}x: ${state}`;
}

/** One table row per configuration of ours against `peer` at `rows` rows per request. */
function peerRows(doc: PartResults, peer: string, rows: number, ours: string[]): string[] {
  const theirs = find(doc, { server: peer, rows });
  const limit = doc.figures[inProcessOfRows(rows)];
  return ours.map((server) => {
    const mine = theirs.map((t) => one(doc, { server, rows, round: t.round, target: t.target }));
    const ratios = mine.map((m, i) => m.rps / theirs[i].rps);
    return (
      `| ${rowsOf(rows)}, ${theirs[0].target}, vs ${peer} | \`${server}\` | ${ratios.map(times).join(', ')} | ${range(mine.map((m) => m.rps * rows))} vs ${range(theirs.map((t) => t.rps * rows))} | ` +
      `${range(mine.map((m) => m.serverCpuUs!))} vs ${range(theirs.map((t) => t.serverCpuUs!))} | ${range(
        mine.map((m) => (100 * m.rps * rows) / limit),
        1,
      )} % | ${verdict(ratios, PEER_TARGETS[peer]?.[rows])} |`
    );
  });
}

/** peers.ts: ours/peer per round for each of our configurations, same rows, clients and machine. */
export function peersTable(doc: PartResults): string {
  const lines = [
    '| requests | ours | ours / peer, per round | rows/s, ours vs peer | server CPU µs/req, ours vs peer | ours of in-process | target |',
    '|---|---|---|---|---|---|---|',
  ];
  const servers = [...new Set(doc.samples.map((s) => s.server))].filter((s) => s !== FLOOR);
  const ours = servers.filter(isOurs);
  for (const peer of [...servers.filter((s) => !isOurs(s)), ...Object.keys(doc.skipped)]) {
    if (doc.skipped[peer]) lines.push(`| ${peer} | — | skipped: ${doc.skipped[peer]} | | | | |`);
    else for (const rows of [...new Set(find(doc, { server: peer }).map((s) => s.rows))]) lines.push(...peerRows(doc, peer, rows, ours));
  }
  lines.push(
    '',
    `In-process \`session.run\` on one thread: ${num(doc.figures[inProcessOfRows(1)])} rows/s on single rows, ${num(doc.figures[inProcessOfRows(64)])} rows/s on 64-row batches.`,
  );
  const floor = find(doc, { server: FLOOR })[0] as Sample | undefined;
  if (floor) {
    const rows = ceilingRps(floor, doc.cpus) * floor.rows;
    lines.push(
      '',
      `Node's HTTP floor at ${floor.rows} rows (${floor.target}, ${floor.clients} clients; node:http reading each request and writing our answer, no parsing, no model) ` +
        `answered ${num(floor.rps)} req/s at ${num(floor.serverCpuUs!)} µs of server CPU per request, while the load generator spent ${num(floor.clientCpuUs!)} µs: ` +
        `${doc.cpus} cores shared by the two cannot pass about ${num(rows)} rows/s, ${pct(rows / doc.figures[inProcessOfRows(floor.rows)])} of the in-process ${floor.rows}-row rate.`,
    );
  }
  return lines.join('\n');
}

const LOADS = [
  { rows: 1, clients: 32 },
  { rows: 1, clients: 128 },
  { rows: 64, clients: 32 },
];

/** listeners.ts: req/s relative to one listener with worker threads in the same round, and CPU per request. */
export function listenersTable(doc: PartResults): string {
  const base = (rows: number, clients: number, round: number) =>
    doc.samples.find((s) => s.listeners === 1 && s.workers! > 0 && s.rows === rows && s.clients === clients && s.round === round)!;
  const configs = [...new Map(doc.samples.map((s) => [`${s.listeners}/${s.workers === 0}`, s])).values()];
  const lines = [
    `| listeners | sessions on | ${LOADS.map((l) => `${rowsOf(l.rows)}, ${l.clients} clients`).join(' | ')} |`,
    `|---|---|${LOADS.map(() => '---').join('|')}|`,
  ];
  for (const c of configs) {
    const cells = LOADS.map(({ rows, clients }) => {
      const ms = doc.samples.filter((s) => s.listeners === c.listeners && (s.workers === 0) === (c.workers === 0) && s.rows === rows && s.clients === clients);
      const ratios = ms.map((m) => m.rps / base(rows, clients, m.round).rps);
      return `${ratios.map((r) => `${num(r, 2)}x`).join(', ')}; ${range(ms.map((m) => m.rps * rows))} rows/s; ${range(ms.map((m) => m.serverCpuUs!))} µs/req`;
    });
    lines.push(
      `| ${c.listeners} | ${c.workers === 0 ? 'its event loop (`--workers 0`)' : `worker threads (\`--workers ${c.workers}\`)`} | ${cells.join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** grpc.ts: the same server over REST and gRPC, per row count, ranges over the rounds. */
export function grpcTable(doc: PartResults): string {
  const lines = ['| rows | REST req/s | gRPC req/s | gRPC vs REST, per round | REST p50 / p99 ms | gRPC p50 / p99 ms |', '|---|---|---|---|---|---|'];
  for (const rows of [...new Set(doc.samples.map((s) => s.rows))]) {
    const rest = find(doc, { rows, target: 'v2 tensor' });
    const grpc = find(doc, { rows, target: 'gRPC' });
    const ratios = grpc.map((g) => g.rps / one(doc, { rows, target: 'v2 tensor', round: g.round }).rps);
    const lat = (ms: Sample[]) =>
      `${range(
        ms.map((m) => m.p50),
        1,
      )} / ${range(
        ms.map((m) => m.p99),
        1,
      )}`;
    lines.push(
      `| ${rows} | ${range(rest.map((m) => m.rps))} | ${range(grpc.map((m) => m.rps))} | ${ratios.map((r) => `${num(r, 2)}x`).join(', ')} | ${lat(rest)} | ${lat(grpc)} |`,
    );
  }
  return lines.join('\n');
}

/** `fn dir/file.js:line` as `fn file.js:line`: short, and still says which code. */
const frameName = (name: string) => name.replace(/ (?:\S*\/)?([^/\s]+:\d+)$/, ' $1');
const profileName = (p: ProfileResults) => `${rowsOf(p.rows)}, ${p.target}, ${p.workers === 0 ? '`--workers 0`' : 'worker threads'}`;

/** profile.ts runs: the HTTP thread's CPU per request by origin, one column per profile, and each one's largest frames. */
export function profileTable(profiles: ProfileResults[]): string {
  const names = [...new Set(profiles.flatMap((p) => p.origins.map((o) => o.name)))];
  const cell = (p: ProfileResults, name: string) => {
    const o = p.origins.find((x) => x.name === name);
    return o ? `${num(o.us, 1)} (${num(100 * o.share, 0)} %)` : '—';
  };
  const lines = [
    `| origin | ${profiles.map((p) => `${profileName(p)}: µs/req (share)`).join(' | ')} |`,
    `|---|${profiles.map(() => '---').join('|')}|`,
    `| **HTTP thread CPU per request** | ${profiles.map((p) => `**${num(p.threadCpuUs, 1)} µs** at ${num(p.rps)} req/s, ${num(p.rowsPerRun, 1)} rows per run`).join(' | ')} |`,
    ...names.map((n) => `| ${n} | ${profiles.map((p) => cell(p, n)).join(' | ')} |`),
    '',
    ...profiles.map(
      (p) =>
        `Largest frames, ${profileName(p)}: ${p.frames
          .slice(0, 5)
          .map((f) => `\`${frameName(f.name)}\` ${num(100 * f.share, 0)} %`)
          .join(', ')}.`,
    ),
  ];
  return lines.join('\n');
}

/** Every block the README holds, in its order. */
export function inferenceBlocks(doc: InferenceRecord): string[] {
  return [runLine(doc), peersTable(doc.peers), limitTable(doc.bench), profileTable(doc.profiles), listenersTable(doc.listeners), grpcTable(doc.grpc)];
}

function newest(part: Part): string {
  const files = resultsFiles(`inference-${part}`);
  if (files.length === 0) throw new Error(`no bench/results/inference-${part}-*.json: run npm run bench:inference first`);
  return files[files.length - 1];
}

/** The newest profile of each configuration (rows, target, workers), in the order they were taken. */
function newestProfiles(): ProfileResults[] {
  const all = resultsFiles('inference-profile').map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as ProfileResults);
  if (all.length === 0) throw new Error('no bench/results/inference-profile-*.json: run npm run bench:inference:profile first');
  return [...new Map(all.map((p) => [`${p.rows}/${p.target}/${p.workers}`, p])).values()].sort((a, b) => a.date.localeCompare(b.date));
}

/** `--record`: every part and the profiles; `--record <part> …`: only those parts, the rest stay as recorded. */
function record(args: string[]): void {
  const named = args.filter((a): a is Part => (PARTS as string[]).includes(a));
  const parts = named.length > 0 ? named : PARTS;
  const recorded = named.length > 0 ? (JSON.parse(fs.readFileSync(RECORDED, 'utf8')) as InferenceRecord) : undefined;
  const fresh = Object.fromEntries(parts.map((p) => [p, JSON.parse(fs.readFileSync(newest(p), 'utf8')) as PartResults]));
  const doc = { ...recorded, ...fresh, profiles: recorded ? recorded.profiles : newestProfiles() };
  fs.writeFileSync(RECORDED, `${JSON.stringify(doc, null, 2)}\n`);
}

if (require.main === module) {
  const at = process.argv.indexOf('--record');
  if (at >= 0) record(process.argv.slice(at + 1));
  const doc = JSON.parse(fs.readFileSync(RECORDED, 'utf8')) as InferenceRecord;
  process.stdout.write(`${inferenceBlocks(doc).join('\n\n')}\n`);
}
