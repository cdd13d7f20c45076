/**
 * The SQLite store's multi-row insert (src/store/sqlite-rows.ts): every row stored once, in order, whatever the
 * count; full statements of 512 rows, then powers of two down to 32, then one statement of the exact rest.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import SQLite from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import { insertRows } from '../../src/store/sqlite-rows.js';

function store() {
  const raw = new SQLite(':memory:');
  raw.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, a TEXT, b INTEGER)');
  const sizes: number[] = [];
  const db = {
    executeQuery(q: CompiledQuery) {
      sizes.push(q.parameters.length / 3);
      raw.prepare(q.sql).run(q.parameters as unknown[]);
      return Promise.resolve();
    },
  };
  return { raw, db, sizes };
}

const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => [i, `name-${i}`, i % 3 === 0 ? undefined : i * 7] as const);

for (const [n, statements] of [
  [0, []],
  [1, [1]],
  [5, [5]],
  [31, [31]],
  [32, [32]],
  [37, [32, 5]],
  [500, [256, 128, 64, 32, 20]],
  [512, [512]],
  [1100, [512, 512, 64, 12]],
] as const) {
  it(`${n} rows: statements of ${statements.join(', ') || 'none'}, every row stored once, undefined as NULL`, async () => {
    const { raw, db, sizes } = store();
    const rows = rowsOf(n);
    await insertRows(db, 'INSERT INTO t (k, a, b)', '(?, ?, ?)', '', rows);
    assert.deepEqual(sizes, statements);
    const stored = raw.prepare('SELECT k, a, b FROM t ORDER BY k').raw().all();
    assert.deepEqual(
      stored,
      rows.map((r) => [r[0], r[1], r[2] ?? null]),
    );
  });
}

it('a tail (ON CONFLICT) goes on every statement', async () => {
  const { raw, db } = store();
  await insertRows(db, 'INSERT INTO t (k, a, b)', '(?, ?, ?)', '', rowsOf(40));
  await insertRows(
    db,
    'INSERT INTO t (k, a, b)',
    '(?, ?, ?)',
    'ON CONFLICT (k) DO UPDATE SET a = excluded.a',
    rowsOf(40).map((r) => [r[0], `again-${r[0]}`, r[2]] as const),
  );
  assert.deepEqual(raw.prepare("SELECT count(*) AS n FROM t WHERE a LIKE 'again-%'").get(), { n: 40 });
});
