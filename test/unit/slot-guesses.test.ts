/**
 * The numbers a process guesses free before it asks the store (SlotGuesses): the lowest it neither holds nor is
 * guessing, one at a time in a scope until a guess there hits, given back when the take is answered or fails, and
 * none in a scope whose guess missed lately.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlotGuesses } from '../../src/services/slot-guesses.js';

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
