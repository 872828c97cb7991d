/**
 * Node's HTTP floor for one request shape: the bytes our server answers to `target`, served by plain
 * node:http that does nothing else (servers.ts startHttpFloor), under the same load generator. Its CPU
 * per request plus the generator's bounds what any Node server can do on these cores, whatever its
 * number of event loops: `ceilingRps` (labels.ts).
 */
import * as os from 'node:os';
import { closedLoop, instrumented, type Measure, type Target } from './load';
import type { Recorder } from './record';
import { startHttpFloor, startOurs, stopServer } from './servers';
import { fmt } from '../format';
import { ceilingRps, FLOOR } from './labels';

export interface FloorAt {
  model: string;
  /** How the README names the request shape (`v2`, `v2 infer, one [N, 4] FP32 tensor`). */
  target: string;
  rows: number;
  clients: number;
  seconds: number;
  /** `mlops serve` arguments of the server whose answer the floor writes. */
  serveArgs: string[];
}

/** Takes our server's answer to `target`, then measures the floor writing it; records and prints the floor with its ceiling. */
export async function measureFloor(rec: Recorder, target: Target, at: FloorAt): Promise<Measure> {
  const ours = await startOurs(at.model, at.serveArgs);
  let answer: string;
  try {
    const res = await fetch(`http://127.0.0.1:${ours.port}${target.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: target.body,
    });
    answer = await res.text();
    if (!res.ok) throw new Error(`mlops serve answered ${res.status} to the floor's request: ${answer.slice(0, 300)}`);
  } finally {
    await stopServer(ours);
  }
  const floor = await startHttpFloor(answer);
  try {
    const m = rec.sample(
      { server: FLOOR, model: at.model, target: at.target, rows: at.rows, clients: at.clients, round: 1, loop: 'closed' },
      await instrumented(floor.child.pid, -1, () => closedLoop(floor.port, target, at.clients, at.seconds)),
    );
    const cores = os.availableParallelism();
    process.stdout.write(
      `\nNode's HTTP floor, ${at.rows}-row ${at.target} (node:http reading each ${target.body.length}-byte request and writing our ${answer.length}-byte answer, no parsing, no model), ` +
        `${at.clients} clients: ${fmt(m.rps)} req/s, server CPU ${fmt(m.serverCpuUs!)} µs/req, load generator ${fmt(m.clientCpuUs!)} µs/req: ` +
        `on ${cores} cores shared by both, no server can pass ~${fmt(ceilingRps(m, cores))} req/s (${fmt(ceilingRps(m, cores) * at.rows)} rows/s) with this generator\n`,
    );
    return m;
  } finally {
    await stopServer(floor);
  }
}
