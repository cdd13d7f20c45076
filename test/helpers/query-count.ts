/**
 * A SQLite store that records the SQL of every statement it runs (Kysely
 * prepares each statement it executes exactly once through this wrapper, so
 * the list is complete), for tests and benches that must prove how many
 * queries a request costs.
 *
 *   const { store, statements } = countingSqliteStore(file);
 *   statements.length = 0; …request…; statements  // what that request ran
 */
import SQLite from 'better-sqlite3';
import { Kysely } from 'kysely';
import type { Store } from '../../src/store/db.js';
import { GroupCommitSqliteDialect, cachingSqlite } from '../../src/store/sqlite-driver.js';
import { migrateToLatest } from '../../src/store/migrations/index.js';
import type { Database } from '../../src/store/schema.js';

export function countingSqliteStore(file = ':memory:'): { store: Store; statements: string[] } {
  const statements: string[] = [];
  const inner = cachingSqlite(new SQLite(file));
  const db = new Kysely<Database>({
    dialect: new GroupCommitSqliteDialect({
      close: () => inner.close(),
      inTransaction: () => inner.inTransaction(),
      prepare(sql: string) {
        statements.push(sql);
        return inner.prepare(sql);
      },
    }),
  });
  const store: Store = {
    db,
    dialect: 'sqlite',
    describe: `sqlite:${file} (counting statements)`,
    migrate: () => migrateToLatest(db, 'sqlite'),
    close: () => db.destroy(),
  };
  return { store, statements };
}
