/**
 * Scrubbing passwords out of driver messages (issue 17, finding 13): a short password is masked only where
 * it stands alone — `e***ist` revealed a one-letter password — and the mask never tells the length.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scrubSecrets } from '../../src/lib/errors.js';

describe('scrubSecrets', () => {
  it('never masks inside another word; masks a short secret standing alone', () => {
    assert.equal(scrubSecrets('database "x" does not exist', ['e']), 'database "x" does not exist');
    assert.equal(scrubSecrets('password e rejected (e)', ['e']), 'password *** rejected (***)');
    assert.equal(scrubSecrets('pw=ab1;', ['ab1']), 'pw=***;');
    assert.equal(scrubSecrets('slab1x', ['ab1']), 'slab1x');
  });

  it('a long secret is masked anywhere, with a mask of fixed length', () => {
    assert.equal(scrubSecrets('userLong-Secret-99xyz and Long-Secret-99', ['Long-Secret-99']), 'user***xyz and ***');
    assert.equal(scrubSecrets('a 1 b', ['1']), scrubSecrets('a 12345 b', ['12345']));
  });
});
