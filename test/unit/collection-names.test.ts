/**
 * The database names of a collection before it is saved (domain/collection.ts `checkNames`): what no store can hold
 * becomes U+FFFD (a lone surrogate reaches us from a UTF-16 driver such as SQL Server's; U+0000 from any hostile
 * server), pairs and every script stay as they are; a name given twice (after that change too) or longer than any
 * engine allows is reported, not saved.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkNames, MAX_NAME_CHARS, sizesPastSafe, storableName } from '../../src/domain/collection.js';
import { measuredDb } from '../helpers/collection.js';

const db = (name: string) => measuredDb(name, 1);

describe('storable database names', () => {
  it('U+0000 and lone surrogates become U+FFFD; surrogate pairs, newlines and every script are kept', () => {
    assert.equal(storableName('a\u0000b'), 'a\uFFFDb');
    assert.equal(storableName('\uD800x'), '\uFFFDx', 'a high surrogate alone');
    assert.equal(storableName('x\uDC00'), 'x\uFFFD', 'a low surrogate alone');
    assert.equal(storableName('\uDC00\uD800'), '\uFFFD\uFFFD', 'reversed: not a pair');
    for (const kept of ['🐳鲸落', 'line1\nline2', "it's", '  spaced  ', '']) assert.equal(storableName(kept), kept);
  });

  it('checkNames: the rows changed only where needed; duplicates after the change and overlong names reported', () => {
    const input = [db('ok'), db('a\u0000b'), db('a\uFFFDb'), db('n'.repeat(MAX_NAME_CHARS + 1)), db('n'.repeat(MAX_NAME_CHARS))];
    const r = checkNames(input);
    assert.equal(r.databases[0], input[0], 'an unchanged row is the same object');
    assert.equal(r.databases[1]!.database_name, 'a\uFFFDb');
    assert.equal(input[1]!.database_name, 'a\u0000b', 'the input is not changed');
    assert.deepEqual(r.replaced, ['a\uFFFDb']);
    assert.deepEqual(r.duplicates, ['a\uFFFDb']);
    assert.deepEqual(r.tooLong, ['n'.repeat(MAX_NAME_CHARS + 1)]);
    assert.deepEqual(checkNames([db('x'), db('y')]), { databases: [db('x'), db('y')], replaced: [], tooLong: [], duplicates: [] });
  });

  it('sizesPastSafe: sizes (or allocated bytes) adding up past 2^53 - 1 are not believed; up to it they are', () => {
    const max = Number.MAX_SAFE_INTEGER;
    assert.equal(sizesPastSafe([measuredDb('a', max), measuredDb('b', null)]), false);
    assert.equal(sizesPastSafe([measuredDb('a', max - 1), measuredDb('b', 1)]), false);
    assert.equal(sizesPastSafe([measuredDb('a', max), measuredDb('b', 1)]), true);
    assert.equal(sizesPastSafe([measuredDb('a', 1, { allocated_bytes: max }), measuredDb('b', 1, { allocated_bytes: max })]), true);
  });
});
