/**
 * Aggregation on known synthetic histories, both store dialects: steady
 * growth, shrink, gaps (a missing day is not a zero), a database deleted and
 * restored mid-period, week (Sun→Mon) and quarter (31 Mar→1 Apr) boundaries,
 * the trend band, idempotence and the incremental daily run.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { periodOf, periodsBetween } from '../../src/services/aggregation.service.js';
import type { AggregationRow } from '../../src/store/statistics.repository.js';
import { forEachStore } from '../helpers/context.js';
import { addInstance, days, FixedClock, insertHistory, statisticsOf, type Row } from './fixtures.js';

describe('period boundaries follow the date strings', () => {
  const cases: Array<[string, string, string, string, string, string, string]> = [
    // date, week start, week end, month start, month end, quarter start, quarter end
    ['2024-03-31', '2024-03-25', '2024-03-31', '2024-03-01', '2024-03-31', '2024-01-01', '2024-03-31'],
    ['2024-04-01', '2024-04-01', '2024-04-07', '2024-04-01', '2024-04-30', '2024-04-01', '2024-06-30'],
    ['2024-02-29', '2024-02-26', '2024-03-03', '2024-02-01', '2024-02-29', '2024-01-01', '2024-03-31'],
    ['2024-12-31', '2024-12-30', '2025-01-05', '2024-12-01', '2024-12-31', '2024-10-01', '2024-12-31'],
  ];
  for (const tz of ['UTC', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Shanghai']) {
    it(`same periods with the process in ${tz}`, () => {
      const saved = process.env.TZ;
      process.env.TZ = tz;
      try {
        for (const [d, ws, we, ms, me, qs, qe] of cases) {
          assert.deepEqual(periodOf('daily', d), { start: d, end: d });
          assert.deepEqual(periodOf('weekly', d), { start: ws, end: we }, `week of ${d}`);
          assert.deepEqual(periodOf('monthly', d), { start: ms, end: me }, `month of ${d}`);
          assert.deepEqual(periodOf('quarterly', d), { start: qs, end: qe }, `quarter of ${d}`);
        }
      } finally {
        if (saved === undefined) delete process.env.TZ;
        else process.env.TZ = saved;
      }
    });
  }
  it('periodsBetween covers the range contiguously', () => {
    assert.deepEqual(
      periodsBetween('weekly', '2024-03-31', '2024-04-08').map((p) => p.start),
      ['2024-03-25', '2024-04-01', '2024-04-08'],
    );
    assert.deepEqual(
      periodsBetween('quarterly', '2024-03-31', '2024-04-01').map((p) => `${p.start}..${p.end}`),
      ['2024-01-01..2024-03-31', '2024-04-01..2024-06-30'],
    );
  });
});

/** Week 1 = Mon 2024-03-25 … Sun 2024-03-31 (last days of Q1), week 2 = 2024-04-01 … 2024-04-07 (Q2). */
function history(): Row[] {
  const two = days('2024-03-25', 14);
  const rows: Row[] = [];
  two.forEach((d, i) => rows.push({ db: 'grow', date: d, size: 1000 + 100 * i }, { db: 'shrink', date: d, size: 5000 - 50 * i }));
  // Gaps: 3 days in week 1, 2 in week 2.
  rows.push(
    { db: 'gappy', date: '2024-03-25', size: 100 },
    { db: 'gappy', date: '2024-03-27', size: 200 },
    { db: 'gappy', date: '2024-03-31', size: 600 },
    { db: 'gappy', date: '2024-04-01', size: 600 },
    { db: 'gappy', date: '2024-04-07', size: 606 },
  );
  // Deleted on the 27th (rows kept, marked deleted, with the last size), not collected the 29th, restored the 30th.
  rows.push(
    { db: 'phoenix', date: '2024-03-25', size: 1000 },
    { db: 'phoenix', date: '2024-03-26', size: 1100 },
    { db: 'phoenix', date: '2024-03-27', size: 1100, deleted: true },
    { db: 'phoenix', date: '2024-03-28', size: 1100, deleted: true },
    { db: 'phoenix', date: '2024-03-30', size: 400 },
    { db: 'phoenix', date: '2024-03-31', size: 500 },
  );
  return rows;
}

type Picked = Pick<
  AggregationRow,
  'period_start' | 'period_end' | 'avg_bytes' | 'min_bytes' | 'max_bytes' | 'last_bytes' | 'days_with_data' | 'change_bytes' | 'trend'
>;
const pick = (r: AggregationRow): Picked => ({
  period_start: r.period_start,
  period_end: r.period_end,
  avg_bytes: r.avg_bytes,
  min_bytes: r.min_bytes,
  max_bytes: r.max_bytes,
  last_bytes: r.last_bytes,
  days_with_data: r.days_with_data,
  change_bytes: r.change_bytes,
  trend: r.trend,
});

