import { FailureLimiter } from '../../runtime/tracking/auth/failure-limiter';
import { KdfQueue, KdfQueueFull } from '../../runtime/tracking/auth/kdf-queue';
import { clientKey } from '../../runtime/tracking/auth/login-guard';

/** The pieces behind the login limits, with a hand-driven clock and hand-released KDF runs (no timing). */
describe('FailureLimiter (GCRA)', () => {
  test('N failures lock a key for about the window; it then drains one interval per attempt', () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter({ failures: 3, windowMs: 60_000 }, 10, () => now);
    expect(limiter.hasRecentFailures('k')).toBe(false);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs('k')).toBe(0);
      limiter.recordFailure('k');
    }
    expect(limiter.retryAfterMs('k')).toBe(20_000);
    expect(limiter.retryAfterMs('other')).toBe(0);
    now += 20_000;
    expect(limiter.retryAfterMs('k')).toBe(0);
    limiter.recordFailure('k');
    expect(limiter.retryAfterMs('k')).toBe(20_000);
    now += 60_000;
    expect(limiter.hasRecentFailures('k')).toBe(false);
  });

  test('0 failures disables it; the key map stays bounded', () => {
    const off = new FailureLimiter({ failures: 0, windowMs: 60_000 });
    for (let i = 0; i < 10; i++) off.recordFailure('k');
    expect(off.retryAfterMs('k')).toBe(0);
    const small = new FailureLimiter({ failures: 1, windowMs: 60_000 }, 5);
    for (let i = 0; i < 100; i++) small.recordFailure(`k${i}`);
    expect(small.retryAfterMs('k99')).toBeGreaterThan(0);
    expect(small.retryAfterMs('k0')).toBe(0);
  });
});

describe('KdfQueue', () => {
  /** A KDF run that finishes when the test says so. */
  function gate() {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    return { release, done };
  }

  test('the priority lane is served before the normal one; full lanes refuse at once; ahead counts what it waited behind', async () => {
    const queue = new KdfQueue({ concurrency: 2, maxQueued: { priority: 1, normal: 3 } });
    const order: string[] = [];
    const aheads: Record<string, number> = {};
    const gates: Record<string, ReturnType<typeof gate>> = {};
    const start = (name: string, lane: 'priority' | 'normal') => {
      gates[name] = gate();
      return queue.run(lane, async (ahead) => {
        order.push(name);
        aheads[name] = ahead;
        await gates[name].done;
      });
    };
    const running = [start('a', 'normal'), start('b', 'normal')];
    const waiting = [start('n1', 'normal'), start('n2', 'normal'), start('n3', 'normal')];
    await expect(start('n4', 'normal')).rejects.toBeInstanceOf(KdfQueueFull);
    const priority = start('p1', 'priority');
    await expect(start('p2', 'priority')).rejects.toBeInstanceOf(KdfQueueFull);
    expect([queue.length('normal'), queue.length('priority')]).toEqual([3, 1]);
    gates.a.release();
    await running[0];
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['a', 'b', 'p1']);
    for (const name of ['b', 'p1', 'n1', 'n2', 'n3']) {
      gates[name].release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([...running, ...waiting, priority]);
    expect(order).toEqual(['a', 'b', 'p1', 'n1', 'n2', 'n3']);
    // p1 arrived while a and b ran and started first: it waited behind those 2 only.
    expect(aheads).toMatchObject({ a: 0, b: 0, p1: 2, n1: 3, n3: 5 });
  });
});

describe('clientKey', () => {
  test('IPv4 (also IPv4-mapped) as is; IPv6 by its /64', () => {
    expect(clientKey('127.0.0.2')).toBe('127.0.0.2');
    expect(clientKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:DB8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});
