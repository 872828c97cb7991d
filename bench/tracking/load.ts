/** The closed-loop load of the tracking benchmarks: N clients, each sending its next request when the last one answered. */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile } from '../measure';

export interface Result {
  target: string;
  workload: string;
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  rps: number;
}

/**
 * Keep-alive sockets shared by every request of a run. node:http costs the load generator about half
 * the CPU per request of fetch (undici), and the generator shares the cores with the server it measures.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** A JSON request to `url` + `route`; GET bodies become the query string, a string body is sent as it is. Throws on a non-2xx answer. */
export function call(url: string, method: string, route: string, body?: unknown): Promise<any> {
  let target = `${url}${route}`;
  let payload: string | undefined;
  if (method === 'GET') target += `?${new URLSearchParams(body as Record<string, string>).toString()}`;
  else payload = typeof body === 'string' ? body : JSON.stringify(body ?? {});
  const headers: http.OutgoingHttpHeaders = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) reject(new Error(`${method} ${route}: ${status} ${text.slice(0, 200)}`));
        else {
          try {
            resolve(text ? JSON.parse(text) : {});
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        }
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** One line of the benchmark's output. */
export function report(r: Result, unit = 'req/s'): void {
  const errors = r.errors ? `   ${r.errors} errors` : '';
  console.log(
    `  ${r.workload.padEnd(38)} p50 ${r.p50.toFixed(1).padStart(8)} ms   p99 ${r.p99.toFixed(1).padStart(8)} ms   ${r.rps.toFixed(0).padStart(6)} ${unit}${errors}`,
  );
}

/**
 * Runs `total` requests from `clients` concurrent clients; each request gets its client's index (to
 * pick its own run) and its sequence number. Prints and returns latency percentiles and throughput.
 */
export async function load(
  target: string,
  workload: string,
  total: number,
  request: (client: number, i: number) => Promise<unknown>,
  clients = 20,
): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        try {
          await request(client, i);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errors <= 3) console.error(`  ${workload}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const r: Result = {
    target,
    workload,
    requests: total,
    errors,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    rps: latencies.length / elapsed,
  };
  report(r);
  return r;
}
