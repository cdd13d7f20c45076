/**
 * GET /api/statistics/runway on both stores: the fields the issue lists,
 * ranking (ascending, nulls last), scope/tag/type filters, the states on
 * stored histories (linear, flat, purge, noisy), ceilings from the instance
 * option and from an engine's autoextend max, the per-day cache and CSV.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { addDays } from '../../src/lib/clock.js';
import { forEachStore, newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { addInstance, FixedClock, insertHistory, type Row } from './fixtures.js';

const GB = 1024 ** 3;
const TODAY = '2024-06-30';
const clock = new FixedClock(new Date(`${TODAY}T12:00:00Z`));

/** Deterministic noise in [-1, 1]. */
function noise(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  };
}

/** 120 days ending today. */
function history(db: string, f: (i: number) => number): Row[] {
  return Array.from({ length: 120 }, (_, i) => ({ db, date: addDays(TODAY, i - 119), size: Math.round(f(i)) }));
}

const FIELDS = [
  'instance_id',
  'instance_name',
  'db_type',
  'database_name',
  'state',
  'days_until_full',
  'full_date',
  'low_days',
  'high_days',
  'growth_bytes_per_day',
  'ceiling_bytes',
  'ceiling_source',
  'fit_start_date',
  'change_point_date',
  'backtest_mape',
  'latest_date',
  'latest_bytes',
  'points_used',
  'fit',
  'jumps',
].sort();

