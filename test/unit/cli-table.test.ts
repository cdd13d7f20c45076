/** The CLI's plain-text table: columns line up whatever the cells hold ("—" placeholders, Chinese text). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayWidth, plural, table } from '../../src/cli/shared.js';

describe('table', () => {
  it('"—" is one column wide, CJK two: every column starts at the same place on every line', () => {
    assert.equal(displayWidth('—'), 1);
    assert.equal(displayWidth('…'), 1);
    assert.equal(displayWidth('连接被拒绝'), 10);
    assert.equal(displayWidth('ｘ'), 2);
    const out = table([
      { id: 1, name: 'pg-prod', total: '1.5 GB', last_sync: 'completed' },
      { id: 2, name: 'x10', total: null, last_sync: null },
      { id: 3, name: '生产库', total: '—', last_sync: 'failed' },
    ]);
    assert.equal(
      out,
      [
        'id  name     total   last_sync',
        '--  -------  ------  ---------',
        '1   pg-prod  1.5 GB  completed',
        '2   x10      —       —',
        '3   生产库   —       failed',
      ].join('\n'),
    );
  });

  it('plural', () => {
    assert.equal(plural(1, 'error'), '1 error');
    assert.equal(plural(2, 'error'), '2 errors');
    assert.equal(plural(0, 'row'), '0 rows');
  });
});
