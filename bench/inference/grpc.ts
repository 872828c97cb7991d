/**
 * `npm run bench:inference` (fourth part) / `npm run bench:inference:grpc`: the same server answering
 * the Open Inference Protocol over REST (v2 JSON, [N, 4] FP32 tensor) and over gRPC (ModelInfer with
 * raw_input_contents, one HTTP/2 channel), 1- and 32-row requests from 32 closed-loop clients; per
 * round REST then gRPC on the same server, so each ratio comes from one run. The load generator shares
 * the machine's cores with the server.
 *
 * Env: MLOPS_BENCH_SECONDS (default 3), MLOPS_BENCH_ROUNDS (default 2).
 */
import * as os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { PREDICT_V2_PROTO } from '../../runtime/inference/grpc/service-proto';
import { freePort } from '../measure';
import { closedLoop, type Measure } from './load';
import { Recorder } from './record';
import { startOurs, stopServer } from './servers';
import { rowsOf, v2TensorTarget } from './targets';
import { fmt } from '../format';

const SECONDS = Number(process.env.MLOPS_BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.MLOPS_BENCH_ROUNDS ?? 2);
const CLIENTS = 32;
const ROWS = [1, 32];

const out = (s: string) => process.stdout.write(s);
const rec = new Recorder('grpc', SECONDS);

type InferClient = grpc.Client & { ModelInfer(req: unknown, cb: (err: grpc.ServiceError | null) => void): void };

function client(address: string): InferClient {
  const definition = fromJSON(protobuf.parse(PREDICT_V2_PROTO, { keepCase: true }).root.toJSON(), { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: new (a: string, c: grpc.ChannelCredentials) => InferClient };
  };
  return new pkg.inference.GRPCInferenceService(address, grpc.credentials.createInsecure());
}

/** `clients` loops each sending the next ModelInfer when the last one answered, for `seconds`. */
async function grpcClosedLoop(c: InferClient, rows: number, clients: number, seconds: number): Promise<Measure> {
  const request = {
    model_name: 'churn',
    inputs: [{ name: 'float_input', datatype: 'FP32', shape: [rows, 4] }],
    raw_input_contents: [Buffer.from(new Float32Array(rowsOf(rows).flat()).buffer)],
  };
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const ok = await new Promise<boolean>((resolve) => c.ModelInfer(request, (err) => resolve(!err)));
      if (ok) latencies.push(performance.now() - t);
      else errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { requests: latencies.length, errors, rps: latencies.length / elapsed, p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  out(
    `inference REST vs gRPC: ${os.availableParallelism()} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start, ${SECONDS} s per measurement, churn-logreg, ${CLIENTS} clients\n\n`,
  );
  out('| round | rows | protocol | req/s | gRPC vs REST | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|---|\n');
  const grpcPort = await freePort();
  const served = await startOurs('churn-logreg', ['--grpc-port', String(grpcPort)]);
  const c = client(`127.0.0.1:${grpcPort}`);
  const summary: string[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const rows of ROWS) {
        const at = { server: 'mlops serve', model: 'churn-logreg', rows, clients: CLIENTS, round, loop: 'closed' as const };
        const rest = rec.sample({ ...at, target: 'v2 tensor' }, await closedLoop(served.port, v2TensorTarget(rows), CLIENTS, SECONDS));
        const overGrpc = rec.sample({ ...at, target: 'gRPC' }, await grpcClosedLoop(c, rows, CLIENTS, SECONDS));
        const ratio = overGrpc.rps / rest.rps;
        out(`| ${round} | ${rows} | REST | ${fmt(rest.rps)} | | ${fmt(rest.p50, 2)} | ${fmt(rest.p99, 2)} | ${rest.errors} |\n`);
        out(
          `| ${round} | ${rows} | gRPC | ${fmt(overGrpc.rps)} | ${fmt(ratio, 2)}x | ${fmt(overGrpc.p50, 2)} | ${fmt(overGrpc.p99, 2)} | ${overGrpc.errors} |\n`,
        );
        summary.push(`round ${round}, ${rows} rows: gRPC ${fmt(ratio, 2)}x REST's req/s (${fmt(overGrpc.rps)} vs ${fmt(rest.rps)})`);
      }
    }
  } finally {
    c.close();
    await stopServer(served);
  }
  out(
    `\nsummary (load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end):\n${summary.map((s) => `- ${s}`).join('\n')}\n`,
  );
  rec.write();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? String(err.stack) : String(err)}\n`);
  process.exit(1);
});
