import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { MlflowError } from '../http/errors';
import { FailureLimiter } from './failure-limiter';
import { KdfQueue, KdfQueueFull, type KdfLane } from './kdf-queue';
import { usernameKey } from './usernames';

/**
 * What protects password verification from a flood of wrong credentials (issue 14, finding 6).
 * Only logins that would run the KDF get here: a credential verified before is answered from the
 * verifier's cache and never waits, whatever the limits say.
 *
 * - Failed logins are counted per client address (an IPv6 client per /64) and per user name
 *   (case-folded, from any address). Past a limit, logins that would need the KDF get 429
 *   REQUEST_LIMIT_EXCEEDED with Retry-After, before and again after waiting for a slot.
 * - Verifications run in a KdfQueue: a known user name with no recent failure, from an address
 *   with none, waits in the priority lane (one such attempt per name at a time); everything else
 *   in the normal lane. A full lane is a 503 TEMPORARILY_UNAVAILABLE with Retry-After.
 */
export interface LoginLimitOptions {
  /** Failed logins one client address may make per addressWindowMs before its uncached logins get 429; 0 disables. Default 30. */
  failuresPerAddress?: number;
  /** Default 60 000 (one minute). */
  addressWindowMs?: number;
  /** Failed logins for one user name (case-folded, any address) per userWindowMs before its uncached logins get 429; 0 disables. Default 10. */
  failuresPerUser?: number;
  /** Default 300 000 (five minutes). */
  userWindowMs?: number;
  /** Password verifications run at once (each takes a libuv pool thread and 32 MiB). Default 2. */
  kdfConcurrency?: number;
  /** Logins that may wait in the normal lane before more get 503. Default 32. */
  kdfQueue?: number;
  /** Logins that may wait in the priority lane (past it they wait in the normal lane). Default 8. */
  kdfPriorityQueue?: number;
}

export const LOGIN_LIMIT_DEFAULTS: Required<LoginLimitOptions> = {
  failuresPerAddress: 30,
  addressWindowMs: 60_000,
  failuresPerUser: 10,
  userWindowMs: 300_000,
  kdfConcurrency: 2,
  kdfQueue: 32,
  kdfPriorityQueue: 8,
};

/** A refused login: MLflow's error shape plus the Retry-After the answer carries. */
export class LoginRefused extends MlflowError {
  constructor(
    errorCode: 'REQUEST_LIMIT_EXCEEDED' | 'TEMPORARILY_UNAVAILABLE',
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(errorCode, message);
  }
}

