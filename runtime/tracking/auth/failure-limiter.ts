/**
 * Counts failed logins per key (a client address, a user name) as a GCRA: each failure pushes the
 * key's "theoretical arrival time" one interval (window / failures) into the future, and a key whose
 * time is more than one window ahead is limited until it has drained back. So `failures` wrong
 * passwords in quick succession lock the key for about a window, and a steady trickle of one per
 * interval is never locked. One number per key; keys that drained are dropped, and the map is
 * bounded (the oldest entries go first) so random keys cannot grow memory without limit.
 */
export interface FailureLimit {
  /** Failures tolerated per window; 0 disables the limit. */
  failures: number;
  windowMs: number;
}

export class FailureLimiter {
  private readonly tats = new Map<string, number>();
  private readonly intervalMs: number;

  constructor(
    private readonly limit: FailureLimit,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = limit.failures > 0 ? limit.windowMs / limit.failures : 0;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    if (this.limit.failures <= 0) return 0;
    const tat = this.tats.get(key);
    if (tat === undefined) return 0;
    const over = tat - this.now() - (this.limit.windowMs - this.intervalMs);
    return over > 0 ? Math.ceil(over) : 0;
  }

  /** Whether `key` failed recently (its count has not drained to zero yet). */
  hasRecentFailures(key: string): boolean {
    const tat = this.tats.get(key);
    return tat !== undefined && tat > this.now();
  }

  recordFailure(key: string): void {
    if (this.limit.failures <= 0) return;
    const now = this.now();
    const tat = Math.max(this.tats.get(key) ?? 0, now) + this.intervalMs;
    this.tats.delete(key);
    this.tats.set(key, tat);
    if (this.tats.size > this.maxKeys) this.prune(now);
  }

  private prune(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
    while (this.tats.size > this.maxKeys) this.tats.delete(this.tats.keys().next().value as string);
  }
}
