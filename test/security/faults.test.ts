/**
 * Faults beyond test/integration/sync-failures.test.ts (refusing and silent
 * targets) and test/scheduler/crash-recovery.test.ts (SIGKILL mid-session):
 * - a target that drops the connection in the middle of its result,
 * - a slow target (within the timeout: completes; beyond it: a timeout),
 * - the store becoming full (SQLite max_page_count: a real SQLITE_FULL) or
 *   refusing writes (a trigger that aborts mid-transaction) during a save:
 *   the save rolls back, no half-written day, the record says why,
 * - the clock crossing midnight during a session: every row's collected_date
 *   is the date the collection started.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { startLatencyProxy, type LatencyProxy } from '../helpers/latency-proxy.js';
import { startPgResponder, type PgResponder, type ResultSet, SIZE_COLUMNS } from '../helpers/pg-responder.js';

const actor = { userId: null, username: 'test' };
let faults = 0;

function bulk(n: number, prefix = 'db'): ResultSet {
  return {
    columns: SIZE_COLUMNS,
    rows: Array.from({ length: n }, (_, i) => [
      30_000 + i,
      `${prefix}_${String(i).padStart(5, '0')}_${'p'.repeat(40)}`,
      false,
      true,
      String(1_000_000 + i),
      '15.7 (responder)',
    ]),
  };
}
const isBulk = (q: string) => /pg_database_size\(oid\)/.test(q);

/** A TCP proxy that forwards everything until the first query, then passes `fraction` of the answer and cuts both sockets. */
async function startCutter(targetPort: number, fraction: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let queried = false;
    client.on('data', (b) => {
      if (b[0] === 0x51 /* Q */ || b[0] === 0x50 /* P */) queried = true;
      upstream.write(b);
    });
    upstream.on('data', (b) => {
      if (!queried) return void client.write(b);
      client.write(b.subarray(0, Math.floor(b.length * fraction)), () => {
        client.destroy();
        upstream.destroy();
      });
    });
    for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

describe('faults during a sync', () => {
  let ctx: TestContext;
  let responder: PgResponder;
  let credentialId: number;
  let rows = 300;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_SYNC_RETRIES: '0' } });
    responder = await startPgResponder({ handler: (q) => (isBulk(q) ? bulk(rows) : undefined), serverVersion: '15.7 (responder)' });
    credentialId = (await ctx.credentials.create({ name: 'faults', username: 'collector', password: 'fault-pw' }, actor)).id;
  });
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });
  after(async () => {
    await ctx?.cleanup();
    await responder?.close();
  });

  let n = 0;
  const newInstance = async (port: number) =>
    (await ctx.instances.create({ name: `fault-${++n}`, db_type: 'postgresql', host: '127.0.0.1', port, credential_id: credentialId }, actor)).id;
  const statsOf = async (id: number) => ({
    databases: Number(
      (
        await ctx.store.db
          .selectFrom('database_size_stats')
          .select(sql<number>`count(*)`.as('n'))
          .where('instance_id', '=', id)
          .executeTakeFirstOrThrow()
      ).n,
    ),
    instance: Number(
      (
        await ctx.store.db
          .selectFrom('instance_size_stats')
          .select(sql<number>`count(*)`.as('n'))
          .where('instance_id', '=', id)
          .executeTakeFirstOrThrow()
      ).n,
    ),
    known: Number(
      (
        await ctx.store.db
          .selectFrom('instance_databases')
          .select(sql<number>`count(*)`.as('n'))
          .where('instance_id', '=', id)
          .executeTakeFirstOrThrow()
      ).n,
    ),
  });
  const lastRecord = (id: number) =>
    ctx.store.db.selectFrom('sync_instance_records').selectAll().where('instance_id', '=', id).orderBy('id', 'desc').executeTakeFirstOrThrow();

  it('a target that drops the connection mid-result: connection error, nothing saved', async () => {
    for (const fraction of [0.1, 0.5, 0.9]) {
      const cutter = await startCutter(responder.port, fraction);
      closers.push(cutter.close);
      const id = await newInstance(cutter.port);
      const t0 = Date.now();
      await assert.rejects(ctx.capacitySync.syncInstance(id, actor), (err: Error) => /连接|connection|terminated/i.test(err.message));
      assert.ok(Date.now() - t0 < 10_000, 'fails at once, not at the timeout');
      assert.deepEqual(await statsOf(id), { databases: 0, instance: 0, known: 0 });
      const rec = await lastRecord(id);
      assert.equal(rec.status, 'failed');
      assert.equal(rec.error_code, 'connection');
      faults++;
    }
  });

  it('a slow target within the timeout completes; beyond it, a timeout with nothing saved', async () => {
    const slow: LatencyProxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: responder.port, delayMs: 150 });
    closers.push(slow.close);
    const ok = await newInstance(slow.port);
    const r = await ctx.capacitySync.syncInstance(ok, actor);
    assert.equal(r.data.saved_count, rows);
    faults++;
    await ctx.settings.update({ sync_timeout_ms: 1000 }, actor);
    const verySlow = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: responder.port, delayMs: 1600 }); // a round trip: 3.2 s > 2 s connect + 1 s sync
    closers.push(verySlow.close);
    const late = await newInstance(verySlow.port);
    const t0 = Date.now();
    await assert.rejects(ctx.capacitySync.syncInstance(late, actor));
    assert.ok(Date.now() - t0 < 3000 + 1500, `bounded by connect + sync timeout: ${Date.now() - t0} ms`);
    assert.equal((await lastRecord(late)).error_code, 'timeout');
    assert.deepEqual(await statsOf(late), { databases: 0, instance: 0, known: 0 });
    await ctx.settings.update({ sync_timeout_ms: null }, actor);
    faults++;
  });

  it('the store fills up during the save (SQLITE_FULL): rolled back, no half-written day, the record says why', async () => {
    const id = await newInstance(responder.port);
    rows = 3000;
    const { page_count } = (await sql<{ page_count: number }>`PRAGMA page_count`.execute(ctx.store.db)).rows[0]!;
    // room for a few pages: the record's own row fits, 3000 size rows do not
    await sql.raw(`PRAGMA max_page_count = ${page_count + 8}`).execute(ctx.store.db);
    try {
      await assert.rejects(ctx.capacitySync.syncInstance(id, actor));
    } finally {
      await sql.raw('PRAGMA max_page_count = 1073741823').execute(ctx.store.db);
      rows = 300;
    }
    assert.deepEqual(await statsOf(id), { databases: 0, instance: 0, known: 0 }, 'nothing of the day was kept');
    const rec = await lastRecord(id);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error_message ?? '', /full/i, `the record says why: ${rec.error_message}`);
    // once there is room again the same instance syncs in full
    assert.equal((await ctx.capacitySync.syncInstance(id, actor)).data.saved_count, 300);
    faults++;
  });

  it('the store refuses writes mid-transaction (read-only): rolled back, the record says why', async () => {
    const id = await newInstance(responder.port);
    // the 150th size row of this instance fails, as a store turning read-only would
    await sql
      .raw(
        `CREATE TRIGGER fault_readonly BEFORE INSERT ON database_size_stats
         WHEN NEW.instance_id = ${id} AND (SELECT count(*) FROM database_size_stats WHERE instance_id = ${id}) >= 150
         BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END`,
      )
      .execute(ctx.store.db);
    try {
      await assert.rejects(ctx.capacitySync.syncInstance(id, actor));
    } finally {
      await sql.raw('DROP TRIGGER fault_readonly').execute(ctx.store.db);
    }
    assert.deepEqual(await statsOf(id), { databases: 0, instance: 0, known: 0 }, 'the first 149 rows were rolled back');
    const rec = await lastRecord(id);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error_message ?? '', /readonly/, `the record says why: ${rec.error_message}`);
    const inst = await ctx.store.db.selectFrom('instances').select(['last_sync_status']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(inst.last_sync_status, 'failed');
    faults++;
  });
});

