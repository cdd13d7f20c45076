/**
 * The numbers a process guesses free before it asks the store (SlotGuesses): the lowest it neither holds nor is
 * guessing, given back when the take is answered or fails, and none in a scope whose guess missed lately.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlotGuesses } from '../../src/services/slot-guesses.js';

const conn = (i: number) => [
  { scope: `instance:${i}`, cap: 2 },
  { scope: 'global', cap: 3 },
];

test('guesses: lowest free here, apart while in flight, given back on failure, none past the cap', () => {
  const g = new SlotGuesses();
  const a = g.guess(conn(1))!;
  const b = g.guess(conn(2))!;
  assert.deepEqual(
    [a, b],
    [
      [0, 0],
      [0, 1],
    ],
    'two in flight guess apart',
  );
  g.settle(conn(1), a, [
    { scope: 'instance:1', slot: 0 },
    { scope: 'global', slot: 0 },
  ]);
  g.hold('h1', [
    { scope: 'instance:1', slot: 0 },
    { scope: 'global', slot: 0 },
  ]);
  // The take of b failed (a store error): its guessed numbers are free again here, and the scopes missed.
  g.settle(conn(2), b, []);
  assert.equal(g.guess(conn(3)), undefined, 'a miss in a scope: the full way for a while');
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
