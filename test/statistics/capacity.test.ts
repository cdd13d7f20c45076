/**
 * The capacity statistics view behind /capacity/instances and
 * /capacity/databases, on both dialects: filters, last-N periods, cards,
 * totals and their change, TOP N, and the CSV of what the page shows.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '../../src/lib/errors.js';
import { statisticsRoutes } from '../../src/http/api/statistics.routes.js';
import { forEachStore } from '../helpers/context.js';
import { addInstance, days, FixedClock, insertHistory, statisticsOf, type Row } from './fixtures.js';
import { documentOnlyResponses } from '../../src/http/serializer.js';

const clock = new FixedClock(new Date('2024-04-30T12:00:00.000Z'));

forEachStore('capacity view', (get) => {
  let pg: number;
  let my: number;
  let s: Awaited<ReturnType<typeof statisticsOf>>;
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  documentOnlyResponses(app);

  before(async () => {
    s = await statisticsOf(get(), clock);
    pg = await addInstance(get(), 'pg-main');
    my = await addInstance(get(), 'my-small', { db_type: 'mysql' });
    const a: Row[] = [];
    const b: Row[] = [];
    days('2024-04-01', 30).forEach((date, i) => {
      a.push({ db: 'orders', date, size: 1000 + 100 * i }, { db: 'users', date, size: 400 });
      if (i % 2 === 0) b.push({ db: 'orders_archive', date, size: 300 }); // every other day: gaps are not zeros
    });
    await insertHistory(get(), pg, a);
    await insertHistory(get(), my, b);
    await s.aggregation.aggregate({ from: '2024-04-01', to: '2024-04-30' });
    app.setErrorHandler((err, _req, reply) =>
      reply
        .status(err instanceof AppError ? 400 : ((err as { statusCode?: number }).statusCode ?? 500))
        .send({ success: false, error: (err as Error).message }),
    );
    await app.register(statisticsRoutes(s));
  });

  it('instances, daily, last 7 days: periods, cards, total and its change, TOP N by latest size', async () => {
    const r = await s.statistics.capacity({ scope: 'instance', period: 'daily', last: 7 });
    assert.equal(r.from, '2024-04-24');
    assert.equal(r.to, '2024-04-30');
    assert.equal(r.periods.length, 7);
    // 04-30 (index 29): pg = 1000+2900+400 = 4300; my has data on even indexes only (29 is odd).
    assert.deepEqual(r.cards, {
      latest_period: '2024-04-30',
      items_online: 1,
      items_total: 2,
      total_bytes: 4300,
      average_bytes: 4300,
      max_bytes: 4300,
      max_item: { instance_id: pg, instance_name: 'pg-main', database_name: '' },
    });
    const last = r.total[r.total.length - 1]!;
    const before = r.total[r.total.length - 2]!;
    assert.equal(before.period_start, '2024-04-29');
    assert.equal(before.size_bytes, 4200 + 300);
    assert.equal(last.change_bytes, 4300 - 4500);
    assert.deepEqual(
      r.items.map((i) => i.instance_name),
      ['pg-main', 'my-small'],
    );
    const pgPoints = r.items[0]!.points;
    assert.equal(pgPoints.length, 7);
    assert.equal(pgPoints[0]!.change_bytes, null); // first point in range
    assert.equal(pgPoints[1]!.change_bytes, 100);
    assert.equal(pgPoints[1]!.change_pct!.toFixed(4), ((100 * 100) / 3700).toFixed(4));
  });

  it('filters: db type, instance, part of a database name; TOP 5', async () => {
    const byType = await s.statistics.capacity({ scope: 'instance', dbType: 'mysql', last: 7 });
    assert.deepEqual(
      byType.items.map((i) => i.instance_id),
      [my],
    );
    const dbs = await s.statistics.capacity({ scope: 'database', instanceId: pg, last: 7, top: 5 });
    assert.deepEqual(
      dbs.items.map((i) => i.database_name),
      ['orders', 'users'],
    );
    assert.equal(dbs.cards.items_online, 2);
    const named = await s.statistics.capacity({ scope: 'database', database: 'ORDERS', last: 7 });
    assert.deepEqual(
      named.items.map((i) => `${i.instance_name}/${i.database_name}`),
      ['pg-main/orders', 'my-small/orders_archive'],
    );
    const none = await s.statistics.capacity({ scope: 'database', database: '%', last: 7 });
    assert.equal(none.items.length, 0, '% is a literal, not a wildcard');
    assert.equal(none.cards.items_online, 0);
    assert.equal(none.cards.average_bytes, null);
  });

  it('weekly from the aggregations, stored change', async () => {
    const r = await s.statistics.capacity({ scope: 'instance', period: 'weekly', from: '2024-04-01', to: '2024-04-30' });
    assert.deepEqual(
      r.periods.map((p) => p.period_start),
      ['2024-04-01', '2024-04-08', '2024-04-15', '2024-04-22', '2024-04-29'],
    );
    const pgItem = r.items.find((i) => i.instance_id === pg)!;
    // Week of 04-08: days index 7..13 → orders avg 1000+100*10 = 2000, users 400.
    assert.equal(pgItem.points[1]!.size_bytes, 2400);
    assert.equal(pgItem.points[1]!.change_bytes, 700);
  });

  it('validation: top, last, range', async () => {
    await assert.rejects(s.statistics.capacity({ top: 7 }), /top/);
    await assert.rejects(s.statistics.capacity({ last: 8 }), /last/);
    await assert.rejects(s.statistics.capacity({ from: '2024-05-01', to: '2024-04-01' }), /from/);
  });

  it('route: JSON envelope, CSV of the total and the TOP N points, 400 on a bad value', async () => {
    const j = await app.inject({ url: '/api/statistics/capacity?scope=database&last=7&top=5&instance_id=' + pg });
    assert.equal(j.statusCode, 200);
    assert.equal(j.json().data.items.length, 2);
    const c = await app.inject({ url: '/api/statistics/capacity?scope=database&last=7&top=5&instance_id=' + pg + '&format=csv' });
    assert.equal(c.statusCode, 200);
    assert.match(c.headers['content-disposition'] as string, /capacity-database-daily\.csv/);
    const lines = c.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    assert.equal(lines[0], 'series,instance_id,instance_name,db_type,database_name,period_start,period_end,size_bytes,change_bytes,change_pct');
    assert.equal(lines.filter((l) => l.startsWith('total,')).length, 7);
    assert.equal(lines.filter((l) => l.startsWith(`top,${pg},pg-main,postgresql,orders,`)).length, 7);
    assert.ok(lines.includes(`top,${pg},pg-main,postgresql,orders,2024-04-30,2024-04-30,3900,100,2.63`), 'change_pct rounded to 2 places (issue #18)');
    const bad = await app.inject({ url: '/api/statistics/capacity?top=3' });
    assert.equal(bad.statusCode, 400);
  });
});
