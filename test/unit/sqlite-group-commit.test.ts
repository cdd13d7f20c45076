/**
 * The SQLite store's group commit (src/store/sqlite-driver.ts): transactions
 * and writes running at the same time share one COMMIT, each still all or
 * nothing; nobody is answered before the COMMIT; a failed COMMIT fails every
 * member; sequential code commits as before.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { compiledOnce } from '../../src/store/compiled-once.js';
import { GroupCommitFailed, GroupCommitSqliteDialect, answerBeforeCommit, cachingSqlite } from '../../src/store/sqlite-driver.js';

interface T {
  t: { x: number };
}

/** A store on a temp file, and the SQL of each statement it runs (BEGIN/COMMIT included). */
function open(file = ':memory:') {
  const raw = new SQLite(file);
  raw.pragma('journal_mode = WAL');
  const inner = cachingSqlite(raw);
  const ran: string[] = [];
  const db = new Kysely<T>({
    dialect: new GroupCommitSqliteDialect({
      close: () => inner.close(),
      inTransaction: () => inner.inTransaction(),
      prepare(text: string) {
        const stmt = inner.prepare(text);
        return {
          ...stmt,
          readonly: stmt.readonly,
          run: (p) => {
            ran.push(text);
            return stmt.run(p);
          },
          all: (p) => {
            ran.push(text);
            return stmt.all(p);
          },
        };
      },
    }),
  });
  return { db, raw, ran };
}

const commits = (ran: string[]) => ran.filter((s) => s === 'COMMIT').length;

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-group-')), 'store.db');
}

