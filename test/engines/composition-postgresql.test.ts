/**
 * Where the bytes went on the local PostgreSQL: a physical replication slot
 * created with reserved WAL, ~75 MB of WAL generated after it, and the
 * composition's wal_retained_by_slots ≥ 0.8 × pg_wal_lsn_diff(current,
 * restart_lsn) with the slot in its detail (inactive → flagged); heap,
 * indexes, TOAST and the dead-tuple estimate of a test database; a login
 * without pg_monitor gets `wal` null with the grant named, never 0; through
 * the API (collect, then the stored day with history; a reason by key in
 * either language, a day stored before the keys as it was). The slot is dropped
 * after, whatever happens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { postgresqlEngine } from '../../src/engines/postgresql/postgresql.engine.js';
import type { Composition, CompositionPart } from '../../src/domain/composition.js';
import { newTestApp, newTestContext, type TestApp, type TestContext } from '../helpers/context.js';
import { pgAdmin, pgTarget, uniqueName } from '../helpers/targets.js';
import { addInstance } from '../tables/helpers.js';
import { CompositionRepository } from '../../src/store/composition.repository.js';
import { localDate } from '../../src/lib/clock.js';

const part = (c: { parts: CompositionPart[] }, kind: string) => c.parts.find((p) => p.kind === kind)!;

describe('PostgreSQL composition (real server, real slot)', () => {
  let admin: pg.Client;
  let dbClient: pg.Client;
  const slot = uniqueName('slot');
  const dbName = uniqueName('comp');
  const login = uniqueName('nomon');

  before(async () => {
    admin = await pgAdmin();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.query(`CREATE ROLE ${login} LOGIN PASSWORD 'Nomon-Secret-1'`);
    await admin.query(`SELECT pg_create_physical_replication_slot($1, true)`, [slot]);
    dbClient = await pgAdmin(dbName);
    // ~75 MB of WAL after the slot's restart_lsn: a table written in full, then half of it deleted (dead tuples).
    await dbClient.query(`CREATE TABLE big (id int PRIMARY KEY, pad text, blob text)`);
    await dbClient.query(`ALTER TABLE big ALTER COLUMN blob SET STORAGE EXTERNAL`);
    await dbClient.query(
      `INSERT INTO big SELECT g, repeat('x', 900), CASE WHEN g % 50 = 0 THEN repeat(md5(g::text), 200) END FROM generate_series(1, 70000) g`,
    );
    await dbClient.query(`DELETE FROM big WHERE id % 2 = 0`);
    await dbClient.query(`ANALYZE big`);
    // The statistics reach the shared view asynchronously (flushed at most every 10 s): wait for them.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await dbClient.query(`SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'big'`);
      if (Number(r.rows[0]?.n_dead_tup ?? 0) >= 30_000) break;
      if (Date.now() > deadline) throw new Error(`dead tuples not reported: ${JSON.stringify(r.rows)}`);
      await new Promise((res) => setTimeout(res, 200));
      await dbClient.query('SELECT pg_stat_clear_snapshot()');
    }
  });
  after(async () => {
    await admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [slot]).catch(() => {});
    await dbClient?.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${login}`);
    await admin.end();
  });

  const collect = async (over = {}): Promise<Composition> => {
    const s = await postgresqlEngine.connect(pgTarget(over));
    try {
      return await s.composition!();
    } finally {
      await s.close();
    }
  };

  it('wal_retained_by_slots covers the slot (≥ 0.8 × lsn diff), flagged inactive; parts disjoint and measured', async () => {
    const c = await collect();
    const diff = Number(
      (await admin.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS d FROM pg_replication_slots WHERE slot_name = $1`, [slot]))
        .rows[0].d,
    );
    assert.ok(diff > 70 * 1024 * 1024, `generated ${diff} bytes of WAL`);
    const slots = part(c, 'wal_retained_by_slots');
    assert.ok(slots.bytes! >= 0.8 * diff, `${slots.bytes} vs ${diff}`);
    const mine = (slots.detail!.slots as { name: string; active: boolean; bytes: number; inactive_holding_wal: boolean }[]).find((s) => s.name === slot)!;
    assert.deepEqual([mine.active, mine.inactive_holding_wal], [false, true]);
    assert.ok(mine.bytes >= 0.8 * diff);
    assert.ok((slots.detail!.inactive_holding_wal as string[]).includes(slot));
    const wal = part(c, 'wal');
    assert.ok(wal.bytes !== null && wal.bytes >= 0, JSON.stringify(wal));
    assert.ok((wal.detail!.wal_dir_bytes as number) >= slots.bytes!, 'the slots hold WAL inside pg_wal');

    const db = (kind: string) => (part(c, kind).detail!.databases as Record<string, number>)[dbName]!;
    // The test database: 35,000 live rows of ~930 bytes, as many dead; 1,400 TOASTed blobs of 6,400 bytes.
    assert.ok(db('heap') > 25e6, `heap ${db('heap')}`);
    assert.ok(db('reclaimable') > 20e6, `reclaimable ${db('reclaimable')}`);
    assert.equal(part(c, 'reclaimable').detail!.method, 'pg_stat_dead_tuples');
    assert.ok(db('indexes') > 1e6, `indexes ${db('indexes')}`);
    assert.ok(db('toast') > 1e6, `toast ${db('toast')}`);
    // Disjoint: the parts of one database add up to pg_database_size.
    const size = Number((await admin.query(`SELECT pg_database_size($1) AS s`, [dbName])).rows[0].s);
    const sum = ['heap', 'reclaimable', 'indexes', 'toast', 'other'].reduce((a, k) => a + db(k), 0);
    assert.ok(Math.abs(sum - size) <= 1024 * 1024, `${sum} vs ${size}`);
  });

  it('a login without pg_monitor: wal is null with the grant named, never 0', async () => {
    const c = await collect({ username: login, password: 'Nomon-Secret-1' });
    const wal = part(c, 'wal');
    assert.equal(wal.bytes, null);
    assert.match(wal.reason!, /pg_monitor/);
    // The slots view is readable by anyone: still measured.
    assert.ok(part(c, 'wal_retained_by_slots').bytes! > 0);
  });

  describe('through the API', () => {
    let ctx: TestContext;
    let app: TestApp;
    let headers: (w: boolean) => Record<string, string>;
    let id: number;
    before(async () => {
      ctx = await newTestContext('sqlite');
      const t = await newTestApp(ctx);
      app = t.app;
      headers = t.callers.operator.headers;
      id = await addInstance(ctx, 'postgresql', 5432, 'postgres');
    });
    after(async () => {
      await app?.close();
      await ctx?.cleanup();
    });

    it('collect stores today; GET returns parts, ceiling, unexplained and history', async () => {
      const before0 = await app.inject({ method: 'GET', url: `/api/instances/${id}/composition`, headers: headers(false) });
      assert.equal(before0.statusCode, 200);
      assert.deepEqual([before0.json().data.collected_date, before0.json().data.parts], [null, []]);
      const res = await app.inject({ method: 'POST', url: `/api/instances/${id}/composition/collect`, headers: headers(true) });
      assert.equal(res.statusCode, 200, res.body);
      const got = await app.inject({ method: 'GET', url: `/api/instances/${id}/composition?days=7`, headers: headers(false) });
      const d = got.json().data;
      assert.deepEqual(
        d.parts.map((p: CompositionPart) => p.kind),
        ['heap', 'reclaimable', 'indexes', 'toast', 'other', 'wal', 'wal_retained_by_slots'],
      );
      for (const p of d.parts as CompositionPart[])
        assert.deepEqual(
          Object.keys(p)
            .filter((k) => k !== 'reason' && k !== 'reason_msg')
            .sort(),
          ['bytes', 'detail', 'kind'],
        );
      assert.deepEqual([d.ceiling_bytes, d.ceiling_source, d.unexplained_bytes], [null, null, null], 'PostgreSQL reports no disk total');
      assert.equal(d.history.length, 1);
      assert.equal(d.history[0].parts.wal_retained_by_slots, part(d, 'wal_retained_by_slots').bytes);
    });

    it("a part not measured: its reason by key, in the request's language (Accept-Language: en), zh-CN as the engine wrote it; a row stored before the keys keeps its text", async () => {
      const nomon = await addInstance(ctx, 'postgresql', 5432, login, {}, 'Nomon-Secret-1');
      const res = await app.inject({
        method: 'POST',
        url: `/api/instances/${nomon}/composition/collect`,
        headers: { ...headers(true), 'accept-language': 'en' },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().message, 'Composition collected');
      const get = async (lang?: string) => {
        const r = await app.inject({
          method: 'GET',
          url: `/api/instances/${nomon}/composition`,
          headers: { ...headers(false), ...(lang ? { 'accept-language': lang } : {}) },
        });
        assert.equal(r.statusCode, 200, r.body);
        return part(r.json().data, 'wal');
      };
      const zh = await get();
      const en = await get('en-US,en;q=0.9');
      assert.equal(zh.bytes, null);
      assert.equal(zh.reason_msg!.key, 'composition.reason.pg_waldir');
      assert.deepEqual(en.reason_msg, zh.reason_msg, 'the same key and params whatever the language');
      assert.match(zh.reason!, /pg_ls_waldir 需要 superuser 或 pg_monitor: GRANT pg_monitor TO <user>;/);
      assert.match(en.reason!, /pg_ls_waldir needs superuser or pg_monitor: GRANT pg_monitor TO <user>;/);
      assert.doesNotMatch(en.reason!, /[\u4e00-\u9fff]/, en.reason);
      assert.deepEqual(part(res.json().data, 'wal').reason, en.reason, "collect answers in the request's language too");

      // A day stored before the keys: its text as stored, no key, in either language.
      const legacy = await addInstance(ctx, 'postgresql', 5432, 'postgres');
      const old = {
        kind: 'wal',
        bytes: null,
        detail: null,
        reason: 'permission denied for function pg_ls_waldir (pg_ls_waldir needs superuser or pg_monitor: GRANT pg_monitor TO <user>;)',
      };
      await new CompositionRepository(ctx.store.db).save({
        instance_id: legacy,
        collected_date: localDate(ctx.clock.now(), ctx.config.timeZone),
        parts: JSON.stringify([old]),
        ceiling_bytes: null,
        ceiling_source: null,
        disk_used_bytes: null,
        ceiling_detail: JSON.stringify({ reason: '3 个表空间容量未知 (tablespaces of unknown size): A, B, C' }),
        method: 'pg_class+pg_ls_waldir+pg_replication_slots',
        collected_at: ctx.clock.now().toISOString(),
      });
      const r = await app.inject({ method: 'GET', url: `/api/instances/${legacy}/composition`, headers: { ...headers(false), 'accept-language': 'en' } });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json().data.parts, [old]);
      assert.deepEqual(r.json().data.ceiling_detail, { reason: '3 个表空间容量未知 (tablespaces of unknown size): A, B, C' });
    });
  });
});
