/**
 * Admission to password verification (the scrypt KDF, tens of ms of a pool thread each): at most
 * `concurrency` run at once, and two bounded waiting lines. The priority lane is served first, so a
 * flood waiting in the normal lane never delays it by more than the runs already under way; when a
 * lane is full the caller is refused at once (KdfQueueFull) instead of waiting without bound.
 */
export type KdfLane = 'priority' | 'normal';

export interface KdfQueueOptions {
  concurrency: number;
  maxQueued: Record<KdfLane, number>;
}

export class KdfQueueFull extends Error {
  constructor(readonly lane: KdfLane) {
    super(`the ${lane} login queue is full`);
  }
}

export class KdfQueue {
  private running = 0;
  private started = 0;
  private readonly waiting: Record<KdfLane, (() => void)[]> = { priority: [], normal: [] };

  constructor(private readonly options: KdfQueueOptions) {}

  length(lane: KdfLane): number {
    return this.waiting[lane].length;
  }

  /**
   * Runs `fn` in a slot. `ahead` tells it how many runs it waited behind: those running when it
   * arrived (if it had to wait) plus those that started while it waited.
   */
  async run<T>(lane: KdfLane, fn: (ahead: number) => Promise<T>): Promise<T> {
    const arrival = { running: this.running, started: this.started };
    let waited = false;
    if (this.running < this.options.concurrency && !this.waiting.priority.length && !this.waiting.normal.length) {
      this.running++;
    } else {
      if (this.waiting[lane].length >= this.options.maxQueued[lane]) throw new KdfQueueFull(lane);
      // The slot is handed over by the run that finishes (running is not decremented in between).
      await new Promise<void>((resolve) => this.waiting[lane].push(resolve));
      waited = true;
    }
    const ahead = (waited ? arrival.running : 0) + (this.started - arrival.started);
    this.started++;
    try {
      return await fn(ahead);
    } finally {
      const next = this.waiting.priority.shift() ?? this.waiting.normal.shift();
      if (next) next();
      else this.running--;
    }
  }
}
