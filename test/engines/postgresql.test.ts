import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Collection } from '../../src/domain/collection.js';
import type { ConnectTarget } from '../../src/engines/engine.js';
import { postgresqlEngine as engine } from '../../src/engines/postgresql/postgresql.engine.js';
import { SyncError } from '../../src/lib/errors.js';
import { pgAdmin, pgTarget, uniqueName } from '../helpers/targets.js';

async function collectOnce(target: ConnectTarget): Promise<Collection> {
  const session = await engine.connect(target);
  try {
    return await session.collect();
  } finally {
    await session.close();
  }
}

async function connectError(target: ConnectTarget): Promise<SyncError> {
  const err: unknown = await engine.connect(target).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

describe('PostgreSQL engine on the local server', () => {
  let admin: pg.Client;
  const big = uniqueName('pg_big');
  const empty = uniqueName('pg_empty');
  const odd = `${uniqueName('pg_q')} it's 库 🐳`;
  const locked = uniqueName('pg_locked');
  const invalid = uniqueName('pg_invalid');
  const measured = [big, empty, odd, locked];
  const role = uniqueName('nopriv');

  /** The server's own answer, read by the test itself. */
  async function sizes(names: string[]): Promise<Map<string, number>> {
    const res = await admin.query<{ datname: string; size: string }>(
      'SELECT datname, pg_database_size(datname) AS size FROM pg_database WHERE datname = ANY($1)',
      [names],
    );
    return new Map(res.rows.map((r) => [r.datname, Number(r.size)]));
  }

  before(async () => {
    admin = await pgAdmin();
    for (const name of [...measured, invalid]) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    for (const [name, rows] of [
      [big, 10_000],
      [odd, 10],
    ] as const) {
      const db = await pgAdmin(name);
      try {
        // Autovacuum off and VACUUM now: a later autovacuum would add _vm/_fsm
        // files and change the size between the engine's read and ours.
        await db.query('CREATE TABLE t (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false)');
        await db.query(`INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, ${rows}) g`);
        await db.query('VACUUM ANALYZE t');
      } finally {
        await db.end();
      }
    }
    await admin.query('CHECKPOINT');
    await admin.query(`REVOKE CONNECT ON DATABASE ${admin.escapeIdentifier(locked)} FROM PUBLIC`);
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER PASSWORD 'any-password-trust-auth'`);
    // What an interrupted DROP DATABASE leaves behind (PostgreSQL ≥ 15.4 marks it with -2).
    await admin.query('UPDATE pg_database SET datconnlimit = -2 WHERE datname = $1', [invalid]);
  });

  after(async () => {
    for (const name of [...measured, invalid]) {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
    }
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  test('sizes equal pg_database_size, names round-trip, invalid database errors alone', async () => {
    const before = await sizes(measured);
    const c = await collectOnce(pgTarget());
    const now = await sizes(measured);

    assert.match(c.server_version ?? '', /^\d+(\.\d+)?/);
    for (const name of measured) {
      assert.equal(before.get(name), now.get(name), `${name} changed while collecting`);
      const d = c.databases.find((x) => x.database_name === name);
      assert.ok(d, `${name} collected with its exact name`);
      assert.equal(d.size_bytes, now.get(name));
      assert.equal(d.error, undefined);
      assert.deepEqual(
        [d.is_system, d.method, d.data_bytes, d.index_bytes, d.log_bytes, d.free_bytes, d.used_bytes],
        [false, 'pg_database_size', null, null, null, null, null],
      );
    }
    const sizeOf = (name: string) => c.databases.find((x) => x.database_name === name)?.size_bytes ?? 0;
    assert.ok(sizeOf(big) > sizeOf(empty) + 1_000_000, '10k rows of 100 bytes weigh over 1 MB');

    const bad = c.databases.find((x) => x.database_name === invalid);
    assert.equal(bad?.size_bytes, null);
    assert.match(bad?.error ?? '', /invalid database/);
    assert.ok(!c.databases.some((x) => x.database_name.startsWith('template')), 'templates excluded');
    assert.equal(c.databases.find((x) => x.database_name === 'postgres')?.is_system, true, 'postgres is a system database');
  });

  test('a database without CONNECT privilege is reported alone, the others are measured', async () => {
    const res = await admin.query<{ rolsuper: boolean; stats: boolean }>(
      "SELECT rolsuper, pg_has_role(rolname, 'pg_read_all_stats', 'MEMBER') AS stats FROM pg_roles WHERE rolname = $1",
      [role],
    );
    assert.deepEqual(res.rows[0], { rolsuper: false, stats: false });

    // Trust auth: any password is accepted, so this logs in as the unprivileged role.
    const c = await collectOnce(pgTarget({ username: role, password: 'whatever' }));
    const now = await sizes(measured);

    const denied = c.databases.find((x) => x.database_name === locked);
    assert.equal(denied?.size_bytes, null);
    assert.equal(denied?.error, '无 CONNECT 权限: no CONNECT privilege (grant CONNECT or pg_read_all_stats)');
    for (const name of [big, empty, odd]) {
      const d = c.databases.find((x) => x.database_name === name);
      assert.equal(d?.size_bytes, now.get(name), name);
      assert.equal(d?.error, undefined);
    }
  });

  test('a nonexistent maintenance database is a clear connection error', async () => {
    const missing = uniqueName('pg_missing');
    const err = await connectError(pgTarget({ database: missing }));
    assert.equal(err.code, 'connection');
    assert.equal(err.message, `数据库不存在（修复：把实例的数据库名改为已存在的库，如 postgres）: database "${missing}" does not exist`);
  });

  test('real server errors are classified: statement timeout, permission', async () => {
    const target = pgTarget();
    const slow = await admin.query("SET statement_timeout = '50ms'; SELECT pg_sleep(2)").catch((e: unknown) => e);
    await admin.query('RESET statement_timeout');
    assert.equal(engine.classifyError(slow, target).code, 'timeout');

    const asRole = new pg.Client({ host: '127.0.0.1', port: 5432, user: role, database: 'postgres' });
    await asRole.connect();
    try {
      const denied = await asRole.query('SELECT * FROM pg_authid').catch((e: unknown) => e);
      assert.equal(engine.classifyError(denied, target).code, 'permission');
    } finally {
      await asRole.end();
    }
  });

  test('the password never reaches a message', () => {
    const err = engine.classifyError(new Error('password "hunter2" rejected'), pgTarget({ password: 'hunter2' }));
    assert.equal(err.code, 'internal');
    assert.ok(!err.message.includes('hunter2'));
  });
});