forEachStore('runway API', (_get, kind) => {
  let ctx: TestContext;
  let app: TestApp;
  let viewer: Caller;
  let ids: Record<string, number>;
  const rnd = noise(9);

  before(async () => {
    ctx = await newTestContext(kind, { clock });
    const t = await newTestApp(ctx);
    app = t.app;
    viewer = t.callers.viewer;
    ids = {
      linear: await addInstance(ctx, 'linear', { tags: ['prod'], options: { capacity_limit_bytes: 1000 * GB } }),
      flat: await addInstance(ctx, 'flat', { tags: ['prod'], options: { capacity_limit_bytes: 100 * GB } }),
      purge: await addInstance(ctx, 'purge', { db_type: 'mysql', options: { capacity_limit_bytes: 500 * GB } }),
      noisy: await addInstance(ctx, 'noisy', { options: { capacity_limit_bytes: 500 * GB } }),
      open: await addInstance(ctx, 'open'),
      ora: await addInstance(ctx, 'ora', { db_type: 'oracle' }),
    };
    await insertHistory(
      ctx,
      ids.linear!,
      history('app', (i) => 200 * GB + i * 2 * GB),
    );
    await insertHistory(
      ctx,
      ids.flat!,
      history('app', () => 50 * GB),
    );
    await insertHistory(
      ctx,
      ids.purge!,
      history('app', (i) => (i < 60 ? 300 * GB + i * 3 * GB : 100 * GB + (i - 60) * GB)),
    );
    await insertHistory(
      ctx,
      ids.noisy!,
      history('app', (i) => 100 * GB + i * 0.1 * GB + rnd() * 30 * GB),
    );
    await insertHistory(
      ctx,
      ids.open!,
      history('app', (i) => 10 * GB + i * GB),
    );
    // An Oracle tablespace with an autoextend ceiling of 100 GB, +0.5 GB/day.
    await insertHistory(
      ctx,
      ids.ora!,
      history('USERS', (i) => 20 * GB + i * 0.5 * GB).map((r) => ({ ...r, maxBytes: 100 * GB })),
    );
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  const get = async (qs: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/statistics/runway${qs}`, headers: viewer.headers(false) });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data as { scope: string; total: number; items: Record<string, unknown>[] };
  };

  it('instance scope: states, days from the arithmetic, ranked ascending with nulls last', async () => {
    const r = await get('');
    assert.equal(r.scope, 'instance');
    const by = Object.fromEntries(r.items.map((i) => [i.instance_name, i]));
    assert.deepEqual(
      Object.keys(by.linear!).sort(),
      FIELDS.filter((f) => f !== 'database_name'),
    );
    // Linear: (1000 − (200 + 119·2)) / 2 = 281 days.
    assert.equal(by.linear!.state, 'growing');
    assert.ok(Math.abs((by.linear!.days_until_full as number) - 281) <= 0.05 * 281, String(by.linear!.days_until_full));
    assert.equal(by.linear!.ceiling_source, 'capacity_limit_bytes');
    assert.equal(by.linear!.full_date, addDays(TODAY, by.linear!.days_until_full as number));
    assert.ok((by.linear!.backtest_mape as number) < 0.01);
    assert.deepEqual([by.flat!.state, by.flat!.days_until_full], ['not_growing', null]);
    // Purge on day 60: the fit starts there; (500 − 159) / 1 = 341 days.
    assert.equal(by.purge!.change_point_date, addDays(TODAY, 60 - 119));
    assert.equal(by.purge!.fit_start_date, addDays(TODAY, 60 - 119));
    assert.ok(Math.abs((by.purge!.days_until_full as number) - 341) <= 0.05 * 341, String(by.purge!.days_until_full));
    assert.equal(by.noisy!.state, 'unpredictable');
    assert.equal(typeof by.noisy!.backtest_mape, 'number');
    assert.deepEqual([by.open!.state, by.open!.ceiling_bytes], ['no_ceiling', null]);
    const days = r.items.map((i) => i.days_until_full);
    const firstNull = days.indexOf(null);
    assert.ok(firstNull > 0 && days.slice(firstNull).every((d) => d === null), JSON.stringify(days));
    assert.deepEqual(
      days.slice(0, firstNull),
      [...days.slice(0, firstNull)].sort((a, b) => (a as number) - (b as number)),
    );
  });

  it('database scope: the engine-reported autoextend max is the ceiling; filters by tag and type', async () => {
    const r = await get('?scope=database&db_type=oracle');
    assert.equal(r.items.length, 1);
    const ora = r.items[0]!;
    assert.deepEqual([ora.database_name, ora.ceiling_bytes, ora.ceiling_source, ora.state], ['USERS', 100 * GB, 'autoextend_max', 'growing']);
    // (100 − (20 + 119·0.5)) / 0.5 = 41 days.
    assert.equal(ora.days_until_full, 41);
    const prod = await get('?tag=prod');
    assert.deepEqual(prod.items.map((i) => i.instance_name).sort(), ['flat', 'linear']);
    const one = await get(`?instance_id=${ids.purge}&scope=database`);
    assert.deepEqual(
      one.items.map((i) => [i.database_name, i.ceiling_source]),
      [['app', 'capacity_limit_bytes']],
    );
    const lim = await get('?limit=2');
    assert.equal(lim.items.length, 2);
    assert.equal(lim.total, 6);
  });

  it('a changed ceiling shows at once; new history starts a new cache entry', async () => {
    const before1 = await get(`?instance_id=${ids.open}`);
    assert.equal(before1.items[0]!.state, 'no_ceiling');
    await ctx.repos.instances.update(ids.open!, { options: JSON.stringify({ capacity_limit_bytes: 200 * GB }) });
    const after1 = await get(`?instance_id=${ids.open}`);
    // (200 − 129) / 1 = 71 days.
    assert.deepEqual([after1.items[0]!.state, after1.items[0]!.days_until_full], ['growing', 71]);
    await ctx.store.db.deleteFrom('instance_size_stats').where('instance_id', '=', ids.open!).where('collected_date', '>', addDays(TODAY, -100)).execute();
    await insertHistory(ctx, ids.open!, [{ db: 'app', date: addDays(TODAY, -150), size: GB }]);
    const after2 = await get(`?instance_id=${ids.open}`);
    assert.equal(after2.items[0]!.latest_date, addDays(TODAY, -100), 'the history changed: fitted again');
  });

  it('the instance page shows the same runway (days, interval, change point) in both languages', async () => {
    const r = await get(`?instance_id=${ids.purge}`);
    const item = r.items[0]!;
    for (const [lang, days, change] of [
      ['en', `${item.days_until_full} days`, `fitted since the change on`],
      ['zh-CN', `${item.days_until_full} 天`, `的变化点起拟合`],
    ] as const) {
      const res = await app.inject({
        method: 'GET',
        url: `/instances/${ids.purge}`,
        headers: { ...viewer.headers(false), cookie: `${viewer.headers(false).cookie}; wf_lang=${lang}` },
      });
      assert.equal(res.statusCode, 200);
      const card = res.body.slice(res.body.indexOf('id="wf-card-forecast"'), res.body.indexOf('id="wf-card-forecast"') + 800);
      assert.ok(card.includes(days), card);
      assert.ok(card.includes(change), card);
    }
  });

  it('CSV, bad input, unknown instance', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/statistics/runway?format=csv&scope=database', headers: viewer.headers(false) });
    assert.equal(res.statusCode, 200);
    assert.match(res.body.split('\n')[0]!, /^\uFEFF?instance_id,instance_name,db_type,database_name,state,days_until_full/);
    const bad = await app.inject({ method: 'GET', url: '/api/statistics/runway?scope=table', headers: viewer.headers(false) });
    assert.equal(bad.statusCode, 400);
    const missing = await app.inject({ method: 'GET', url: '/api/statistics/runway?instance_id=99999', headers: viewer.headers(false) });
    assert.equal(missing.statusCode, 404);
    const anon = await app.inject({ method: 'GET', url: '/api/statistics/runway' });
    assert.equal(anon.statusCode, 401);
  });
});

// The trial's case: an instance over its capacity limit on its first measured day (one point, no slope yet).
forEachStore('runway on the first measured day', (_get, kind) => {
  let ctx: TestContext;
  let app: TestApp;
  let viewer: Caller;
  let full: number;
  let fresh: number;

  before(async () => {
    ctx = await newTestContext(kind, { clock });
    const t = await newTestApp(ctx);
    app = t.app;
    viewer = t.callers.viewer;
    full = await addInstance(ctx, 'over-limit', { options: { capacity_limit_bytes: 40_000_000 } });
    fresh = await addInstance(ctx, 'under-limit', { options: { capacity_limit_bytes: 50_000_000 } });
    await insertHistory(ctx, full, [{ db: 'app', date: TODAY, size: 44_430_083 }]);
    await insertHistory(ctx, fresh, [{ db: 'app', date: TODAY, size: 44_430_083 }]);
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  const json = async (url: string) => {
    const res = await app.inject({ method: 'GET', url, headers: viewer.headers(false) });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data as Record<string, unknown>;
  };

  it('full at once, with the latest size and points_used 1; the forecast and the monthly report say the same', async () => {
    const r = (await json(`/api/statistics/runway?instance_id=${full}`)) as { items: Record<string, unknown>[] };
    const item = r.items[0]!;
    assert.deepEqual(
      [item.state, item.days_until_full, item.full_date, item.latest_date, item.latest_bytes, item.points_used, item.growth_bytes_per_day, item.fit],
      ['full', 0, TODAY, TODAY, 44_430_083, 1, null, null],
    );
    const forecast = await json(`/api/statistics/instances/${full}/forecast`);
    assert.deepEqual([forecast.state, forecast.days_until_full], ['already_full', 0]);
    const db = (await json(`/api/statistics/runway?instance_id=${full}&scope=database`)) as { items: Record<string, unknown>[] };
    assert.deepEqual(
      db.items.map((i) => [i.database_name, i.state, i.ceiling_bytes]),
      [['app', 'full', 44_430_083]],
      'a database on the full disk is full too',
    );
    const report = await ctx.capacityReport.build(ctx.capacityReport.lastMonth());
    assert.deepEqual(
      report.shortest_runways.map((i) => [i.instance_name, i.state, i.days_until_full]),
      [
        ['over-limit', 'full', 0],
        ['under-limit', 'unpredictable', null],
      ],
    );
  });

  it('under its limit: unpredictable (one day gives no slope), but the latest size is there', async () => {
    const item = ((await json(`/api/statistics/runway?instance_id=${fresh}`)) as { items: Record<string, unknown>[] }).items[0]!;
    assert.deepEqual([item.state, item.days_until_full, item.latest_date, item.latest_bytes, item.points_used], ['unpredictable', null, TODAY, 44_430_083, 1]);
  });
});
