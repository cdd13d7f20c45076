/**
 * The PostgreSQL store's bounded columns take what the service writes into
 * them. SQLite does not enforce a varchar's length, so a value too long for
 * its column passes every SQLite test and fails on PostgreSQL only ("value
 * too long for type character varying(32)"): MySQL/MariaDB's default
 * method (37 characters in a varchar(32)) and the lock holders of a host
 * with a long name (EC2's, in a varchar(64)) did (migration 0031).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { HOLDER_MAX_LENGTH } from '../../src/lib/process-tag.js';
import { METHOD_NOTES } from '../../src/engines/mysql/mysql.methods.js';
import { newTestContext, type TestContext } from '../helpers/context.js';

describe('PostgreSQL store column widths', () => {
  let ctx: TestContext;
  /** `table.column` → its varchar length. */
  const widths = new Map<string, number>();

  before(async () => {
    ctx = await newTestContext('postgres');
    const r = await sql<{ table_name: string; column_name: string; n: number }>`
      SELECT table_name, column_name, character_maximum_length AS n FROM information_schema.columns
      WHERE table_schema = 'public' AND character_maximum_length IS NOT NULL`.execute(ctx.store.db);
    for (const c of r.rows) widths.set(`${c.table_name}.${c.column_name}`, Number(c.n));
  });
  after(async () => ctx?.cleanup());

  it(`every holder and owner column takes the longest holder a host makes (${HOLDER_MAX_LENGTH} characters)`, () => {
    const holders = [...widths].filter(([k]) => /\.(holder|owner)$/.test(k));
    assert.ok(holders.length >= 6, `found ${holders.map(([k]) => k).join(', ')}`);
    for (const [column, n] of holders) assert.ok(n >= HOLDER_MAX_LENGTH, `${column} is varchar(${n})`);
  });

  it('a database size row takes every method MySQL/MariaDB records', () => {
    const n = widths.get('database_size_stats.method')!;
    for (const method of Object.keys(METHOD_NOTES)) assert.ok(method.length <= n, `${method} (${method.length}) in varchar(${n})`);
  });

  it('a lock taken by a host with a 64-character name is kept', async () => {
    const host = `ip-172-31-22-123.ap-southeast-1.compute.internal.example`.padEnd(64, 'x');
    const holder = `${host}:4194304:0123abcd:4567ef89`;
    assert.equal(holder.length, HOLDER_MAX_LENGTH);
    const inst = await ctx.instances.create({ name: 'long-host', db_type: 'postgresql', host: '127.0.0.1', port: 5432 }, { userId: null, username: 'test' });
    const at = new Date().toISOString();
    for (const table of ['sync_locks', 'table_sync_locks'] as const)
      await ctx.store.db.insertInto(table).values({ instance_id: inst.id, holder, acquired_at: at, expires_at: at }).execute();
  });
});
