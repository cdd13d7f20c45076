/**
 * Statistics service on both dialects (summary, top growers, new/deleted
 * databases, series, forecasts) and the route plugin on a bare Fastify
 * instance (JSON envelope, CSV, validation). Access rules are checked by
 * buildApp once the plugin is registered there.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '../../src/lib/errors.js';
import { statisticsRoutes } from '../../src/http/api/statistics.routes.js';
import { zonedMidnightUtc } from '../../src/services/statistics.service.js';
import { forEachStore } from '../helpers/context.js';
import { addInstance, days, FixedClock, insertHistory, statisticsOf, type Row } from './fixtures.js';
import { documentOnlyResponses } from '../../src/http/serializer.js';

const clock = new FixedClock(new Date('2024-04-30T12:00:00.000Z'));

function history(): Row[] {
  const rows: Row[] = [];
  days('2024-03-02', 60).forEach((date, i) => {
    rows.push({ db: 'big', date, size: 100_000 + 1000 * i, maxBytes: 200_000 }, { db: 'small', date, size: 500 });
    if (date >= '2024-04-20') rows.push({ db: 'newbie', date, size: 50 });
    if (date < '2024-04-10') rows.push({ db: 'gone', date, size: 700 });
    if (date === '2024-04-10') rows.push({ db: 'gone', date, size: 700, deleted: true });
  });
  return rows;
}

it('zonedMidnightUtc: local midnight as a UTC instant', () => {
  assert.equal(zonedMidnightUtc('2024-04-10', 'UTC').toISOString(), '2024-04-10T00:00:00.000Z');
  assert.equal(zonedMidnightUtc('2024-04-10', 'Asia/Shanghai').toISOString(), '2024-04-09T16:00:00.000Z');
  assert.equal(zonedMidnightUtc('2024-03-31', 'Europe/Berlin').toISOString(), '2024-03-30T23:00:00.000Z'); // DST starts that day
  assert.equal(zonedMidnightUtc('2024-04-01', 'Europe/Berlin').toISOString(), '2024-03-31T22:00:00.000Z');
});

forEachStore('StatisticsService', (get) => {
  let inst: number;
  let idle: number;
  let s: Awaited<ReturnType<typeof statisticsOf>>;
  // Same validation options as buildApp: unknown fields are refused, not stripped.
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  documentOnlyResponses(app);

  before(async () => {
    s = await statisticsOf(get(), clock);
    inst = await addInstance(get(), 'svc', { tags: ['prod', 'core'], options: { capacity_limit_bytes: 1_000_000 } });
    idle = await addInstance(get(), 'idle', { db_type: 'mysql', tags: ['prod'], last_sync_status: 'failed' });
    await insertHistory(get(), inst, history());
    await s.aggregation.aggregate({ from: '2024-03-02', to: '2024-04-30' });
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof AppError)
        return reply.status(err.kind === 'not_found' ? 404 : 400).send({ success: false, error: err.message, error_code: err.code ?? err.kind });
      return reply.status((err as { statusCode?: number }).statusCode ?? 500).send({ success: false, error: (err as Error).message });
    });
    await app.register(statisticsRoutes(s));
    await app.ready();
  });
  after(() => app.close());

  it('estate summary from the latest collection of each instance', async () => {
    const r = await s.statistics.summary();
    assert.equal(r.instances_total, 2);
    assert.equal(r.instances_active, 2);
    assert.equal(r.instances_online, 1);
    assert.equal(r.instances_measured, 1);
    assert.equal(r.total_bytes, 159_000 + 500 + 50);
    assert.equal(r.average_bytes, 159_550);
    assert.equal(r.max_bytes, 159_550);
    assert.deepEqual(r.max_instance, { instance_id: inst, instance_name: 'svc' });
    assert.equal(r.databases_total, 3);
    assert.deepEqual(r.by_db_type, [
      { db_type: 'postgresql', instances: 1, databases: 3, total_bytes: 159_550 },
      { db_type: 'mysql', instances: 1, databases: 0, total_bytes: 0 },
    ]);
    assert.deepEqual(r.by_tag, [
      { tag: 'core', instances: 1, databases: 3, total_bytes: 159_550 },
      { tag: 'prod', instances: 2, databases: 3, total_bytes: 159_550 },
    ]);
    assert.ok(idle > 0);
  });

  it('top growers by bytes and by %, databases and instances', async () => {
    const r = await s.statistics.topGrowers({ scope: 'database', days: 7 });
    assert.deepEqual([r.from, r.to], ['2024-04-23', '2024-04-30']);
    assert.deepEqual(
      r.items.map((x) => [x.database_name, x.first_bytes, x.last_bytes, x.change_bytes]),
      [
        ['big', 152_000, 159_000, 7000],
        ['newbie', 50, 50, 0],
        ['small', 500, 500, 0],
      ],
    );
    const pct = await s.statistics.topGrowers({ scope: 'database', days: 30, by: 'pct', limit: 1 });
    assert.equal(pct.items.length, 1);
    assert.equal(pct.items[0]!.database_name, 'big');
    assert.ok(Math.abs(pct.items[0]!.change_pct! - (30_000 * 100) / 129_000) < 1e-9);
    const inst7 = await s.statistics.topGrowers({ scope: 'instance', days: 7 });
    assert.deepEqual(
      inst7.items.map((x) => [x.instance_name, x.change_bytes]),
      [['svc', 7000]],
    );
    await assert.rejects(s.statistics.topGrowers({ days: 14 }), /days/);
  });

  it('new and deleted databases in a window', async () => {
    const r = await s.statistics.databaseChanges({ from: '2024-04-01', to: '2024-04-30' });
    assert.deepEqual(
      r.new_databases.map((d) => [d.database_name, d.first_seen_date]),
      [['newbie', '2024-04-20']],
    );
    assert.deepEqual(
      r.deleted_databases.map((d) => [d.database_name, d.last_seen_date, d.deleted_at, d.last_size_bytes]),
      [['gone', '2024-04-10', '2024-04-10T03:00:00.000Z', 700]],
    );
    const later = await s.statistics.databaseChanges({ from: '2024-04-11', to: '2024-04-30' });
    assert.equal(later.deleted_databases.length, 0);
  });

  it('series: daily from raw rows, weekly from aggregations', async () => {
    const d = await s.statistics.databaseSeries(inst, 'big', {});
    assert.deepEqual([d.from, d.to, d.points.length], ['2024-04-01', '2024-04-30', 30]);
    assert.deepEqual(d.points.at(-1), {
      period_start: '2024-04-30',
      period_end: '2024-04-30',
      avg_bytes: 159_000,
      max_bytes: 159_000,
      min_bytes: 159_000,
      last_bytes: 159_000,
      days_with_data: 1,
      change_bytes: 1000,
      change_pct: 100_000 / 158_000,
      trend: 'unknown',
    });
    const w = await s.statistics.databaseSeries(inst, 'big', { period: 'weekly', from: '2024-04-15', to: '2024-04-30' });
    assert.deepEqual(
      w.points.map((p) => [p.period_start, p.avg_bytes, p.last_bytes, p.days_with_data, p.change_bytes]),
      [
        ['2024-04-15', 147_000, 150_000, 7, 7000],
        ['2024-04-22', 154_000, 157_000, 7, 7000],
        ['2024-04-29', 158_500, 159_000, 2, 2000],
      ],
    );
    const gone = await s.statistics.databaseSeries(inst, 'gone', { from: '2024-04-08', to: '2024-04-12' });
    assert.deepEqual(
      gone.points.map((p) => p.period_start),
      ['2024-04-08', '2024-04-09'],
    );
    const i = await s.statistics.instanceSeries(inst, { period: 'monthly', from: '2024-04-01', to: '2024-04-30' });
    assert.equal(i.points.length, 1);
    assert.equal(i.points[0]!.last_bytes, 159_550);
    await assert.rejects(s.statistics.databaseSeries(inst, 'nope', {}), /not found/);
    await assert.rejects(s.statistics.instanceSeries(999_999, {}), /not found/);
  });

  it('forecasts: database against max_bytes, instance against capacity_limit_bytes, none without a limit', async () => {
    const d = await s.statistics.databaseForecast(inst, 'big');
    assert.deepEqual(
      [d.state, d.days_until_full, d.full_date, d.limit_bytes, d.limit_source, d.points_used],
      ['ok', 41, '2024-06-10', 200_000, 'max_bytes', 30],
    );
    const small = await s.statistics.databaseForecast(inst, 'small');
    assert.equal(small.state, 'no_limit');
    const i = await s.statistics.instanceForecast(inst);
    assert.equal(i.state, 'ok');
    assert.equal(i.limit_source, 'capacity_limit_bytes');
    assert.ok(i.days_until_full! > 800 && i.days_until_full! < 900, String(i.days_until_full));
    assert.equal((await s.statistics.instanceForecast(idle)).state, 'no_limit');
  });

  it('routes: JSON envelope, CSV stream, validation', async () => {
    const j = await app.inject({
      method: 'GET',
      url: `/api/statistics/instances/${inst}/database-series?database=big&period=weekly&from=2024-04-15&to=2024-04-30`,
    });
    assert.equal(j.statusCode, 200);
    assert.equal(j.json().success, true);
    assert.equal(j.json().data.points.length, 3);
    const c = await app.inject({
      method: 'GET',
      url: `/api/statistics/instances/${inst}/database-series?database=big&period=weekly&from=2024-04-15&to=2024-04-30&format=csv`,
    });
    assert.equal(c.statusCode, 200);
    assert.match(c.headers['content-type'] as string, /^text\/csv/);
    const lines = c.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    assert.equal(lines[0], 'period_start,period_end,avg_bytes,max_bytes,min_bytes,last_bytes,days_with_data,change_bytes,change_pct,trend');
    assert.equal(lines[1], '2024-04-15,2024-04-21,147000,150000,144000,150000,7,7000,4.9,growing'); // percentages rounded to 2 places (4.8951… → 4.9)
    for (const url of [
      '/api/statistics/summary?format=csv',
      '/api/statistics/top-growers?days=7&format=csv',
      '/api/statistics/database-changes?from=2024-04-01&format=csv',
      `/api/statistics/instances/${inst}/forecast?format=csv`,
      `/api/statistics/instances/${inst}/database-forecast?database=big&format=csv`,
      `/api/statistics/instances/${inst}/series?format=csv`,
    ]) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
      assert.match(r.headers['content-type'] as string, /^text\/csv/, url);
    }
    assert.match((await app.inject({ method: 'GET', url: '/api/statistics/top-growers?days=7&format=csv' })).body, /big,152000,159000,7000/);
    assert.equal((await app.inject({ method: 'GET', url: '/api/statistics/summary?bogus=1' })).statusCode, 400);
    assert.equal((await app.inject({ method: 'GET', url: '/api/statistics/top-growers?days=14' })).statusCode, 400);
    assert.equal((await app.inject({ method: 'GET', url: '/api/statistics/instances/999999/series' })).statusCode, 404);
    const agg = await app.inject({ method: 'POST', url: '/api/statistics/aggregate', payload: { period: 'weekly', from: '2024-04-29' } });
    assert.equal(agg.statusCode, 200, agg.body);
    assert.equal(agg.json().data.periods[0].period_start, '2024-04-29');
    assert.equal((await app.inject({ method: 'POST', url: '/api/statistics/aggregate', payload: { period: 'yearly' } })).statusCode, 400);
  });
});
