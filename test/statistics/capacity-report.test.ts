/**
 * The monthly capacity report (GET /api/reports/capacity) on stored
 * histories: estate and per-tag totals with month-over-month change,
 * showback at the configured rate, top growers, the shortest runways and
 * the cleanup candidates (reclaimable space, WAL of an inactive slot, binary
 * logs, a database unchanged for 90 days, a deleted database's history) —
 * HTML in both languages, CSV read by Python's csv module, PDF through
 * chromium read back by pdftotext, 503 when chromium is absent; and the
 * email on the 1st (fake clock, local SMTP server) with the report.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { addDays } from '../../src/lib/clock.js';
import { CompositionRepository } from '../../src/store/composition.repository.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { addInstance, FixedClock, insertHistory, type Row } from './fixtures.js';

const GB = 1024 ** 3;
const actor = { userId: null, username: 'test' };
const clock = new FixedClock(new Date('2026-12-01T08:00:00Z'));
// October and November 2026, 61 days ending 2026-11-30.
const FIRST = '2026-10-01';
const series = (db: string, f: (i: number) => number, n = 61): Row[] =>
  Array.from({ length: n }, (_, i) => ({ db, date: addDays(FIRST, i), size: Math.round(f(i)) }));

describe('monthly capacity report', () => {
  let ctx: TestContext;
  let app: TestApp;
  let viewer: Caller;
  let smtp: SMTPServer;
  const received: ParsedMail[] = [];
  const ids: Record<string, number> = {};

  before(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      onData(stream, _s, cb) {
        simpleParser(stream).then((m) => (received.push(m), cb()), cb);
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.server.address() as { port: number }).port;
    ctx = await newTestContext('sqlite', {
      clock,
      env: { WHALEFALL_SMTP_URL: `smtp://127.0.0.1:${port}`, WHALEFALL_DIGEST_RECIPIENTS: 'ops@example.com:en, dba@example.cn' },
    });
    // orders (prod): +1 GB a day from 100 GB; logs (prod, dev): flat 50 GB with 'cold' unchanged since before the window; scratch (untagged): a deleted database.
    ids.orders = await addInstance(ctx, 'pg-orders', { tags: ['prod'], options: { capacity_limit_bytes: 400 * GB } });
    ids.logs = await addInstance(ctx, 'my-logs', { db_type: 'mysql', tags: ['prod', 'dev'] });
    ids.scratch = await addInstance(ctx, 'pg-scratch');
    await insertHistory(
      ctx,
      ids.orders,
      series('orders', (i) => 100 * GB + i * GB),
    );
    await insertHistory(ctx, ids.logs, [
      ...series('app', () => 40 * GB),
      ...Array.from({ length: 120 }, (_, i) => ({ db: 'cold', date: addDays('2026-08-03', i), size: 10 * GB })),
    ]);
    await insertHistory(ctx, ids.scratch, [...series('tmp', () => 5 * GB, 20).map((r, i) => ({ ...r, deleted: i === 19 })), ...series('keep', () => GB)]);
    await ctx.store.db
      .updateTable('instance_databases')
      .set({ is_deleted: 1, deleted_at: '2026-10-20T03:00:00.000Z' })
      .where('database_name', '=', 'tmp')
      .execute();
    const comp = new CompositionRepository(ctx.store.db);
    const save = (id: number, parts: unknown[]) =>
      comp.save({
        instance_id: id,
        collected_date: '2026-11-30',
        parts: JSON.stringify(parts),
        ceiling_bytes: null,
        ceiling_source: null,
        disk_used_bytes: null,
        ceiling_detail: null,
        method: 'test',
        collected_at: '2026-11-30T03:00:00.000Z',
      });
    await save(ids.orders, [
      { kind: 'heap', bytes: 120 * GB, detail: null },
      { kind: 'reclaimable', bytes: 7 * GB, detail: null },
      {
        kind: 'wal_retained_by_slots',
        bytes: 3 * GB,
        detail: {
          slots: [
            { name: 'old_replica', active: false, bytes: 3 * GB, inactive_holding_wal: true },
            { name: 'live', active: true, bytes: 0, inactive_holding_wal: false },
          ],
        },
      },
    ]);
    await save(ids.logs, [{ kind: 'binary_logs', bytes: 2 * GB, detail: { enabled: true, files: [] } }]);
    await ctx.settings.update({ showback_rate_per_gb_month: 0.5, showback_currency: 'CNY' }, actor);
    const t = await newTestApp(ctx);
    app = t.app;
    viewer = t.callers.viewer;
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  const get = async (qs: string, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method: 'GET', url: `/api/reports/capacity${qs}`, headers: { ...viewer.headers(false), ...headers } });
    return res;
  };

  it('the figures: totals and change, showback, growers, runways, cleanup with savings', async () => {
    const r = await ctx.capacityReport.build('2026-11');
    // Month ends: orders 160 GB (Oct 31: 130), logs 50 GB (40 + cold 10), scratch 1 GB.
    assert.equal(r.estate.total_bytes, 211 * GB);
    assert.equal(r.estate.previous_bytes, 181 * GB);
    assert.equal(r.estate.change_bytes, 30 * GB);
    assert.equal(r.estate.change_pct, 16.57);
    const prod = r.by_tag.find((x) => x.key === 'prod')!;
    assert.deepEqual([prod.instances, prod.total_bytes, prod.change_bytes], [2, 210 * GB, 30 * GB]);
    assert.deepEqual(
      r.by_tag.map((x) => x.key),
      ['dev', 'prod', '(none)'],
    );
    // Showback: orders' November mean is 145.5 GB; logs 50; scratch 1. prod = 195.5 GB-months × 0.5 = 97.75.
    const sb = Object.fromEntries(r.showback.lines.map((x) => [x.tag, x]));
    assert.equal(sb.prod!.gb_months, 195.5);
    assert.equal(sb.prod!.cost, 97.75);
    assert.equal(r.showback.total_cost, 98.25);
    assert.deepEqual(
      r.top_growers.map((g) => [g.instance_name, g.change_bytes]),
      [['pg-orders', 30 * GB]],
    );
    assert.equal(r.shortest_runways[0]!.instance_name, 'pg-orders');
    const kinds = r.cleanup.map((c) => [c.kind, c.target, c.savings_bytes, c.rows]);
    assert.deepEqual(kinds, [
      ['unchanged_90_days', 'cold', 10 * GB, null],
      ['reclaimable', 'reclaimable', 7 * GB, null],
      ['inactive_slot_wal', 'old_replica', 3 * GB, null],
      ['binary_logs', 'binary_logs', 2 * GB, null],
      ['deleted_history', 'tmp', null, 20],
    ]);
    assert.equal(r.cleanup_savings_bytes, 22 * GB);
  });

  it('HTML in both languages (lang or Accept-Language); bad month refused', async () => {
    const zh = await get('?month=2026-11');
    assert.equal(zh.statusCode, 200);
    assert.match(zh.headers['content-type'] as string, /text\/html/);
    assert.match(zh.body, /鲸落月度容量报告 2026-11/);
    assert.match(zh.body, /全部实例合计/);
    assert.match(zh.body, /97\.75 CNY/);
    assert.match(zh.body, /不活跃复制槽保留的 WAL/);
    // Runway states in the reader's language, never the API's identifiers.
    const zhRunways = /id="wf-report-runways"[\s\S]*?<\/table>/.exec(zh.body)![0];
    assert.match(zhRunways, /增长中|未增长|在缩小|无法预测|无上限|已满/);
    assert.doesNotMatch(zhRunways, /not_growing|no_ceiling|unpredictable|growing|shrinking/);
    const en = await get('?month=2026-11', { 'accept-language': 'en-US,en;q=0.9' });
    assert.match(en.body, /Whalefall monthly capacity report 2026-11/);
    assert.match(en.body, /Estate total/);
    assert.match(en.body, /\+30\.00 GB \(\+16\.57%\)/);
    assert.match(en.body, /my-logs \/ cold/);
    assert.match((await get('?month=2026-11&lang=en', { 'accept-language': 'zh-CN' })).body, /Showback/);
    const bad = await get('?month=2026-13');
    assert.equal(bad.statusCode, 400);
  });

  it('CSV read by Python’s csv module', async () => {
    const res = await get('?month=2026-11&format=csv');
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-disposition'] as string, /capacity-report-2026-11\.csv/);
    const file = path.join(os.tmpdir(), `wf-report-${process.pid}.csv`);
    fs.writeFileSync(file, res.rawPayload);
    const out = execFileSync(
      'python3',
      ['-c', 'import csv,json,sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))))', file],
      { encoding: 'utf8' },
    );
    fs.rmSync(file);
    const rows = JSON.parse(out) as Record<string, string>[];
    const estate = rows.find((r) => r.section === 'estate')!;
    assert.deepEqual([estate.bytes, estate.change_bytes, estate.change_pct], [String(211 * GB), String(30 * GB), '16.57']);
    assert.equal(rows.find((r) => r.section === 'showback' && r.key === 'prod')!.cost, '97.75');
    assert.deepEqual(
      rows.filter((r) => r.section === 'cleanup').map((r) => r.key),
      ['unchanged_90_days', 'reclaimable', 'inactive_slot_wal', 'binary_logs', 'deleted_history'],
    );
    assert.equal(rows.find((r) => r.section === 'runway')!.instance_name, 'pg-orders');
  });

  it('with no rate (the default) the total line still gives the estate’s GB-months, each instance once: JSON, HTML in both languages, CSV', async () => {
    await ctx.settings.update({ showback_rate_per_gb_month: 0 }, actor);
    try {
      const r = await ctx.capacityReport.build('2026-11');
      // orders 145.5 + logs 50 + scratch 1; the tag lines add up to 246.5 (logs is under prod and dev).
      assert.deepEqual([r.showback.total_gb_months, r.showback.total_cost], [196.5, 0]);
      for (const [lang, label] of [
        ['zh-CN', '合计（每个实例只计一次）'],
        ['en', 'Total (each instance counted once)'],
      ] as const) {
        const html = (await get(`?month=2026-11&lang=${lang}`)).body;
        const table = /id="wf-report-showback"[\s\S]*?<\/table>/.exec(html)![0];
        assert.ok(table.includes(`<td>${label}</td><td class="n">196.500</td><td class="n">—</td>`), table);
      }
      const csv = (await get('?month=2026-11&format=csv')).body;
      assert.match(csv, /\nshowback,total(,){9}196\.5,0,CNY,/);
    } finally {
      await ctx.settings.update({ showback_rate_per_gb_month: 0.5 }, actor);
    }
  });

  it(
    'PDF through chromium, read back with pdftotext; 503 when chromium is absent',
    { skip: !fs.existsSync('/usr/bin/chromium') && 'no /usr/bin/chromium' },
    async () => {
      const res = await get('?month=2026-11&format=pdf&lang=en');
      assert.equal(res.statusCode, 200, res.body.slice(0, 300));
      assert.equal(res.headers['content-type'], 'application/pdf');
      assert.equal(res.rawPayload.subarray(0, 5).toString(), '%PDF-');
      const file = path.join(os.tmpdir(), `wf-report-${process.pid}.pdf`);
      fs.writeFileSync(file, res.rawPayload);
      const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
      fs.rmSync(file);
      assert.match(text, /Whalefall monthly capacity report 2026-11/);
      assert.match(text, /pg-orders/);
      assert.match(text, /97\.75 CNY/);
      assert.match(text, /old_replica/);
      const zh = await get('?month=2026-11&format=pdf');
      const zfile = path.join(os.tmpdir(), `wf-report-zh-${process.pid}.pdf`);
      fs.writeFileSync(zfile, zh.rawPayload);
      assert.match(execFileSync('pdftotext', [zfile, '-'], { encoding: 'utf8' }), /鲸落月度容量报告/);
      fs.rmSync(zfile);

      const noChrome = await newTestContext('sqlite', { clock, env: { WHALEFALL_CHROMIUM: '/nonexistent/chromium' } });
      try {
        await assert.rejects(
          noChrome.capacityReport.document('2026-11', 'pdf', 'en'),
          (e: Error & { kind?: string }) => e.kind === 'unavailable' && /\/nonexistent\/chromium/.test(e.message) && /format=html/.test(e.message),
        );
      } finally {
        await noChrome.cleanup();
      }
    },
  );

  it('the email: on the 1st the report for the month just ended goes out with the digest; not on the 2nd; once', async () => {
    await ctx.email.tick(new Date('2026-12-01T08:00:00Z'));
    const reports = received.filter((m) => /月度容量报告|monthly capacity report/.test(m.subject ?? ''));
    assert.equal(reports.length, 2, received.map((m) => m.subject).join(' | '));
    const en = reports.find((m) => (m.to as { text: string }).text.includes('ops@example.com'))!;
    assert.equal(en.subject, 'Whalefall monthly capacity report 2026-11');
    assert.match(en.html as string, /Estate total/);
    assert.equal(en.attachments[0]!.filename, 'capacity-report-2026-11.csv');
    assert.match(en.attachments[0]!.content.toString('utf8'), /inactive_slot_wal,.*old_replica/);
    const zh = reports.find((m) => (m.to as { text: string }).text.includes('dba@example.cn'))!;
    assert.equal(zh.subject, '鲸落月度容量报告 2026-11');
    const before2 = received.length;
    await ctx.email.tick(new Date('2026-12-01T09:00:00Z'));
    assert.equal(received.length, before2, 'claimed once per day');
    await ctx.email.tick(new Date('2026-12-02T08:00:00Z'));
    const after2 = received.slice(before2);
    assert.equal(after2.length, 2, 'the digest only');
    assert.ok(after2.every((m) => !/月度容量报告|monthly capacity report/.test(m.subject ?? '')));
  });

  it('a server registered twice counts once: in the totals, the tag lines, the showback (day by day) and the growers', async () => {
    // pg-orders registered again (same host:port) in mid-November; the new registration synced last, so it counts
    // at November's end and in November's showback; October had pg-orders alone.
    const again = await addInstance(ctx, 'pg-orders-again', { tags: ['prod'] });
    await ctx.store.db.updateTable('instances').set({ host: 'pg-orders.example', last_sync_at: '2026-11-30T03:00:00.000Z' }).where('id', '=', again).execute();
    await insertHistory(ctx, again, series('orders', (i) => 100 * GB + i * GB).slice(46));
    const r = await ctx.capacityReport.build('2026-11');
    assert.equal(r.estate.total_bytes, 211 * GB, 'the server once (160 GB), not twice');
    assert.equal(r.estate.previous_bytes, 181 * GB);
    const prod = r.by_tag.find((x) => x.key === 'prod')!;
    assert.deepEqual([prod.instances, prod.total_bytes], [2, 210 * GB]);
    assert.deepEqual(r.same_server_excluded, [
      { instance_id: ids.orders, instance_name: 'pg-orders', counted_as_instance_id: again, counted_as_instance_name: 'pg-orders-again', bytes: 160 * GB },
    ]);
    // Showback, day by day: pg-orders alone to Nov 15, then the new registration; the server's November mean is
    // 145.5 GB as before it was registered twice (prod 145.5 + logs 50; scratch 1 more in the total).
    assert.equal(r.showback.lines.find((x) => x.tag === 'prod')!.gb_months, 195.5);
    assert.deepEqual([r.showback.total_gb_months, r.showback.total_cost], [196.5, 98.25]);
    // Its growth from October's end (measured by pg-orders) goes with the registration counted now.
    assert.deepEqual(
      r.top_growers.map((g) => [g.instance_name, g.previous_bytes, g.change_bytes]),
      [['pg-orders-again', 130 * GB, 30 * GB]],
    );
    assert.equal(r.estate.change_bytes, 30 * GB);
    const html = (await get('?month=2026-11&format=html&lang=en')).body;
    assert.match(
      html,
      /A server registered more than once counts once \(totals, tags and showback\): left out pg-orders \(the same server as pg-orders-again\)/,
    );
    const zh = (await get('?month=2026-11&format=html&lang=zh-CN')).body;
    assert.match(zh, /同一台服务器登记了多次时只计一次（合计、标签与费用分摊）：未计入 pg-orders（与 pg-orders-again 是同一台服务器）/);
    const csv = (await get('?month=2026-11&format=csv')).body;
    assert.match(csv, new RegExp(`same_server_excluded,,${ids.orders},pg-orders,pg-orders-again,,${160 * GB},(,){10}${again}\\r?\\n`));
    // The latest figure of the month wins over the fresher sync: without its Nov 30 row the new registration's last
    // figure is Nov 29's, so pg-orders (Nov 30) counts at the month's end.
    await ctx.store.db.deleteFrom('instance_size_stats').where('instance_id', '=', again).where('collected_date', '=', '2026-11-30').execute();
    const r2 = await ctx.capacityReport.build('2026-11');
    assert.equal(r2.estate.total_bytes, 211 * GB);
    assert.deepEqual(
      r2.same_server_excluded.map((x) => [x.instance_name, x.counted_as_instance_name, x.bytes]),
      [['pg-orders-again', 'pg-orders', 159 * GB]],
    );
  });
});
