/**
 * The benchmarks' load generator, shared by bench.ts (ours and the peers) and profile.ts: raw keep-alive
 * HTTP/1.1 sockets writing one prebuilt request buffer and reading Content-Length framed answers, the
 * way autocannon does it, so the generator stays cheap next to the server it shares the cores with.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { percentile, processCpuMs, processTreeCpuMs } from '../measure';

const WARMUP_MS = 300;

export interface Target {
  path: string;
  body: string;
}

export interface Measure {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time (all threads of its process and its child processes) per answered request, µs; NaN where /proc is missing. */
  serverCpuUs?: number;
  /** CPU time of the server's main (HTTP) thread per answered request, µs: the part that cannot spread over cores. */
  httpThreadCpuUs?: number;
  /** This process's (the load generator's) CPU time per answered request, µs. */
  clientCpuUs?: number;
  /** Mean rows per onnxruntime session run in the server during the measurement (from /metrics). */
  rowsPerRun?: number;
}

/** Batch histogram sum and count of the server, to report rows per session run. */
export async function batchStats(port: number): Promise<{ sum: number; count: number }> {
  if (port < 0) return { sum: NaN, count: NaN };
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(name))
        ?.split(' ')
        .pop() ?? NaN,
    );
  return { sum: value('mlops_inference_batch_size_sum'), count: value('mlops_inference_batch_size_count') };
}

/** Runs a measurement with CPU accounting; `metricsPort` < 0 for servers without our /metrics (peers). */
export async function instrumented(pid: number | undefined, metricsPort: number, run: () => Promise<Measure>): Promise<Measure> {
  const port = metricsPort;
  const batches = await batchStats(port);
  const server = processTreeCpuMs(pid);
  const httpThread = processCpuMs(pid, pid);
  const client = process.cpuUsage();
  const m = await run();
  const clientUsed = process.cpuUsage(client);
  const serverUsed = processTreeCpuMs(pid) - server;
  const httpThreadUsed = processCpuMs(pid, pid) - httpThread;
  const after = await batchStats(port);
  const n = Math.max(1, m.requests);
  return {
    ...m,
    serverCpuUs: (serverUsed * 1000) / n,
    httpThreadCpuUs: (httpThreadUsed * 1000) / n,
    clientCpuUs: (clientUsed.user + clientUsed.system) / n,
    rowsPerRun: (after.sum - batches.sum) / Math.max(1, after.count - batches.count),
  };
}

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * One keep-alive HTTP/1.1 connection with at most one request in flight. Answers are framed by
 * Content-Length (the server always sends it); anything else is reported as an error, not guessed at.
 */
export class Connection {
  private readonly socket: net.Socket;
  private buffer: Buffer | undefined;
  private waiting: ((status: number) => void) | undefined;
  private ready: Promise<void>;
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = () => {
      this.closed = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.(0);
    };
    this.socket.on('close', fail);
    this.socket.on('error', fail);
  }

  /** Resolves with the HTTP status, or 0 when the connection failed. */
  async send(request: Buffer): Promise<number> {
    await this.ready.catch(() => undefined);
    if (this.closed) return 0;
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(request);
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    const end = this.buffer.indexOf(CRLF2);
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      this.socket.destroy(new Error(`answer without Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buffer.length < total) return;
    if (this.buffer.length > total) {
      this.socket.destroy(new Error('more bytes than one answer: the server pipelined or the framing is off'));
      return;
    }
    this.buffer = undefined;
    const status = Number(head.slice(9, 12));
    if (/\r\nconnection: *close/i.test(head)) this.socket.end();
    const w = this.waiting;
    this.waiting = undefined;
    w?.(status);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export function requestBuffer(port: number, target: Target): Buffer {
  return Buffer.from(
    `POST ${target.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(target.body)}\r\n\r\n${target.body}`,
  );
}

/** Closed loop: `clients` keep-alive connections, each sending its next request when the last is answered. */
export async function closedLoop(port: number, target: Target, clients: number, seconds: number): Promise<Measure> {
  const request = requestBuffer(port, target);
  const latencies: number[] = [];
  let errors = 0;
  const warmEnd = performance.now() + WARMUP_MS;
  const end = warmEnd + seconds * 1000;
  const loop = async () => {
    let conn = new Connection(port);
    while (performance.now() < end) {
      if (conn.closed) conn = new Connection(port);
      const t = performance.now();
      const status = await conn.send(request);
      if (t < warmEnd) continue;
      if (status !== 200) errors++;
      else latencies.push(performance.now() - t);
    }
    conn.close();
  };
  await Promise.all(Array.from({ length: clients }, loop));
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length + errors, errors, rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/**
 * Open loop at a fixed rate, as wrk2 does it: OPEN_LOOP_CONNECTIONS keep-alive connections; a request
 * that is due while all of them are busy waits for the next free one, and its latency counts from when
 * it was due, not from when a connection got to it (no coordinated omission).
 */
const OPEN_LOOP_CONNECTIONS = 64;

export async function openLoop(port: number, target: Target, rate: number, seconds: number): Promise<Measure> {
  const request = requestBuffer(port, target);
  const all = Array.from({ length: OPEN_LOOP_CONNECTIONS }, () => new Connection(port));
  const idle = [...all];
  const due: number[] = [];
  const latencies: number[] = [];
  let errors = 0;
  let inFlight = 0;
  const total = Math.floor(rate * seconds);
  const start = performance.now() + 100;
  let scheduled = 0;
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  const dispatch = () => {
    while (due.length && idle.length) {
      let conn = idle.pop()!;
      if (conn.closed) conn = all[all.indexOf(conn)] = new Connection(port);
      const at = due.shift()!;
      inFlight++;
      void conn.send(request).then((status) => {
        inFlight--;
        if (status !== 200) errors++;
        else latencies.push(performance.now() - at);
        idle.push(conn);
        dispatch();
        if (scheduled === total && inFlight === 0 && due.length === 0) finished();
      });
    }
  };
  const tick = () => {
    const now = performance.now();
    while (scheduled < total && start + (scheduled * 1000) / rate <= now) due.push(start + (scheduled++ * 1000) / rate);
    dispatch();
    // A 1 ms timer, not setImmediate: a spinning generator would steal the CPU the server needs.
    if (scheduled < total) setTimeout(tick, 1);
    else if (inFlight === 0 && due.length === 0) finished();
  };
  tick();
  await done;
  all.forEach((c) => c.close());
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length + errors, errors, rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
