/**
 * The two small primitives every collection goes through: `mapLimit` (at most `limit` in flight, results in
 * input order, the first failure rejects) and `withTimeout` (a deadline that runs the caller's cancel and
 * rejects with a `timeout` SyncError) — on the test runner's mocked clock, no real waiting.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { mapLimit, pacer } from '../../src/lib/concurrency.js';
import { SyncError } from '../../src/lib/errors.js';
import { withTimeout } from '../../src/lib/timeout.js';

/** A promise resolved from outside. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('mapLimit', () => {
  it('never more than `limit` in flight; results in input order whatever the finishing order', async () => {
    const gates = Array.from({ length: 7 }, () => deferred<void>());
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const run = mapLimit([10, 11, 12, 13, 14, 15, 16], 3, async (x, i) => {
      started.push(i);
      inFlight++;
      most = Math.max(most, inFlight);
      await gates[i]!.promise;
      inFlight--;
      return x * 2;
    });
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
    // Finish out of order: the freed slot takes the next item.
    for (const i of [2, 0, 1, 5, 3, 6, 4]) {
      gates[i]!.resolve();
      await settle();
    }
    assert.deepEqual(await run, [20, 22, 24, 26, 28, 30, 32]);
    assert.equal(most, 3);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
  });

  it('a limit below 1 still makes progress one at a time; an empty list calls nothing', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit(['a', 'b', 'c'], 0, async (s) => {
      most = Math.max(most, ++inFlight);
      await settle();
      inFlight--;
      return s.toUpperCase();
    });
    assert.deepEqual(out, ['A', 'B', 'C']);
    assert.equal(most, 1);
    let calls = 0;
    assert.deepEqual(
      await mapLimit([], 4, async () => {
        calls++;
      }),
      [],
    );
    assert.equal(calls, 0);
  });

  it('a failure rejects the whole map with that error', async () => {
    await assert.rejects(
      mapLimit([1, 2, 3], 2, async (x) => {
        if (x === 2) throw new Error('second failed');
        return x;
      }),
      /second failed/,
    );
  });
});

describe('withTimeout', () => {
  it('the work’s own answer before the deadline; the cancel is not called and no timer is left', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let cancelled = 0;
    const work = deferred<string>();
    const p = withTimeout(work.promise, 1000, 'connect', () => cancelled++);
    t.mock.timers.tick(999);
    work.resolve('ok');
    assert.equal(await p, 'ok');
    t.mock.timers.tick(10_000);
    assert.equal(cancelled, 0);
  });

  it('at the deadline: the cancel runs once and the promise rejects with a timeout SyncError naming what and how long', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let cancelled = 0;
    const p = withTimeout(new Promise<never>(() => {}), 250, '查询', () => cancelled++);
    t.mock.timers.tick(249);
    await settle();
    assert.equal(cancelled, 0);
    t.mock.timers.tick(1);
    await assert.rejects(p, (e: unknown) => e instanceof SyncError && e.code === 'timeout' && e.message === '查询超时 (250 ms)');
    assert.equal(cancelled, 1);
  });

  it('a cancel that throws does not hide the timeout', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const p = withTimeout(new Promise<never>(() => {}), 50, 'connect', () => {
      throw new Error('socket already gone');
    });
    t.mock.timers.tick(50);
    await assert.rejects(p, (e: unknown) => e instanceof SyncError && e.code === 'timeout');
  });

  it('the work’s own failure comes through as it is', async () => {
    await assert.rejects(
      withTimeout(Promise.reject(new SyncError('auth', 'bad password')), 1000, 'connect'),
      (e: unknown) => e instanceof SyncError && e.code === 'auth',
    );
  });
});

describe('pacer', () => {
  /** Whether `pace()` let the event loop run: an immediate queued before it has run by the time it resolves. */
  async function yielded(pace: () => Promise<void>): Promise<boolean> {
    let ran = false;
    setImmediate(() => (ran = true));
    await pace();
    return ran;
  }

  it('yields to I/O only once a slice of synchronous work has passed, then starts a new slice', async () => {
    let now = 1000;
    const clock = mock.method(performance, 'now', () => now);
    try {
      const pace = pacer(10);
      now = 1009;
      assert.equal(await yielded(pace), false, 'within the slice');
      now = 1010;
      assert.equal(await yielded(pace), true, 'slice used up');
      now = 1015;
      assert.equal(await yielded(pace), false, 'a new slice began at the yield');
      now = 1020;
      assert.equal(await yielded(pace), true);
    } finally {
      clock.mock.restore();
    }
  });
});
