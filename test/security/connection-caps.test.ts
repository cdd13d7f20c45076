/**
 * Outbound connection caps (issue #17 item 6): at most
 * `connections_per_instance` (2) connections at once to one monitored
 * instance and `connections_total` in all, from every code path (test,
 * doctor, unsaved test, bulk test, sync, tables, composition) and every
 * process on the store. Counted where it matters: at a TCP listener in front
 * of the real PostgreSQL (behind a latency proxy, so connections overlap).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/lib/logger.js';
import { startCountingListener, type CountingListener } from '../helpers/counting-listener.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const actor = { userId: null, username: 'test' };

describe('connection caps, one process (SQLite store)', () => {
  let ctx: TestContext;
  let app: TestApp;
  let operator: Caller;
  let admin: Caller;
  let slow: LatencyProxy;
  let listener: CountingListener;
  let credId: number;
  let id: number;

  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_CONNECTION_WAIT_MS: '120000' } });
    ({
      app,
      callers: { operator, admin },
    } = await newTestApp(ctx));
    slow = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 15 });
    listener = await startCountingListener({ targetHost: '127.0.0.1', targetPort: slow.port });
    credId = (await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor)).id;
    id = (await ctx.instances.create({ name: 'capped', db_type: 'postgresql', host: '127.0.0.1', port: listener.port, credential_id: credId }, actor)).id;
  });
  after(async () => {
    await app?.close();
    await listener?.close();
    await slow?.close();
    await ctx?.cleanup();
  });

  const post = (who: Caller, url: string, payload?: unknown) =>
    app.inject({ method: 'POST', url, headers: who.headers(true), ...(payload === undefined ? {} : { payload: payload as object }) });
  const slotRows = () => ctx.store.db.selectFrom('connection_slots').selectAll().execute();
  /** Slots are freed when their connection has closed, which a sync does after answering: wait for it (bounded). */
  const drained = async () => {
    for (let i = 0; i < 100 && (await slotRows()).length; i++) await new Promise((r) => setTimeout(r, 50));
    return slotRows();
  };

  it('40 parallel test-connection calls open at most 2 connections', async () => {
    listener.resetPeak();
    const before = listener.accepted();
    const res = await Promise.all(Array.from({ length: 40 }, () => post(operator, `/api/instances/${id}/test-connection`)));
    assert.deepEqual([...new Set(res.map((r) => r.statusCode))], [200], res.find((r) => r.statusCode !== 200)?.body);
    console.log(`# 40 parallel test-connection: peak ${listener.peak()} connections, ${listener.accepted() - before} accepted`);
    assert.equal(listener.accepted() - before, 40, 'every call connected');
    assert.ok(listener.peak() <= 2, `peak ${listener.peak()} > 2`);
    assert.equal(listener.peak(), 2, 'the cap, not a lack of parallelism, bounded it');
    assert.deepEqual(await drained(), [], 'every slot freed');
  });

  it('every path at once (test, doctor, bulk test, sync, tables, composition) stays within 2', async () => {
    listener.resetPeak();
    const calls = [
      ...Array.from({ length: 8 }, () => post(operator, `/api/instances/${id}/test-connection`)),
      ...Array.from({ length: 8 }, () => post(operator, `/api/instances/${id}/doctor`)),
      ...Array.from({ length: 4 }, () => post(operator, '/api/instances/test-connection', { ids: [id], doctor: true })),
      post(operator, `/database-sizes/instances/${id}/sync-capacity`),
      post(operator, `/api/instances/${id}/tables/sync`, { databases: ['postgres'] }),
      post(operator, `/api/instances/${id}/composition/collect`),
    ];
    const res = await Promise.all(calls);
    for (const r of res) assert.equal(r.statusCode, 200, r.body);
    const bulk = res.slice(16, 20).map((r) => r.json().data);
    for (const rows of bulk) assert.equal(rows[0].reachable, true, JSON.stringify(rows));
    console.log(`# mixed paths: peak ${listener.peak()} connections`);
    assert.ok(listener.peak() <= 2, `peak ${listener.peak()} > 2`);
    assert.deepEqual(await drained(), []);
  });

  it('20 parallel tests of unsaved settings to one address open at most 2 connections', async () => {
    listener.resetPeak();
    const res = await Promise.all(
      Array.from({ length: 20 }, () =>
        post(admin, '/api/instances/test-connection', { db_type: 'postgresql', host: '127.0.0.1', port: listener.port, username: 'postgres', password: 'x' }),
      ),
    );
    assert.deepEqual([...new Set(res.map((r) => r.statusCode))], [200], res.find((r) => r.statusCode !== 200)?.body);
    console.log(`# 20 unsaved tests: peak ${listener.peak()}`);
    assert.ok(listener.peak() <= 2, `peak ${listener.peak()} > 2`);
  });

  it('the global cap (connections_total 3) holds over many instances', async () => {
    assert.equal(
      (await app.inject({ method: 'PATCH', url: '/api/settings', headers: admin.headers(true), payload: { connections_total: 3 } })).statusCode,
      200,
    );
    try {
      const ids: number[] = [];
      for (let i = 0; i < 6; i++)
        ids.push(
          (await ctx.instances.create({ name: `g-${i}`, db_type: 'postgresql', host: '127.0.0.1', port: listener.port, credential_id: credId }, actor)).id,
        );
      await new Promise((r) => setTimeout(r, 1100)); // the caps are cached for a second
      listener.resetPeak();
      const res = await Promise.all(ids.flatMap((x) => Array.from({ length: 5 }, () => post(operator, `/api/instances/${x}/test-connection`))));
      assert.deepEqual([...new Set(res.map((r) => r.statusCode))], [200]);
      console.log(`# 30 tests over 6 instances, total cap 3: peak ${listener.peak()}`);
      assert.ok(listener.peak() <= 3, `peak ${listener.peak()} > 3`);
      assert.equal(listener.peak(), 3);
    } finally {
      await app.inject({ method: 'PATCH', url: '/api/settings', headers: admin.headers(true), payload: { connections_total: null } });
    }
  });

  it('a sync’s slot asked for ahead (with its lock) and dropped leaves the line: the next caller gets the slot freed', async () => {
    const inst = await ctx.store.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const p = { connectTimeoutMs: 5_000, syncTimeoutMs: 60_000 };
    const held = [await ctx.connections.reserve(inst, { purpose: 'test' }), await ctx.connections.reserve(inst, { purpose: 'test' })];
    // Both of the instance's connections in use: the slot asked for ahead waits in line, and is dropped there (a busy lock).
    const waiting = ctx.connections.reserveAhead(inst, p);
    await new Promise((r) => setTimeout(r, 50));
    waiting.drop();
    await held[0]!.release();
    // Without waiting: a waiter still in line would go first (and the freed slot to it).
    const next = await ctx.connections.reserve(inst, { purpose: 'test', waitMs: 0 });
    await next.release();
    await held[1]!.release();
    // One that came before it was dropped is freed.
    const came = ctx.connections.reserveAhead(inst, p);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await slotRows()).length, 2, 'the instance’s and the estate’s slot');
    came.drop();
    assert.deepEqual(await drained(), [], 'freed');
    // Unreadable options throw nothing here (the record would fail as a whole): the collection that takes it fails.
    const unreadable = ctx.connections.reserveAhead({ ...inst, options: '{' }, p);
    await assert.rejects(unreadable.take()!, SyntaxError);
  });

  it('no slot within the wait: 429 with a zh-CN + English message, nothing connected', async () => {
    // A second process on the same store (here: a second context on the same file) with a short wait.
    const other: Context = await createContext(
      loadConfig({ WHALEFALL_DATA_DIR: ctx.dataDir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off', WHALEFALL_CONNECTION_WAIT_MS: '300' }),
      {
        logger: createLogger('silent'),
      },
    );
    // Web sessions are rows in the store: the operator's cookie works on this process too.
    const otherApp = await buildApp(other);
    try {
      // This process holds both of the instance's slots (as two long collections would).
      const held = await Promise.all([0, 1].map(() => ctx.slots.acquire([{ scope: `instance:${id}`, cap: 2 }], { purpose: 'sync', waitMs: 1000 })));
      // Slot rows are answered before their COMMIT, which comes at the end of this turn (src/store/sqlite-driver.ts).
      // A second process would wait for it in its own thread; a second store in this one must not block the thread
      // first (SQLite's busy wait is synchronous), so the turn ends here.
      await new Promise((resolve) => setImmediate(resolve));
      const accepted = listener.accepted();
      try {
        const headers = operator.headers(true);
        const t0 = performance.now();
        const r = await otherApp.inject({ method: 'POST', url: `/api/instances/${id}/test-connection`, headers });
        const waited = performance.now() - t0;
        assert.equal(r.statusCode, 429, r.body);
        assert.match(r.json().error, /并发连接已达上限 \(2\).*too many connections to capped at once: the limit is 2/);
        assert.equal(r.headers['retry-after'], '1');
        assert.ok(waited >= 300, `answered after ${waited} ms, before the wait`);
        assert.equal(listener.accepted(), accepted, 'nothing connected');
      } finally {
        for (const h of held) await h.release();
      }
      const ok = await otherApp.inject({ method: 'POST', url: `/api/instances/${id}/test-connection`, headers: operator.headers(true) });
      assert.equal(ok.statusCode, 200, ok.body);
    } finally {
      await otherApp.close();
      await other.close();
    }
  });

  it('a dead process’s slots on this host are taken over at once', async () => {
    // Slots left by a pid that no longer exists (a SIGKILLed process on this host), with a long lease.
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    const host = (await import('node:os')).hostname();
    const far = new Date(Date.now() + 3600_000).toISOString();
    for (const slot of [0, 1]) {
      await ctx.store.db
        .insertInto('connection_slots')
        .values({
          scope: `instance:${id}`,
          slot,
          holder: `${host}:${pid}:deadbeef:0000000${slot}`,
          purpose: 'sync',
          acquired_at: new Date().toISOString(),
          expires_at: far,
        })
        .execute();
    }
    const r = await post(operator, `/api/instances/${id}/test-connection`);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(await drained(), []);
  });
});

