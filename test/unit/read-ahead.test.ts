/**
 * Jobs read ahead of a process's free places (src/scheduler/read-ahead.ts):
 * how many, when not at all (a drained queue, places that free too seldom),
 * which ones have waited too long, and the batches of lib/batches.ts that
 * send the completes and slot releases together.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batches } from '../../src/lib/batches.js';
import { MAX_EXPECTED_WAIT_MS, ReadAhead, READY_MAX_MS } from '../../src/scheduler/read-ahead.js';

function clocked() {
  let t = 1_000;
  const ahead = new ReadAhead<string>(() => t);
  return { ahead, at: (ms: number) => (t = ms), step: (ms: number) => (t += ms) };
}

describe('read-ahead of sync jobs', () => {
  it('none before places have freed; one per 4 places while they free often; none when they free too seldom', () => {
    const { ahead, step } = clocked();
    assert.equal(ahead.wanted(16), 0, 'the first wave: nothing known of the places yet');
    ahead.freed();
    assert.equal(ahead.wanted(16), 0, 'one free is no rate');
    step(15);
    ahead.freed();
    assert.equal(ahead.wanted(16), 4, '16 places freeing every 15 ms: 4 ahead');
    assert.equal(ahead.wanted(1), 1, 'at least one');
    assert.equal(ahead.wanted(40), 10);
    // Places that free every 300 ms: the fourth job would wait 1.2 s.
    const slow = clocked();
    slow.ahead.freed();
    slow.step(300);
    slow.ahead.freed();
    assert.equal(slow.ahead.wanted(16), 0, `4 × 300 ms ≥ ${MAX_EXPECTED_WAIT_MS} ms`);
    assert.equal(slow.ahead.wanted(4), 1, '1 × 300 ms is short enough');
    // A fast rate long ago says nothing of now: the time since the last free counts too.
    step(MAX_EXPECTED_WAIT_MS);
    assert.equal(ahead.wanted(1), 0, 'no place freed for half a second');
  });

  it('jobs being marked and ready count against the number, refilled once half are gone; take gives the oldest first', () => {
    const { ahead, step } = clocked();
    ahead.freed();
    step(10);
    ahead.freed();
    ahead.marking(1);
    assert.equal(ahead.wanted(16), 3, 'one on its way of 4');
    ahead.marking(2);
    assert.equal(ahead.wanted(16), 0, 'three of 4: more than half');
    ahead.add(['a', 'b', 'c']);
    assert.deepEqual(ahead.take(1), ['a']);
    assert.equal(ahead.wanted(16), 2, 'two left of 4: refilled');
    ahead.marking(2);
    ahead.unmark(2);
    assert.deepEqual(ahead.all(), ['b', 'c']);
    assert.deepEqual(ahead.take(3), []);
  });

  it('a drained queue reads nothing ahead', () => {
    const { ahead, step } = clocked();
    ahead.freed();
    step(10);
    ahead.freed();
    ahead.drained = true;
    assert.equal(ahead.wanted(16), 0);
    ahead.drained = false;
    assert.equal(ahead.wanted(16), 4);
  });

  it('jobs that waited READY_MAX_MS are taken out as stale, the others stay', () => {
    const { ahead, at } = clocked();
    at(0);
    ahead.marking(1);
    ahead.add(['old']);
    at(READY_MAX_MS - 500);
    ahead.marking(1);
    ahead.add(['new']);
    at(READY_MAX_MS);
    assert.deepEqual(ahead.stale(), ['old']);
    assert.deepEqual(ahead.stale(), []);
    assert.deepEqual(ahead.all(), ['new']);
  });
});

describe('batches sent together', () => {
  it('adds of one turn of the event loop go in one batch; the next waits for it to be answered', async () => {
    const sent: string[][] = [];
    let answer!: () => void;
    const b = new Batches<string>(async (items) => {
      sent.push(items);
      if (sent.length === 1) await new Promise<void>((r) => (answer = r));
    });
    const first = [b.add('a'), b.add('b')];
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const second = [b.add('c'), b.add('d')];
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(sent, [['a', 'b']], 'the second batch waits for the first to be answered');
    answer();
    await Promise.all([...first, ...second]);
    assert.deepEqual(sent, [
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('with a bound, a batch whose answer does not come holds up the next one that long only', async () => {
    const sent: string[][] = [];
    const b = new Batches<string>((items) => {
      sent.push(items);
      return sent.length === 1 ? new Promise(() => {}) : Promise.resolve();
    }, 30);
    void b.add('stuck');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const t0 = Date.now();
    // The bound's timer does not keep a process alive by itself (a stopping process must not wait for it): this one does.
    const alive = setTimeout(() => {}, 5_000);
    await b.add('next');
    clearTimeout(alive);
    assert.deepEqual(sent, [['stuck'], ['next']]);
    assert.ok(Date.now() - t0 < 1_000);
  });

  it('a batch whose send fails rejects its adds; the next batch is sent all the same', async () => {
    let n = 0;
    const b = new Batches<string>(async () => {
      if (++n === 1) throw new Error('store down');
    });
    await assert.rejects(b.add('a'), /store down/);
    await b.add('b');
    assert.equal(n, 2);
  });
});
