/**
 * Migration 0018_mysql_auto on a store that already has 0001–0017: MySQL and
 * MariaDB instances added while the engine's default was still `logical`
 * (after 0012) keep `logical` written into their options; an instance that
 * names its method, and other engines, are left alone; the new column
 * `database_size_stats.allocated_bytes` exists. Then the service reports the
 * method each instance uses (`size_method`): a new MySQL instance without
 * the option uses `auto`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../../src/store/db.js';
import { migrateToLatest, migrateTo } from '../../src/store/migrations/index.js';
import { sizeMethod } from '../../src/services/instances.service.js';

describe('migration 0018_mysql_auto', () => {
  it('pins MySQL/MariaDB instances without a method to logical and adds allocated_bytes', async () => {
    const store = openStore({ sqliteFile: ':memory:' });
    try {
      await migrateTo(store.db, 'sqlite', '0017_table_sync_locks');
      const now = new Date().toISOString();
      const add = (name: string, db_type: string, options: string) =>
        store.db
          .insertInto('instances')
          .values({ name, db_type, host: 'h', port: 1, tags: '[]', options, is_active: 1, created_at: now, updated_at: now } as never)
          .execute();
      await add('my-unset', 'mysql', '{"exclude":["tmp_*"]}');
      await add('maria-unset', 'mariadb', '{}');
      await add('my-physical', 'mysql', '{"method":"physical"}');
      await add('pg', 'postgresql', '{}');
      assert.equal((await migrateToLatest(store.db, 'sqlite'))[0], '0018_mysql_auto', 'the first migration applied after 0017 (later ones may follow)');
      const rows = await store.db.selectFrom('instances').select(['name', 'options']).orderBy('name').execute();
      assert.deepEqual(Object.fromEntries(rows.map((r) => [r.name, JSON.parse(r.options)])), {
        'maria-unset': { method: 'logical' },
        'my-physical': { method: 'physical' },
        'my-unset': { exclude: ['tmp_*'], method: 'logical' },
        pg: {},
      });
      const cols = (await sql<{ name: string }>`SELECT name FROM pragma_table_info('database_size_stats')`.execute(store.db)).rows.map((r) => r.name);
      assert.ok(cols.includes('allocated_bytes'));
      const comp = (await sql<{ name: string }>`SELECT name FROM pragma_table_info('instance_composition')`.execute(store.db)).rows.map((r) => r.name);
      assert.ok(comp.includes('ceiling_detail'));
    } finally {
      await store.close();
    }
  });

  it('the method an instance uses: its option, else the engine default (auto for MySQL/MariaDB), none for engines without a choice', () => {
    assert.equal(sizeMethod('mysql', {}), 'auto');
    assert.equal(sizeMethod('mariadb', { method: 'logical' }), 'logical');
    assert.equal(sizeMethod('postgresql', {}), null);
    assert.equal(sizeMethod('sqlserver', { method: 'x' }), null);
  });
});
