/**
 * A PostgreSQL database with ALLOW_CONNECTIONS false is still the DBA's data:
 * pg_database_size measures it without connecting. On the local server: a
 * database is synced, then closed to connections and synced again — it stays
 * online (never "deleted"), its size equals the server's own answer, and it
 * carries the "does not accept connections" note; the table collector reports
 * that note for it alone instead of failing to connect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { NOT_CONNECTABLE } from '../../src/engines/postgresql/postgresql.engine.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { pgAdmin, uniqueName } from '../helpers/targets.js';

interface Db {
  database_name: string;
  is_deleted: boolean;
  size_bytes: number | null;
  note: string | null;
  error: string | null;
  method: string | null;
}

describe('PostgreSQL: ALLOW_CONNECTIONS false is measured and never deleted', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  let pgc: pg.Client;
  let instanceId: number;
  const closed = uniqueName('noconn');

  const h = () => admin.headers(true);
  const sync = () => app.inject({ method: 'POST', url: `/database-sizes/instances/${instanceId}/sync-capacity`, headers: h() });
  const databases = async () => {
    const r = await app.inject({ method: 'GET', url: `/api/instances/${instanceId}/databases`, headers: h() });
    assert.equal(r.statusCode, 200, r.body);
    return r.json().data.databases as Db[];
  };
  const serverSize = async () => Number((await pgc.query<{ s: string }>('SELECT pg_database_size($1) AS s', [closed])).rows[0]!.s);

  before(async () => {
    ctx = await newTestContext('sqlite');
    ({
      app,
      callers: { admin },
    } = await newTestApp(ctx));
    pgc = await pgAdmin();
    await pgc.query(`CREATE DATABASE ${closed}`);
    const db = await pgAdmin(closed);
    await db.query(`CREATE TABLE t AS SELECT g AS id, repeat('x', 300) AS payload FROM generate_series(1, 5000) g`);
    await db.end();
    const cred = await app.inject({
      method: 'POST',
      url: '/api/credentials',
      headers: h(),
      payload: { name: 'pg', db_type: 'postgresql', username: 'postgres', password: 'unused' },
    });
    const inst = await app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: h(),
      payload: { name: 'local-pg', db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.json().data.id },
    });
    assert.equal(inst.statusCode, 201, inst.body);
    instanceId = inst.json().data.id;
  });
  after(async () => {
    await pgc?.query(`DROP DATABASE IF EXISTS ${closed} WITH (FORCE)`);
    await pgc?.end();
    await app?.close();
    await ctx?.cleanup();
  });

  it('seen open, then closed to connections: still online, measured to the byte, marked', async () => {
    assert.equal((await sync()).statusCode, 200);
    const open = (await databases()).find((d) => d.database_name === closed);
    assert.ok(open && !open.is_deleted && open.note === null);

    await pgc.query(`ALTER DATABASE ${closed} WITH ALLOW_CONNECTIONS false`);
    const r = await sync();
    assert.equal(r.statusCode, 200, r.body);
    const after = (await databases()).find((d) => d.database_name === closed);
    assert.ok(after, 'still listed');
    assert.equal(after.is_deleted, false, 'never recorded as deleted');
    assert.equal(after.size_bytes, await serverSize());
    assert.ok(after.size_bytes! > 1_000_000);
    assert.equal(after.error, null);
    assert.equal(after.note, NOT_CONNECTABLE);
    assert.equal(after.method, 'pg_database_size');
    // The session record warns, naming the database.
    const rec = await app.inject({ method: 'GET', url: `/api/instances/${instanceId}/sync-records?limit=1`, headers: h() });
    assert.match(rec.body, new RegExp(`do not accept connections; measured\\): [^"]*${closed}`));
  });

  it('a database created with ALLOW_CONNECTIONS false is measured on its first sync', async () => {
    const born = uniqueName('bornclosed');
    await pgc.query(`CREATE DATABASE ${born} WITH ALLOW_CONNECTIONS false`);
    try {
      assert.equal((await sync()).statusCode, 200);
      const d = (await databases()).find((x) => x.database_name === born);
      assert.ok(d && !d.is_deleted && d.note === NOT_CONNECTABLE);
      assert.equal(d.size_bytes, Number((await pgc.query<{ s: string }>('SELECT pg_database_size($1) AS s', [born])).rows[0]!.s));
    } finally {
      await pgc.query(`DROP DATABASE IF EXISTS ${born}`);
    }
  });

  it('table collection reports the closed database with the note, alone', async () => {
    const r = await app.inject({ method: 'POST', url: `/api/instances/${instanceId}/tables/sync`, headers: h(), payload: { databases: [closed, 'postgres'] } });
    assert.ok(r.statusCode < 300, r.body);
    const byName = new Map((r.json().data.databases as { database_name: string; error?: string }[]).map((d) => [d.database_name, d]));
    assert.equal(byName.get(closed)?.error, NOT_CONNECTABLE);
    assert.equal(byName.get('postgres')?.error, undefined, 'the other database is collected');
  });
});
