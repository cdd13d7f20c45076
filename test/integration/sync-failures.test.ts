/**
 * Failing syncs: a closed port, a port that accepts and never answers, a
 * wrong password, and a second sync of a busy instance. Each fails clearly,
 * within its timeout, and writes nothing but the failed session record.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2/promise';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { waitFor } from '../helpers/procs.js';
import { closedPort, mysqlAdmin, startBlackHole, uniqueName } from '../helpers/targets.js';

describe('failing manual syncs', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let blackHole: Awaited<ReturnType<typeof startBlackHole>>;
  let my: mysql.Connection;
  const myUser = uniqueName('fail_u');
  const rightPassword = `Right-${randomBytes(6).toString('hex')}`;
  const wrongPassword = `Wrong-${randomBytes(6).toString('hex')}`;
  const CONNECT_TIMEOUT = 1500;

  const admin = () => ({ authorization: `Bearer ${callers.admin.bearer}` });
  async function instance(name: string, dbType: string, port: number, password: string, username = 'postgres') {
    const cred = await app.inject({ method: 'POST', url: '/api/credentials', headers: admin(), payload: { name: `${name}-cred`, username, password } });
    assert.equal(cred.statusCode, 201, cred.body);
    const r = await app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: admin(),
      payload: {
        name,
        db_type: dbType,
        host: '127.0.0.1',
        port,
        credential_id: cred.json().data.id,
        database_name: dbType === 'oracle' ? 'ORCL' : undefined,
        options: { connect_timeout_ms: CONNECT_TIMEOUT },
        confirm_duplicate: true,
      },
    });
    assert.equal(r.statusCode, 201, r.body);
    return r.json().data.id as number;
  }
  const sync = (id: number) => app.inject({ method: 'POST', url: `/database-sizes/instances/${id}/sync-capacity`, headers: callers.operator.headers(true) });

  /** Nothing but the failed session: no size rows, no lifecycle rows, no history, totals untouched. */
  async function assertNothingWritten(id: number, sessionId: string, code: string) {
    const db = ctx.store.db;
    for (const table of ['database_size_stats', 'instance_databases', 'instance_size_stats'] as const) {
      const n = await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('instance_id', '=', id)
        .executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 0, `${table} untouched`);
    }
    const inst = await ctx.repos.instances.get(id);
    assert.equal(inst!.total_size_bytes, null);
    assert.equal(inst!.last_connected, null);
    assert.equal(inst!.last_sync_status, 'failed');
    const s = await ctx.repos.sync.getSession(sessionId);
    assert.equal(s!.status, 'failed');
    assert.equal(s!.failed_instances, 1);
    const recs = await ctx.repos.sync.records(sessionId);
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.status, 'failed');
    assert.equal(recs[0]!.error_code, code);
    assert.ok(recs[0]!.error_message);
    assert.equal(await ctx.repos.sync.acquireLock(id, 'probe', new Date().toISOString(), new Date(Date.now() + 1000).toISOString()), true, 'lock released');
    await ctx.repos.sync.releaseLock(id, 'probe');
  }

  before(async () => {
    ctx = await newTestContext('sqlite');
    ({ app, callers } = await newTestApp(ctx));
    blackHole = await startBlackHole();
    my = await mysqlAdmin();
    for (const host of ['%', 'localhost', '127.0.0.1']) await my.query('CREATE USER ?@? IDENTIFIED BY ?', [myUser, host, rightPassword]);
  });
  after(async () => {
    for (const host of ['%', 'localhost', '127.0.0.1']) await my?.query('DROP USER IF EXISTS ?@?', [myUser, host]);
    await my?.end();
    await blackHole?.close();
    await app?.close();
    await ctx?.cleanup();
  });

  it('closed port: 400 with the cause, class connection, fast', async () => {
    const id = await instance('closed', 'postgresql', await closedPort(), 'x-password-1');
    const t0 = Date.now();
    const r = await sync(id);
    assert.ok(Date.now() - t0 < CONNECT_TIMEOUT, 'a refused connection fails at once');
    assert.equal(r.statusCode, 400, r.body);
    const body = r.json();
    assert.equal(body.success, false);
    assert.match(body.error, /^无法连接到实例 closed \(类型: postgresql\): 连接被拒绝/);
    assert.equal(body.error_code, 'connection');
    await assertNothingWritten(id, body.session_id, 'connection');
  });

  it('a port that accepts and never answers: timeout within the configured bound', async () => {
    const id = await instance('black-hole', 'mariadb', blackHole.port, 'x-password-2');
    const t0 = Date.now();
    const r = await sync(id);
    const elapsed = Date.now() - t0;
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().error_code, 'timeout');
    assert.ok(elapsed >= CONNECT_TIMEOUT - 50 && elapsed < CONNECT_TIMEOUT + 1500, `took ${elapsed} ms`);
    await assertNothingWritten(id, r.json().session_id, 'timeout');
  });

  it('wrong password: class auth, and the password is nowhere', async () => {
    const id = await instance('wrong-pw', 'mariadb', 3306, wrongPassword, myUser);
    const r = await sync(id);
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().error_code, 'auth');
    assert.match(r.json().error, /Access denied/);
    assert.ok(!r.body.includes(wrongPassword));
    await assertNothingWritten(id, r.json().session_id, 'auth');
    const rec = (await ctx.repos.sync.records(r.json().session_id))[0]!;
    assert.ok(!rec.error_message!.includes(wrongPassword));
    assert.ok(!ctx.logs.join('\n').includes(wrongPassword), 'password in logs');
    const inst = (await app.inject({ method: 'GET', url: `/api/instances/${id}`, headers: admin() })).body;
    assert.ok(!inst.includes(wrongPassword));
  });

  it('SQL Server through the real driver on a closed port: class connection, the driver’s cause unwrapped', async () => {
    const id = await instance('mssql', 'sqlserver', await closedPort(), 'x-password-3', 'sa');
    const r = await sync(id);
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().error_code, 'connection');
    assert.match(r.json().error, /^无法连接到实例 mssql \(类型: sqlserver\): 连接被拒绝: connect ECONNREFUSED/);
    await assertNothingWritten(id, r.json().session_id, 'connection');
  });

  it('a second sync of the same instance while one runs: 409, and only one record', async () => {
    const id = await instance('busy', 'postgresql', blackHole.port, 'x-password-4');
    const first = sync(id);
    // The first holds the instance's lock for its whole connect timeout (the black hole never answers).
    await waitFor('the first sync to hold the lock', CONNECT_TIMEOUT, () =>
      ctx.store.db.selectFrom('sync_locks').select('instance_id').where('instance_id', '=', id).executeTakeFirst(),
    );
    const second = await sync(id);
    assert.equal(second.statusCode, 409, second.body);
    assert.equal(second.json().error, '实例 busy 正在同步中，请稍后再试');
    const r1 = await first;
    assert.equal(r1.statusCode, 400);
    assert.equal(r1.json().error_code, 'timeout');
    const recs = await ctx.store.db.selectFrom('sync_instance_records').selectAll().where('instance_id', '=', id).execute();
    assert.equal(recs.length, 1, 'the refused sync left no record');
  });

  it('a lock held by another process (a row in the store) also gives 409', async () => {
    const id = await instance('held', 'postgresql', 5432, 'x-password-5');
    const now = new Date();
    assert.equal(await ctx.repos.sync.acquireLock(id, 'other-host:123:abc', now.toISOString(), new Date(now.getTime() + 60_000).toISOString()), true);
    const r = await sync(id);
    assert.equal(r.statusCode, 409, r.body);
    await ctx.repos.sync.releaseLock(id, 'other-host:123:abc');
  });
});