interface Proc {
  child: ChildProcess;
  port: Promise<number>;
}

function serve(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const port = new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
  port.catch(() => {});
  return { child, port };
}

describe('connection caps, two processes (PostgreSQL store)', { timeout: 180_000 }, () => {
  let ctx: TestContext;
  let slow: LatencyProxy;
  let listener: CountingListener;
  const procs: Proc[] = [];
  let id: number;
  let token: string;

  before(async () => {
    const key = randomBytes(32).toString('hex');
    ctx = await newTestContext('postgres', { env: { WHALEFALL_SECRET_KEY: key } });
    slow = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 5432, delayMs: 15 });
    listener = await startCountingListener({ targetHost: '127.0.0.1', targetPort: slow.port });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    id = (await ctx.instances.create({ name: 'shared', db_type: 'postgresql', host: '127.0.0.1', port: listener.port, credential_id: cred.id }, actor)).id;
    const user = await ctx.auth.createUser({ username: 'op', password: 'pw-op-Secret1', role: 'operator' }, actor);
    token = (await ctx.auth.createToken(user.id, { name: 't' }, actor)).token;
    for (let i = 0; i < 2; i++) {
      procs.push(
        serve({
          DATABASE_URL: ctx.config.databaseUrl!,
          WHALEFALL_DATA_DIR: ctx.dataDir,
          WHALEFALL_SECRET_KEY: key,
          WHALEFALL_TZ: 'UTC',
          WHALEFALL_SCHEDULER: 'off',
          WHALEFALL_CONNECTION_WAIT_MS: '120000',
        }),
      );
    }
  });
  after(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await listener?.close();
    await slow?.close();
    await ctx?.cleanup();
  });

  it('two serve processes, 20 parallel tests each to one instance: at most 2 connections together', async () => {
    const ports = await Promise.all(procs.map((p) => p.port));
    listener.resetPeak();
    const res = await Promise.all(
      ports.flatMap((port) =>
        Array.from({ length: 20 }, () =>
          fetch(`http://127.0.0.1:${port}/api/instances/${id}/test-connection`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }),
        ),
      ),
    );
    const statuses = [...new Set(res.map((r) => r.status))];
    assert.deepEqual(statuses, [200], await res.find((r) => r.status !== 200)?.text());
    console.log(`# 2 processes × 20 parallel tests: peak ${listener.peak()} connections, ${listener.accepted()} accepted`);
    assert.equal(listener.accepted(), 40);
    assert.ok(listener.peak() <= 2, `peak ${listener.peak()} > 2`);
    assert.equal(listener.peak(), 2);
    assert.deepEqual(await ctx.store.db.selectFrom('connection_slots').selectAll().execute(), []);
  });
});
