/**
 * The numbers a process guesses free before it asks the store (SlotGuesses): the lowest it neither holds nor is
 * guessing, one at a time in a scope until a guess there hits, given back when the take is answered or fails, and
 * none in a scope whose guess missed lately.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionSlots, SlotStoreError } from '../../src/services/connection-slots.js';
import { SlotGuesses } from '../../src/services/slot-guesses.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';

const conn = (i: number) => [
  { scope: `instance:${i}`, cap: 2 },
  { scope: 'global', cap: 3 },
];

test('guesses: one at a time until one hits, then apart while in flight; given back on failure, which stops guessing', () => {
  const g = new SlotGuesses();
  const a = g.guess(conn(1))!;
  assert.deepEqual(a, [0, 0]);
  assert.equal(g.guess(conn(2)), undefined, 'the estate scope has a guess out and none has hit yet');
  const took = [
    { scope: 'instance:1', slot: 0 },
    { scope: 'global', slot: 0 },
  ];
  g.settle(conn(1), a, took);
  g.hold('h1', took);
  const b = g.guess(conn(2))!;
  const c = g.guess(conn(3))!;
  assert.deepEqual(
    [b, c],
    [
      [0, 1],
      [0, 2],
    ],
    'confirmed: two in flight guess apart',
  );
  // The take of b failed (a store error): its numbers are free again here, and the scopes missed.
  g.settle(conn(2), b, []);
  assert.equal(g.guess(conn(4)), undefined, 'a miss in a scope: the full way for a while');
});

test('guesses: the numbers held are skipped until released; a full cap is not guessed', () => {
  const g = new SlotGuesses();
  const took = (i: number, n: [number, number]) => {
    const x = g.guess(conn(i))!;
    assert.deepEqual(x, n);
    const got = [
      { scope: `instance:${i}`, slot: n[0] },
      { scope: 'global', slot: n[1] },
    ];
    g.settle(conn(i), x, got);
    g.hold(`h${i}`, got);
  };
  took(1, [0, 0]);
  took(2, [0, 1]);
  took(3, [0, 2]);
  assert.equal(g.guess(conn(4)), undefined, 'every number below the cap is held here');
  g.release('h2');
  took(4, [0, 1]);
});

test('a take the store fails: the error reaches the caller, its places are given back, the next takes ask without a guess', async () => {
  const asked: (number | undefined)[][] = [];
  let fail = true;
  const repo = {
    takeOneEach: async (reqs: { scope: string; cap: number; guess?: number }[], holder: string) => {
      asked.push(reqs.map((r) => r.guess));
      if (fail) throw new Error('store unreachable');
      return reqs.map((r) => ({ scope: r.scope, slot: 0, holder }));
    },
    release: async () => {},
    releaseMany: async () => {},
    renew: async () => {},
    held: async () => [],
    drop: async () => false,
    takeSome: async () => [],
    dropSome: async () => {},
  };
  const slots = new ConnectionSlots({ repo, clock: systemClock, logger: createLogger('silent'), leaseMs: 60_000, heartbeatMs: 60_000 });
  await assert.rejects(slots.acquire(conn(1), { purpose: 'test', waitMs: 0 }), SlotStoreError);
  fail = false;
  const s = await slots.acquire(conn(2), { purpose: 'test', waitMs: 0 });
  assert.deepEqual(
    asked,
    [
      [0, 0],
      [undefined, undefined],
    ],
    'guessed once, then the full way after the failure',
  );
  await s.release();
});