forEachStore('AggregationService', (get) => {
  let inst: number;
  let svc: Awaited<ReturnType<typeof statisticsOf>>;
  const clock = new FixedClock(new Date('2024-04-08T04:00:00.000Z'));

  const rowsOf = async (scope: 'instance' | 'database', name: string, period: string) =>
    await get()
      .store.db.selectFrom('aggregations')
      .selectAll()
      .where('scope', '=', scope)
      .where('instance_id', '=', inst)
      .where('database_name', '=', name)
      .where('period', '=', period as AggregationRow['period'])
      .orderBy('period_start')
      .execute();

  before(async () => {
    svc = await statisticsOf(get(), clock);
    inst = await addInstance(get(), 'agg');
    await insertHistory(get(), inst, history());
  });

  it('first daily run aggregates everything there is', async () => {
    const summary = await svc.aggregation.runDaily(clock.now());
    assert.match(summary, /aggregated 2024-03-25\.\.2024-04-07: daily 14, weekly 2, monthly 2, quarterly 2 period\(s\)/);
  });

  it('steady growth, weekly, across the Sunday→Monday boundary', async () => {
    const w = (await rowsOf('database', 'grow', 'weekly')).map(pick);
    assert.deepEqual(w, [
      {
        period_start: '2024-03-25',
        period_end: '2024-03-31',
        avg_bytes: 1300,
        min_bytes: 1000,
        max_bytes: 1600,
        last_bytes: 1600,
        days_with_data: 7,
        change_bytes: null,
        trend: 'unknown',
      },
      {
        period_start: '2024-04-01',
        period_end: '2024-04-07',
        avg_bytes: 2000,
        min_bytes: 1700,
        max_bytes: 2300,
        last_bytes: 2300,
        days_with_data: 7,
        change_bytes: 700,
        trend: 'growing',
      },
    ]);
    assert.equal((await rowsOf('database', 'grow', 'weekly'))[1]!.change_pct, 43.75);
  });

  it('quarter boundary: 31 March is Q1, 1 April is Q2', async () => {
    const q = (await rowsOf('database', 'grow', 'quarterly')).map(pick);
    assert.deepEqual(
      q.map((r) => [r.period_start, r.period_end, r.avg_bytes, r.last_bytes, r.days_with_data, r.change_bytes]),
      [
        ['2024-01-01', '2024-03-31', 1300, 1600, 7, null],
        ['2024-04-01', '2024-06-30', 2000, 2300, 7, 700],
      ],
    );
    const m = (await rowsOf('database', 'grow', 'monthly')).map((r) => [r.period_start, r.period_end, r.avg_bytes]);
    assert.deepEqual(m, [
      ['2024-03-01', '2024-03-31', 1300],
      ['2024-04-01', '2024-04-30', 2000],
    ]);
  });

  it('shrink', async () => {
    const w = await rowsOf('database', 'shrink', 'weekly');
    assert.deepEqual(
      w.map((r) => [r.avg_bytes, r.last_bytes, r.change_bytes, r.trend]),
      [
        [4850, 4700, null, 'unknown'],
        [4500, 4350, -350, 'shrinking'],
      ],
    );
    assert.ok(Math.abs(w[1]!.change_pct! - (-350 * 100) / 4700) < 1e-9);
  });

  it('gaps: a missing day is not a zero; +1.0 % is inside the ±1 % band', async () => {
    const w = await rowsOf('database', 'gappy', 'weekly');
    assert.deepEqual(w.map(pick), [
      {
        period_start: '2024-03-25',
        period_end: '2024-03-31',
        avg_bytes: 300,
        min_bytes: 100,
        max_bytes: 600,
        last_bytes: 600,
        days_with_data: 3,
        change_bytes: null,
        trend: 'unknown',
      },
      {
        period_start: '2024-04-01',
        period_end: '2024-04-07',
        avg_bytes: 603,
        min_bytes: 600,
        max_bytes: 606,
        last_bytes: 606,
        days_with_data: 2,
        change_bytes: 6,
        trend: 'stable',
      },
    ]);
    assert.equal(w[1]!.change_pct, 1);
    const d = await rowsOf('database', 'gappy', 'daily');
    assert.deepEqual(
      d.map((r) => [r.period_start, r.change_bytes]),
      [
        ['2024-03-25', null],
        ['2024-03-27', 100], // against the 25th: the 26th has no data, it is not a zero
        ['2024-03-31', 400],
        ['2024-04-01', 0],
        ['2024-04-07', 6],
      ],
    );
  });

  it('deleted and restored mid-period: only days present count', async () => {
    const w = await rowsOf('database', 'phoenix', 'weekly');
    assert.deepEqual(w.map(pick), [
      {
        period_start: '2024-03-25',
        period_end: '2024-03-31',
        avg_bytes: 750,
        min_bytes: 400,
        max_bytes: 1100,
        last_bytes: 500,
        days_with_data: 4,
        change_bytes: null,
        trend: 'unknown',
      },
    ]);
    const d = await rowsOf('database', 'phoenix', 'daily');
    assert.deepEqual(
      d.map((r) => r.period_start),
      ['2024-03-25', '2024-03-26', '2024-03-30', '2024-03-31'],
    );
  });

  it('instance scope: the daily totals of the databases present', async () => {
    const w = await rowsOf('instance', '', 'weekly');
    assert.deepEqual(w.map(pick), [
      {
        period_start: '2024-03-25',
        period_end: '2024-03-31',
        avg_bytes: 6707,
        min_bytes: 6150,
        max_bytes: 7400,
        last_bytes: 7400,
        days_with_data: 7,
        change_bytes: null,
        trend: 'unknown',
      },
      {
        period_start: '2024-04-01',
        period_end: '2024-04-07',
        avg_bytes: 6672,
        min_bytes: 6400,
        max_bytes: 7256,
        last_bytes: 7256,
        days_with_data: 7,
        change_bytes: -144,
        trend: 'shrinking',
      },
    ]);
  });

  it('idempotent: running again changes nothing', async () => {
    const all = async () =>
      (await get().store.db.selectFrom('aggregations').selectAll().orderBy('id').execute()).map((r) => {
        const { id: _id, computed_at: _c, ...rest } = r;
        return rest;
      });
    const before1 = await all();
    const r = await svc.aggregation.aggregate({ from: '2024-03-25', to: '2024-04-07' });
    assert.equal(r.periods.find((p) => p.period === 'weekly')!.database_rows, 7);
    const after1 = await all();
    const key = (x: (typeof before1)[number]) => `${x.scope}|${x.database_name}|${x.period}|${x.period_start}`;
    assert.deepEqual(
      [...after1].sort((a, b) => key(a).localeCompare(key(b))),
      [...before1].sort((a, b) => key(a).localeCompare(key(b))),
    );
  });

  it('a wider band makes the same change stable', async () => {
    const wide = await statisticsOf(get(), clock, 50);
    await wide.aggregation.aggregate({ period: 'weekly', from: '2024-03-25', to: '2024-04-07' });
    assert.equal((await rowsOf('database', 'grow', 'weekly'))[1]!.trend, 'stable');
    await svc.aggregation.aggregate({ period: 'weekly', from: '2024-03-25', to: '2024-04-07' });
    assert.equal((await rowsOf('database', 'grow', 'weekly'))[1]!.trend, 'growing');
  });

  it('incremental: the next run touches only the periods of the new day', async () => {
    await insertHistory(get(), inst, [{ db: 'grow', date: '2024-04-08', size: 2400 }], '2024-04-09T03:00:00.000Z');
    clock.at = new Date('2024-04-09T04:00:00.000Z');
    const summary = await svc.aggregation.runDaily(clock.now());
    assert.match(summary, /aggregated 2024-04-08\.\.2024-04-08: daily 1, weekly 1, monthly 1, quarterly 1 period\(s\)/);
    const w = await rowsOf('database', 'grow', 'weekly');
    assert.deepEqual(
      w.map((r) => [r.period_start, r.avg_bytes, r.change_bytes, r.trend]),
      [
        ['2024-03-25', 1300, null, 'unknown'],
        ['2024-04-01', 2000, 700, 'growing'],
        ['2024-04-08', 2400, 100, 'growing'],
      ],
    );
    const q2 = (await rowsOf('database', 'grow', 'quarterly'))[1]!;
    assert.deepEqual([q2.avg_bytes, q2.last_bytes, q2.days_with_data, q2.change_bytes], [2050, 2400, 8, 800]);
    // The shrink database got no new row: its week 2 aggregate is untouched and week 3 does not exist.
    assert.equal((await rowsOf('database', 'shrink', 'weekly')).length, 2);
    // Rows written within the safety margin before the last run are looked at again (idempotent), then no more.
    clock.at = new Date('2024-04-10T04:00:00.000Z');
    assert.match(await svc.aggregation.runDaily(clock.now()), /aggregated 2024-04-08\.\.2024-04-08/);
    clock.at = new Date('2024-04-11T04:00:00.000Z');
    assert.match(await svc.aggregation.runDaily(clock.now()), /^nothing to aggregate/);
  });

  it('refuses bad input', async () => {
    await assert.rejects(svc.aggregation.aggregate({ from: '2024-02-30' }), /from/);
    await assert.rejects(svc.aggregation.aggregate({ from: '2024-04-02', to: '2024-04-01' }), /from must not be after to/);
  });
});