describe('the clock crossing midnight during a session', () => {
  let ctx: TestContext;
  let responder: PgResponder;
  // Starts 2 s before midnight (UTC); every read of the clock moves it 300 ms on, so the session ends the next day.
  let t = Date.parse('2026-11-25T23:59:58Z');
  before(async () => {
    ctx = await newTestContext('sqlite', { clock: { now: () => new Date((t += 300)) } });
    responder = await startPgResponder({ handler: (q) => (isBulk(q) ? bulk(50) : undefined) });
  });
  after(async () => {
    await ctx?.cleanup();
    await responder?.close();
  });

  it("every row's collected_date is the day its collection started", async () => {
    const cred = await ctx.credentials.create({ name: 'midnight', username: 'c', password: 'p' }, actor);
    const id = (await ctx.instances.create({ name: 'midnight', db_type: 'postgresql', host: '127.0.0.1', port: responder.port, credential_id: cred.id }, actor))
      .id;
    t = Date.parse('2026-11-25T23:59:59.000Z');
    await ctx.capacitySync.syncInstance(id, actor);
    const rec = await ctx.store.db.selectFrom('sync_instance_records').selectAll().where('instance_id', '=', id).executeTakeFirstOrThrow();
    assert.ok(rec.started_at! < '2026-11-26T00:00:00', `started before midnight: ${rec.started_at}`);
    assert.ok(rec.completed_at! >= '2026-11-26T00:00:00', `completed after midnight: ${rec.completed_at}`);
    const days = await ctx.store.db.selectFrom('database_size_stats').select('collected_date').distinct().where('instance_id', '=', id).execute();
    assert.deepEqual(days, [{ collected_date: '2026-11-25' }]);
    const inst = await ctx.store.db.selectFrom('instance_size_stats').select('collected_date').where('instance_id', '=', id).execute();
    assert.deepEqual(inst, [{ collected_date: '2026-11-25' }]);
    faults++;
    console.log(
      `faults: ${faults} injected (drop mid-result ×3, slow ×2, store full, store read-only mid-save, clock across midnight); SIGKILL mid-session is test/scheduler/crash-recovery.test.ts`,
    );
  });
});
