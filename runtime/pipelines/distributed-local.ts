import { createServer } from 'node:net';
import { BACKEND_ENV, distributedBackend, type DistributedTraining } from '../../environments/training-distributed';
import { runAttempt, type AttemptOptions, type AttemptResult } from './step-process';

/*
 * A distributed step under `mlops pipeline run --local`: `workers` processes of the step's command at once, each
 * with the environment the Training Operator gives a PyTorchJob replica (RANK, WORLD_SIZE, MASTER_ADDR/PORT), all
 * on this machine. The step succeeds when every rank does, as the job does when its replicas do.
 */

/** A TCP port free on 127.0.0.1 now: rank 0's MASTER_PORT for frameworks that rendezvous there. */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no loopback port');
  return address.port;
}

/** What the operator sets on the replica of rank `rank` (torchrun's PET_* left out: one process per replica here). */
export function rankEnvironment(d: DistributedTraining, rank: number, masterPort: number): Record<string, string> {
  return {
    RANK: String(rank),
    WORLD_SIZE: String(d.workers),
    LOCAL_RANK: '0',
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(masterPort),
    [BACKEND_ENV]: distributedBackend(d),
  };
}

/** Runs every rank of the step; the result is the first failing rank's, or rank 0's when all succeed. */
export async function runRanks(d: DistributedTraining, opts: AttemptOptions): Promise<AttemptResult> {
  const port = await freeLoopbackPort();
  const ranks = Array.from({ length: d.workers }, (_, rank) =>
    runAttempt({ ...opts, env: { ...opts.env, ...rankEnvironment(d, rank, port) }, prefix: `${opts.prefix.replace(/\]$/, '')} rank ${rank}]` }),
  );
  const results = await Promise.all(ranks);
  return results.find((r) => r.code !== 0) ?? results[0];
}
