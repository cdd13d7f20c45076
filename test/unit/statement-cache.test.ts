/**
 * The SQLite store reuses prepared statements (cachingSqlite in src/store/sqlite-driver.ts):
 * the same SQL is prepared once, the cache stays bounded, and a statement
 * being iterated (Kysely's stream) never blocks the cached one.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { cachingSqlite } from '../../src/store/sqlite-driver.js';

function counted(max?: number) {
  const raw = new SQLite(':memory:');
  const prepared: string[] = [];
  const prepare = raw.prepare.bind(raw);
  raw.prepare = ((text: string) => {
    prepared.push(text);
    return prepare(text);
  }) as typeof raw.prepare;
  return { raw, prepared, db: cachingSqlite(raw, max) };
}

it('prepares each SQL text once and reuses it', () => {
  const { db, prepared } = counted();
  db.prepare('CREATE TABLE t (x INTEGER)').run([]);
  const ins = db.prepare('INSERT INTO t VALUES (?)');
  for (let i = 0; i < 5; i++) db.prepare('INSERT INTO t VALUES (?)').run([i]);
  assert.equal(db.prepare('INSERT INTO t VALUES (?)'), ins);
  assert.deepEqual(db.prepare('SELECT sum(x) AS s FROM t').all([]), [{ s: 10 }]);
  assert.equal(prepared.filter((p) => p.startsWith('INSERT')).length, 1);
  assert.equal(db.prepare('SELECT sum(x) AS s FROM t').reader, true);
  assert.equal(ins.reader, false);
});

it('stays bounded: the least recently used statement is prepared again', () => {
  const { db, prepared } = counted(2);
  db.prepare('SELECT 1').all([]);
  db.prepare('SELECT 2').all([]);
  db.prepare('SELECT 1').all([]); // 1 is now the most recent
  db.prepare('SELECT 3').all([]); // evicts 2
  db.prepare('SELECT 1').all([]);
  db.prepare('SELECT 2').all([]);
  assert.deepEqual(prepared, ['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 2']);
});

it('a statement being iterated does not make the cached one busy', () => {
  const { db } = counted();
  db.prepare('CREATE TABLE t (x INTEGER)').run([]);
  for (const x of [1, 2, 3]) db.prepare('INSERT INTO t VALUES (?)').run([x]);
  const text = 'SELECT x FROM t ORDER BY x';
  const it = db.prepare(text).iterate([]);
  assert.deepEqual(it.next().value, { x: 1 });
  assert.deepEqual(db.prepare(text).all([]), [{ x: 1 }, { x: 2 }, { x: 3 }]);
  assert.deepEqual(it.next().value, { x: 2 });
  it.return?.();
});

it('through Kysely: results as before, a schema change is picked up, destroy closes the database', async () => {
  const { db, raw } = counted();
  const k = new Kysely<{ t: { x: number } }>({ dialect: new SqliteDialect({ database: db }) });
  await sql`CREATE TABLE t (x INTEGER)`.execute(k);
  await k
    .insertInto('t')
    .values([{ x: 1 }, { x: 2 }, { x: 3 }])
    .execute();
  const q = k.selectFrom('t').selectAll().where('x', '=', 2);
  assert.deepEqual(await q.execute(), [{ x: 2 }]);
  await sql`ALTER TABLE t ADD COLUMN y INTEGER DEFAULT 7`.execute(k);
  assert.deepEqual(await q.execute(), [{ x: 2, y: 7 }]);
  const streamed = [];
  for await (const row of k.selectFrom('t').select('x').orderBy('x').stream()) streamed.push(row.x);
  assert.deepEqual(streamed, [1, 2, 3]);
  await k.destroy();
  assert.equal(raw.open, false);
});
