/** toBytes: every driver's byte count parsed exactly, or refused loudly (the short-string fast path included). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toBytes } from '../../src/lib/sizes.js';

test('exact for numbers, bigints and decimal strings up to 2^53 - 1', () => {
  assert.equal(toBytes(null, 'x'), null);
  assert.equal(toBytes(0, 'x'), 0);
  assert.equal(toBytes('0', 'x'), 0);
  assert.equal(toBytes('16384', 'x'), 16384);
  assert.equal(toBytes('999999999999999', 'x'), 999999999999999); // 15 digits: the fast path
  assert.equal(toBytes('9007199254740991', 'x'), Number.MAX_SAFE_INTEGER); // 16 digits: the checked path
  assert.equal(toBytes(' 42 ', 'x'), 42);
  assert.equal(toBytes('1536.4', 'x'), 1536);
  assert.equal(toBytes(12345678901234n, 'x'), 12345678901234);
});

test('refuses what is not an exact non-negative byte count', () => {
  assert.throws(() => toBytes('9007199254740993', 'size'), /size out of range/);
  assert.throws(() => toBytes(2n ** 60n, 'size'), /out of range/);
  assert.throws(() => toBytes('-1', 'size'), /non-negative/);
  assert.throws(() => toBytes('12a', 'size'), /not a number/);
  assert.throws(() => toBytes('', 'size'), /not a number/);
  assert.throws(() => toBytes('1e3', 'size'), /not a number/);
  assert.throws(() => toBytes({}, 'size'), /not a number/);
});
