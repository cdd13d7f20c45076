/**
 * storeRefused (src/store/db.ts): which store errors fail a queued record at once (the statement would fail the
 * same way every time) and which hand it back to the queue as an outage (a later try can succeed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { storeRefused } from '../../src/store/db.js';

/** An error as node-postgres builds it from the server's ErrorResponse. */
function serverError(code: string): Error {
  const e = new pg.DatabaseError(`server says ${code}`, 100, 'error');
  e.code = code;
  e.severity = 'ERROR';
  return e;
}

describe('storeRefused', () => {
  it('refused for its values: a value too long or out of range, a NULL, a check', () => {
    for (const code of ['22001', '22003', '22007', '22P02', '23502', '23514']) assert.equal(storeRefused(serverError(code)), true, code);
    for (const code of ['SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT_CHECK', 'SQLITE_TOOBIG'])
      assert.equal(storeRefused(Object.assign(new Error(code), { code })), true, code);
  });

  it('not refused: an outage, a timeout, a race, a deleted instance, anything without a server code', () => {
    for (const code of ['08006', '57P01', '57014', '53300', '40001', '40P01', '23505', '23P01', '23503', '42P01', 'XX000'])
      assert.equal(storeRefused(serverError(code)), false, code);
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'SQLITE_BUSY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_FOREIGNKEY'])
      assert.equal(storeRefused(Object.assign(new Error(code), { code })), false, code);
    // A client-side 5-character code that is not the server's (no severity) is not taken for a SQLSTATE.
    assert.equal(storeRefused(Object.assign(new Error('x'), { code: '22001' })), false);
    assert.equal(storeRefused(new Error('query read timeout')), false);
    assert.equal(storeRefused(undefined), false);
  });
});
