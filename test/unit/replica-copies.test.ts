import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duplicateCopies, type CountedCopy } from '../../src/services/replica-copies.js';

const copy = (instance_id: number, group_id: string, role: string | null, size_bytes: number): CountedCopy => ({ instance_id, group_id, role, size_bytes });

test('a group database counted on two replicas whose role is unknown: the largest copy stays, the other is a duplicate', () => {
  const d = duplicateCopies([copy(1, 'g', 'UNKNOWN', 100), copy(2, 'g', 'UNKNOWN', 300), copy(3, 'g', 'RESOLVING', 200)]);
  assert.deepEqual(
    [...d.byInstance],
    [
      [1, 100],
      [3, 200],
    ],
  );
  assert.equal(d.bytes, 300);
  assert.equal(d.groups, 1);
});

test('a PRIMARY copy wins over a larger copy whose role is unknown', () => {
  const d = duplicateCopies([copy(1, 'g', 'UNKNOWN', 900), copy(2, 'g', 'PRIMARY', 300)]);
  assert.deepEqual([...d.byInstance], [[1, 900]]);
});

test('equal copies: the lowest instance id keeps it, whatever the input order', () => {
  const a = duplicateCopies([copy(7, 'g', null, 50), copy(3, 'g', null, 50)]);
  const b = duplicateCopies([copy(3, 'g', null, 50), copy(7, 'g', null, 50)]);
  assert.deepEqual([...a.byInstance], [[7, 50]]);
  assert.deepEqual([...b.byInstance], [[7, 50]]);
});

test('one copy per group, or several groups on one instance', () => {
  assert.deepEqual(duplicateCopies([copy(1, 'a', 'UNKNOWN', 10)]), { byInstance: new Map(), bytes: 0, groups: 0 });
  const d = duplicateCopies([copy(1, 'a', 'UNKNOWN', 10), copy(2, 'a', 'UNKNOWN', 20), copy(1, 'b', 'UNKNOWN', 40), copy(2, 'b', 'UNKNOWN', 30)]);
  assert.deepEqual([...d.byInstance].sort(), [
    [1, 10],
    [2, 30],
  ]);
  assert.equal(d.bytes, 40);
  assert.equal(d.groups, 2);
});
