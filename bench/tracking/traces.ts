/**
 * `npm run bench:tracking:traces` (also the second half of `npm run bench:tracking`): MLflow 3 trace
 * ingest and search, ours on PostgreSQL side by side with MLflow's `mlflow server` on the same
 * PostgreSQL server, in one run.
 *
 * - ingest: each trace is what the MLflow 3.17 client sends to a server reporting a version below 3.4
 *   (ours), captured once into fixtures/trace-10-spans.json: StartTraceV3 (`POST /api/3.0/mlflow/traces`
 *   with the TraceInfoV3), then the 10-span `traces.json` PUT through the artifact proxy at the
 *   `mlflow.artifactLocation` tag the server answers. The same two requests go to both servers.
 * - search: SearchTracesV3 as `mlflow.search_traces(locations=[exp], filter_string=…, order_by=[…])`
 *   sends it, over MLOPS_BENCH_TRACES traces in one experiment (trace infos seeded with StartTraceV3).
 *
 * Env: MLOPS_BENCH_TRACES (traces seeded for search, default 10000), MLOPS_BENCH_TRACE_INGEST (traces
 * sent in the ingest workload, default 2000), MLOPS_BENCH_TARGETS (subset of postgres,mlflow).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { call, load, type Result } from './load';
import { createDatabase, dropDatabase, MLFLOW_MISSING, mlflowExecutable, startMlflowServer, startOurs, stop } from './servers';
import { writeResults } from '../measure';

const CONCURRENCY = 20;
const SEARCH_TRACES = Number(process.env.MLOPS_BENCH_TRACES ?? 10_000);
const INGEST_TRACES = Number(process.env.MLOPS_BENCH_TRACE_INGEST ?? 2000);
const TARGETS = new Set((process.env.MLOPS_BENCH_TARGETS ?? 'postgres,mlflow').split(',').map((t) => t.trim()));

interface Fixture {
  startTrace: { trace: { trace_info: Record<string, any> } };
  spans: unknown;
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'trace-10-spans.json'), 'utf8')) as Fixture;
/** Built once: the span document with placeholders, substituted per trace (ids only; a string replace, no re-serialising). */
const SPANS_TEMPLATE = JSON.stringify(fixture.spans);
const SPAN_COUNT = (fixture.spans as { spans: unknown[] }).spans.length;
/** The filter and ordering the search sends, as the client sends them (captured from `mlflow.search_traces`). */
const FILTER = "trace.status = 'OK' AND tag.team = 't3'";
const ORDER_BY = ['timestamp_ms DESC'];

/** A StartTraceV3 body for a fresh trace id in `experimentId`, with the fixture's metadata and a `team` tag. */
function startBody(experimentId: string, traceId: string, i: number): unknown {
  const info = fixture.startTrace.trace.trace_info;
  return {
    trace: {
      trace_info: {
        ...info,
        trace_id: traceId,
        trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        request_time: new Date(1_780_000_000_000 + i * 1000).toISOString(),
        state: i % 10 === 9 ? 'ERROR' : 'OK',
        tags: { ...info.tags, team: `t${i % 7}` },
      },
    },
  };
}

/** `mlflow-artifacts:/<path>` (or `mlflow-artifacts://host/<path>`) → the proxy's PUT URL for `<path>/traces.json`. */
function artifactUrl(url: string, location: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.+)$/.exec(location);
  if (!m) throw new Error(`trace artifact location ${location} is not served by the artifact proxy`);
  return `${url}/api/2.0/mlflow-artifacts/artifacts/${m[1].replace(/\/+$/, '')}/traces.json`;
}

/** One trace as the client sends it: StartTraceV3, then the span upload where the answer says. */
async function sendTrace(url: string, experimentId: string, i: number, withSpans: boolean): Promise<void> {
  const hex = randomBytes(16).toString('hex');
  const traceId = `tr-${hex}`;
  const answer = await call(url, 'POST', '/api/3.0/mlflow/traces', startBody(experimentId, traceId, i));
  if (!withSpans) return;
  const location = answer.trace?.trace_info?.tags?.['mlflow.artifactLocation'] as string | undefined;
  if (!location) throw new Error('StartTraceV3 answered no mlflow.artifactLocation tag');
  const body = SPANS_TEMPLATE.replaceAll('OTEL_TRACE_ID', Buffer.from(hex, 'hex').toString('base64')).replaceAll('TRACE_ID', traceId);
  const res = await fetch(artifactUrl(url, location), { method: 'PUT', headers: { 'content-type': 'text/plain' }, body });
  await res.text();
  if (!res.ok) throw new Error(`span upload: ${res.status}`);
}