/** The address failures are counted under: IPv4 as is, IPv6 by its /64 (one host usually holds a whole /64). */
export function clientKey(address: string): string {
  const ip = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (!ip.includes(':')) return ip;
  const [head, tail = ''] = ip.split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

interface GuardMetrics {
  kdfRuns: Counter<'lane'>;
  waited: Histogram<'lane'>;
  rejections: Counter<'reason'>;
  failures: Counter;
}

function guardMetrics(queue: KdfQueue, registry?: Registry): GuardMetrics {
  const registers = registry ? [registry] : [];
  new Gauge({
    name: 'mlflow_auth_kdf_queue_length',
    help: 'Logins waiting for a password verification slot, by lane.',
    labelNames: ['lane'] as const,
    registers,
    collect() {
      for (const lane of ['priority', 'normal'] as const) this.set({ lane }, queue.length(lane));
    },
  });
  return {
    kdfRuns: new Counter({
      name: 'mlflow_auth_kdf_runs_total',
      help: 'Password verifications run (cache misses), by lane.',
      labelNames: ['lane'] as const,
      registers,
    }),
    waited: new Histogram({
      name: 'mlflow_auth_kdf_wait_runs',
      help: 'Password verifications a login waited behind before its own ran, by lane.',
      labelNames: ['lane'] as const,
      buckets: [0, 1, 2, 3, 4, 8, 16, 32, 64],
      registers,
    }),
    rejections: new Counter({
      name: 'mlflow_auth_login_rejections_total',
      help: 'Logins refused before verification: address or user over its failure limit (429), queue full (503).',
      labelNames: ['reason'] as const,
      registers,
    }),
    failures: new Counter({ name: 'mlflow_auth_login_failures_total', help: 'Logins whose password did not verify.', registers }),
  };
}

export class LoginGuard {
  private readonly addresses: FailureLimiter;
  private readonly users: FailureLimiter;
  private readonly queue: KdfQueue;
  private readonly metrics: GuardMetrics;
  /** User keys with a priority-lane attempt waiting or running: a flood gets one such attempt per name. */
  private readonly prioritized = new Set<string>();
  private readonly priorityQueue: number;

  constructor(options: LoginLimitOptions = {}, registry?: Registry) {
    const o = { ...LOGIN_LIMIT_DEFAULTS, ...options };
    this.priorityQueue = o.kdfPriorityQueue;
    this.addresses = new FailureLimiter({ failures: o.failuresPerAddress, windowMs: o.addressWindowMs });
    this.users = new FailureLimiter({ failures: o.failuresPerUser, windowMs: o.userWindowMs });
    this.queue = new KdfQueue({ concurrency: o.kdfConcurrency, maxQueued: { priority: o.kdfPriorityQueue, normal: o.kdfQueue } });
    this.metrics = guardMetrics(this.queue, registry);
  }

  private throwIfLimited(userKey: string, addressKey: string): void {
    const byAddress = this.addresses.retryAfterMs(addressKey);
    const byUser = this.users.retryAfterMs(userKey);
    if (!byAddress && !byUser) return;
    this.metrics.rejections.inc({ reason: byAddress >= byUser ? 'address' : 'user' });
    const seconds = Math.max(1, Math.ceil(Math.max(byAddress, byUser) / 1000));
    throw new LoginRefused(
      'REQUEST_LIMIT_EXCEEDED',
      `Too many failed logins ${byAddress >= byUser ? 'from this address' : 'for this user'}; retry in ${seconds} s.`,
      seconds,
    );
  }

  /**
   * Runs `kdf` (true when the password verified) under the limits. `known`: the user name exists.
   * Throws LoginRefused instead of running it when a limit or the queue says no.
   */
  async verify(attempt: { username: string; address: string; known: boolean }, kdf: () => Promise<boolean>): Promise<boolean> {
    const userKey = usernameKey(attempt.username.slice(0, 512));
    const addressKey = clientKey(attempt.address);
    this.throwIfLimited(userKey, addressKey);
    const clean = attempt.known && !this.prioritized.has(userKey) && !this.users.hasRecentFailures(userKey) && !this.addresses.hasRecentFailures(addressKey);
    const lane: KdfLane = clean && this.queue.length('priority') < this.priorityQueue ? 'priority' : 'normal';
    if (lane === 'priority') this.prioritized.add(userKey);
    try {
      const ok = await this.queue.run(lane, async (ahead) => {
        // Failures recorded while this attempt waited count too: a queued flood drains without KDF runs.
        this.throwIfLimited(userKey, addressKey);
        this.metrics.waited.observe({ lane }, ahead);
        this.metrics.kdfRuns.inc({ lane });
        return kdf();
      });
      if (!ok) {
        this.metrics.failures.inc();
        this.addresses.recordFailure(addressKey);
        this.users.recordFailure(userKey);
      }
      return ok;
    } catch (err) {
      if (!(err instanceof KdfQueueFull)) throw err;
      this.metrics.rejections.inc({ reason: 'queue_full' });
      throw new LoginRefused('TEMPORARILY_UNAVAILABLE', 'Too many logins are waiting for password verification; retry shortly.', 1);
    } finally {
      if (lane === 'priority') this.prioritized.delete(userKey);
    }
  }
}