it('transactions running at the same time share one COMMIT; a rolled-back one leaves the others saved', async () => {
  const { db, ran } = open();
  await sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`.execute(db);
  ran.length = 0;
  const results = await Promise.allSettled(
    [1, 2, 3, 4].map((x) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ x }).execute();
        await trx
          .insertInto('t')
          .values({ x: x * 10 })
          .execute();
        if (x === 3) throw new Error('three fails');
      }),
    ),
  );
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
  );
  assert.equal(commits(ran), 1);
  const rows = await db.selectFrom('t').select('x').orderBy('x').execute();
  assert.deepEqual(
    rows.map((r) => r.x),
    [1, 2, 4, 10, 20, 40],
  );
  await db.destroy();
});

it('sequential code commits each await: every transaction and write is committed before its await returns', async () => {
  const file = tempFile();
  const { db, ran } = open(file);
  await sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`.execute(db);
  const other = new SQLite(file, { readonly: true });
  const seen = () => (other.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  ran.length = 0;
  await db.transaction().execute((trx) => trx.insertInto('t').values({ x: 1 }).execute());
  assert.equal(seen(), 1, 'another connection sees the transaction once it returned');
  await db.insertInto('t').values({ x: 2 }).execute();
  assert.equal(seen(), 2, 'and a write outside a transaction');
  // INSERT … RETURNING reads rows back but writes: it waits for its COMMIT too.
  const back = await sql<{ x: number }>`INSERT INTO t (x) VALUES (3) RETURNING x`.execute(db);
  assert.deepEqual(back.rows, [{ x: 3 }]);
  assert.equal(seen(), 3);
  assert.equal(commits(ran), 3);
  // Reads outside a transaction open nothing.
  ran.length = 0;
  await db.selectFrom('t').selectAll().execute();
  assert.deepEqual(ran, ['select * from "t"']);
  other.close();
  await db.destroy();
});

it('a write is not answered before its COMMIT, and a failed COMMIT fails every member of the group', async () => {
  const { db, raw } = open();
  await sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`.execute(db);
  // A deferred foreign key violation is found at COMMIT: the whole group's COMMIT fails.
  await sql`CREATE TABLE parent (id INTEGER PRIMARY KEY)`.execute(db);
  await sql`CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`.execute(db);
  raw.pragma('foreign_keys = ON');
  let answered = 0;
  const a = db
    .insertInto('t')
    .values({ x: 1 })
    .execute()
    .then(() => answered++);
  const b = sql`INSERT INTO child (p) VALUES (99)`.execute(db).then(() => answered++);
  const c = db.transaction().execute((trx) => trx.insertInto('t').values({ x: 2 }).execute());
  await new Promise((r) => queueMicrotask(() => r(undefined)));
  assert.equal(answered, 0, 'nothing answered within the turn');
  for (const p of [a, b, c]) await assert.rejects(p, GroupCommitFailed);
  assert.deepEqual(await db.selectFrom('t').selectAll().execute(), [], 'nothing of the group was kept');
  // The connection goes on: the next group commits.
  await db.insertInto('t').values({ x: 5 }).execute();
  assert.deepEqual(await db.selectFrom('t').selectAll().execute(), [{ x: 5 }]);
  await db.destroy();
});

it('a statement that cannot run in a transaction commits the open group first', async () => {
  const { db, ran } = open(tempFile());
  await sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`.execute(db);
  ran.length = 0;
  const write = db.insertInto('t').values({ x: 1 }).execute();
  await sql`VACUUM`.execute(db);
  await write;
  assert.deepEqual(ran, ['BEGIN IMMEDIATE', 'insert into "t" ("x") values (?)', 'COMMIT', 'VACUUM']);
  await db.destroy();
});

it('destroy commits what is pending', async () => {
  const file = tempFile();
  const { db } = open(file);
  await sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`.execute(db);
  const write = db.insertInto('t').values({ x: 7 }).execute();
  await db.destroy();
  await write;
  const again = new SQLite(file);
  assert.deepEqual(again.prepare('SELECT x FROM t').all(), [{ x: 7 }]);
  again.close();
});

it('a connection held for several statements (db.connection()) takes it again after waiting for a COMMIT', async () => {
  const { db } = open();
  await sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`.execute(db);
  let wrote!: () => void;
  const first = new Promise<void>((r) => (wrote = r));
  const held = db.connection().execute(async (conn) => {
    await conn.insertInto('t').values({ x: 1 }).execute();
    wrote();
    await new Promise((r) => setTimeout(r, 10));
    // Meanwhile a transaction holds the connection and will roll back: this write must wait for it, not run inside it.
    await conn.insertInto('t').values({ x: 3 }).execute();
  });
  await first;
  const other = db.transaction().execute(async (trx) => {
    await trx.insertInto('t').values({ x: 2 }).execute();
    await new Promise((r) => setTimeout(r, 30));
    throw new Error('rolled back');
  });
  await Promise.all([held, assert.rejects(other, /rolled back/)]);
  const rows = await db.selectFrom('t').select('x').orderBy('x').execute();
  assert.deepEqual(
    rows.map((r) => r.x),
    [1, 3],
  );
  await db.destroy();
});

it('a transaction on a connection held for several statements waits for the connection, and a savepoint inside one rolls back alone', async () => {
  const { db } = open();
  await sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`.execute(db);
  let wrote!: () => void;
  const first = new Promise<void>((r) => (wrote = r));
  const held = db.connection().execute(async (conn) => {
    await conn.insertInto('t').values({ x: 100 }).execute();
    wrote();
    await new Promise((r) => setTimeout(r, 10));
    // Another caller's transaction holds the connection now and will roll back: this one must not begin inside it.
    await conn.transaction().execute((trx) => trx.insertInto('t').values({ x: 200 }).execute());
    await conn.insertInto('t').values({ x: 300 }).execute();
  });
  await first;
  const other = db.transaction().execute(async (trx) => {
    await trx.insertInto('t').values({ x: 1 }).execute();
    await new Promise((r) => setTimeout(r, 30));
    await trx.insertInto('t').values({ x: 2 }).execute();
    throw new Error('rolled back');
  });
  await Promise.all([held, assert.rejects(other, /rolled back/)]);
  const trx = await db.startTransaction().execute();
  await trx.insertInto('t').values({ x: 3 }).execute();
  const sp = await trx.savepoint('inner').execute();
  await sp.insertInto('t').values({ x: 4 }).execute();
  await sp.rollbackToSavepoint('inner').execute();
  await trx.commit().execute();
  const rows = await db.selectFrom('t').select('x').orderBy('x').execute();
  assert.deepEqual(
    rows.map((r) => r.x),
    [3, 100, 200, 300],
  );
  await db.destroy();
});

/** A store on a file with table t, its coordination handle, and how many rows another connection sees. */
async function coordinated() {
  const file = tempFile();
  const { db } = open(file);
  await sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`.execute(db);
  const other = new SQLite(file, { readonly: true });
  const seen = () => (other.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  return { db, coordination: db.withPlugin(answerBeforeCommit), other, seen };
}

it('coordination rows (answerBeforeCommit) are answered before the COMMIT, every other write after it', async () => {
  const { db, coordination, other, seen } = await coordinated();
  // Answered within the turn: another connection does not see the row yet, this one does (BEGIN IMMEDIATE holds the writers off).
  await coordination.insertInto('t').values({ x: 1 }).execute();
  assert.equal(seen(), 0);
  assert.equal((await db.selectFrom('t').selectAll().execute()).length, 1);
  await coordination.transaction().execute((trx) => trx.insertInto('t').values({ x: 2 }).execute());
  assert.equal(seen(), 0);
  // A plain write is answered after the COMMIT, which takes the early ones with it.
  await db.insertInto('t').values({ x: 3 }).execute();
  assert.equal(seen(), 3);
  other.close();
  await db.destroy();
});

it('a statement compiled once on the coordination handle (compiledOnce) is still answered before the COMMIT', async () => {
  const { db, coordination, other, seen } = await coordinated();
  const insert = compiledOnce(
    () => coordination,
    (db, v: { x: number }) => db.insertInto('t').values({ x: v.x }),
  );
  // Every run, not only the one that compiled it; in a transaction of the coordination handle too.
  await insert(coordination, { x: 1 });
  await insert(coordination, { x: 2 });
  await coordination.transaction().execute((trx) => insert(trx, { x: 3 }));
  assert.equal(seen(), 0);
  await db.insertInto('t').values({ x: 4 }).execute();
  assert.equal(seen(), 4);
  other.close();
  await db.destroy();
});