const newExperiment = async (url: string, name: string): Promise<string> =>
  (await call(url, 'POST', '/api/2.0/mlflow/experiments/create', { name: `${name}-${Date.now()}` })).experiment_id as string;

/** How many seeded traces the filter matches (state OK, team t3), so the answer can be checked. */
const MATCHING = Array.from({ length: SEARCH_TRACES }, (_, i) => i).filter((i) => i % 10 !== 9 && i % 7 === 3).length;

async function searchOnce(url: string, experimentId: string): Promise<void> {
  const r = await call(url, 'POST', '/api/3.0/mlflow/traces/search', {
    locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
    filter: FILTER,
    max_results: 100,
    order_by: ORDER_BY,
  });
  const want = Math.min(100, MATCHING);
  if (r.traces?.length !== want) throw new Error(`search returned ${r.traces?.length ?? 0} traces, not ${want}`);
}

/** The workloads, identical for every target. */
async function benchTarget(target: string, url: string): Promise<Result[]> {
  console.log(`\n${target}`);
  const results: Result[] = [];
  const ingestExp = await newExperiment(url, 'bench-traces');
  await load(target, '(warm-up: 100 traces)', 100, (_c, i) => sendTrace(url, ingestExp, i, true), CONCURRENCY);
  const ingest = await load(target, `ingest (${SPAN_COUNT} spans, ${CONCURRENCY} clients)`, INGEST_TRACES, (_c, i) => sendTrace(url, ingestExp, i, true));
  results.push(ingest);

  const searchExp = await newExperiment(url, 'bench-trace-search');
  const seedStart = performance.now();
  await load(target, `(seed ${SEARCH_TRACES} trace infos)`, SEARCH_TRACES, (_c, i) => sendTrace(url, searchExp, i, false));
  console.log(`  (seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s)`);
  const name = `search_traces(${SEARCH_TRACES}, filter+order, 100)`;
  results.push(await load(target, `${name}, ${CONCURRENCY} clients`, 200, () => searchOnce(url, searchExp)));
  results.push(await load(target, `${name}, 1 client`, 50, () => searchOnce(url, searchExp), 1));
  return results;
}

async function benchOurs(dir: string): Promise<Result[]> {
  const ours = await startOurs(await createDatabase('mlops_bench_traces_ours'), dir);
  try {
    return await benchTarget('mlops tracking (PostgreSQL)', ours.url);
  } finally {
    await stop(ours.child);
    await dropDatabase('mlops_bench_traces_ours');
  }
}

async function benchMlflow(dir: string): Promise<{ results: Result[]; note: string }> {
  const mlflow = mlflowExecutable();
  if (!mlflow) return { results: [], note: MLFLOW_MISSING };
  const db = await createDatabase('mlops_bench_traces_mlflow');
  try {
    const server = await startMlflowServer(mlflow, db, dir);
    try {
      return { results: await benchTarget(server.label, server.url), note: '' };
    } finally {
      await stop(server.child);
    }
  } catch (err) {
    return { results: [], note: (err as Error).message };
  } finally {
    await dropDatabase('mlops_bench_traces_mlflow');
  }
}

function printRatios(all: Result[]): void {
  const ours = all.filter((r) => r.target.startsWith('mlops'));
  const theirs = all.filter((r) => r.target.startsWith('mlflow server'));
  if (!theirs.length) return;
  console.log('\nratio ours/MLflow on PostgreSQL (throughput ours / theirs, p50 theirs / ours; higher = mlops faster)');
  for (const o of ours) {
    const t = theirs.find((x) => x.workload === o.workload);
    if (t) console.log(`  ${o.workload.padEnd(44)} throughput ${(o.rps / t.rps).toFixed(1)}x   p50 ${(t.p50 / o.p50).toFixed(1)}x`);
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-traces-'));
  console.log(
    `trace benchmark: ${CONCURRENCY} concurrent clients, ${os.cpus().length} CPUs, node ${process.version}; one trace = StartTraceV3 + ${SPAN_COUNT}-span traces.json`,
  );
  console.log(
    '(ingest req/s are traces/s. Both servers keep these spans as the traces.json artifact; MLflow 3.17 also has a `spans` table, filled only by OTLP span export, which its client uses against servers >= 3.4)',
  );
  const all: Result[] = [];
  if (TARGETS.has('postgres')) all.push(...(await benchOurs(dir)));
  let baselineNote = '';
  if (TARGETS.has('mlflow')) {
    const baseline = await benchMlflow(dir);
    all.push(...baseline.results);
    baselineNote = baseline.note;
    if (baselineNote) console.log(`\n${baselineNote}`);
  }
  printRatios(all);
  writeResults('traces', { concurrency: CONCURRENCY, baselineNote, results: all });
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
