/**
 * The runway method on fixed series: Theil–Sen against outliers, the change
 * point on a step and on a slope change (and none on a line or on noise),
 * the residual interval, the states and the backtest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addDays } from '../../src/lib/clock.js';
import { BACKTEST_STRIDE } from '../../src/services/runway.service.js';
import { fitSummary } from '../../src/lib/runway-what-if.js';
import { backtestMape, fitRunway, lastChangePoint, median, residualScale, runway, theilSen, type RunwayPoint } from '../../src/lib/runway.js';

const GB = 1024 ** 3;
const START = '2026-01-01';

function series(n: number, f: (i: number) => number, start = START): RunwayPoint[] {
  return Array.from({ length: n }, (_, i) => ({ date: addDays(start, i), bytes: Math.round(f(i)) }));
}

/** Deterministic noise in [-1, 1] (a linear congruential generator). */
function noise(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  };
}

describe('building blocks', () => {
  it('median of odd and even counts', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median(new Float64Array([7])), 7);
  });

  it('Theil–Sen ignores a few outlier days that move least squares', () => {
    const xs = Array.from({ length: 40 }, (_, i) => i);
    const ys = xs.map((x) => 1000 + 10 * x);
    ys[5] = 100_000;
    ys[30] = -50_000;
    const line = theilSen(xs, ys)!;
    assert.ok(Math.abs(line.slope - 10) < 1e-9, `slope ${line.slope}`);
    assert.ok(Math.abs(line.intercept - 1000) < 1e-6);
    // Large series go through the lag pairs: still exact on a line.
    const big = Array.from({ length: 500 }, (_, i) => i);
    const l2 = theilSen(
      big,
      big.map((x) => 7 * x + 3),
    )!;
    assert.ok(Math.abs(l2.slope - 7) < 1e-9 && Math.abs(l2.intercept - 3) < 1e-6);
    assert.equal(theilSen([1], [1]), null);
  });

  it('residual scale is the standard deviation of normal-ish noise, unmoved by one outlier', () => {
    const xs = [0, 1, 2, 3, 4, 5, 6];
    const ys = [0, 1, -1, 1, -1, 1, 1000];
    const s = residualScale(xs, ys, { slope: 0, intercept: 0 });
    assert.equal(s, 1.4826);
  });

  it('change point: a step (purge) and a slope change are found, at the right day', () => {
    const purge = series(120, (i) => (i < 60 ? 100 * GB + i * GB : 40 * GB + (i - 60) * 0.5 * GB));
    const xs = purge.map((_, i) => i);
    assert.equal(
      lastChangePoint(
        xs,
        purge.map((p) => p.bytes),
      ),
      60,
    );
    const bend = series(120, (i) => (i < 80 ? 10 * GB : 10 * GB + (i - 80) * 0.2 * GB));
    const cp = lastChangePoint(
      xs,
      bend.map((p) => p.bytes),
    )!;
    assert.ok(Math.abs(cp - 80) <= 2, `slope change at ${cp}`);
  });

  it('change point: none on a straight line nor on noise around one', () => {
    const xs = Array.from({ length: 180 }, (_, i) => i);
    assert.equal(
      lastChangePoint(
        xs,
        xs.map((x) => 5e11 + x * 1e9),
      ),
      null,
    );
    const r = noise(42);
    assert.equal(
      lastChangePoint(
        xs,
        xs.map((x) => 5e11 + x * 1e9 + r() * 2e9),
      ),
      null,
    );
  });

  it('two steps: the fit starts at the last one', () => {
    const s = series(150, (i) => (i < 50 ? 10 * GB : i < 100 ? 30 * GB + i * 1e7 : 5 * GB + i * 1e7));
    const fit = fitRunway(s)!;
    assert.equal(fit.change_point_date, addDays(START, 100));
    assert.equal(fit.fit_start_date, addDays(START, 100));
  });
});

describe('runway states', () => {
  it('linear growth: days within 5 % of the arithmetic, interval around it', () => {
    const slope = 2 * GB;
    const s = series(120, (i) => 200 * GB + i * slope + noise(7)() * 0); // exact line
    const ceiling = 1000 * GB;
    const r = runway(s, ceiling);
    const expected = (ceiling - (200 * GB + 119 * slope)) / slope; // 281 days
    assert.equal(r.state, 'growing');
    assert.ok(Math.abs(r.days_until_full! - expected) <= 0.05 * expected, `${r.days_until_full} vs ${expected}`);
    assert.equal(r.full_date, addDays(s[119]!.date, r.days_until_full!));
    assert.equal(r.change_point_date, null);
    assert.equal(r.fit_start_date, START);
    assert.ok(r.low_days! <= r.days_until_full! && r.high_days! >= r.days_until_full!);
    assert.ok(Math.abs(r.growth_bytes_per_day! - slope) < 1);
    assert.ok(r.backtest_mape !== null && r.backtest_mape < 0.01, `mape ${r.backtest_mape}`);
  });

  it('linear growth with 1 % noise: still within 5 %, a wider interval', () => {
    const rnd = noise(3);
    const s = series(120, (i) => 200 * GB + i * 2 * GB + rnd() * 2 * GB);
    const r = runway(s, 1000 * GB);
    const expected = (1000 * GB - (200 * GB + 119 * 2 * GB)) / (2 * GB);
    assert.equal(r.state, 'growing');
    assert.ok(Math.abs(r.days_until_full! - expected) <= 0.05 * expected, `${r.days_until_full} vs ${expected}`);
    assert.ok(r.low_days! < r.days_until_full! && r.high_days! > r.days_until_full!);
    assert.ok(r.backtest_mape! < 2, `mape ${r.backtest_mape}`);
  });

  it('flat: not_growing, days null (not 0)', () => {
    const r = runway(
      series(90, () => 50 * GB),
      100 * GB,
    );
    assert.equal(r.state, 'not_growing');
    assert.equal(r.days_until_full, null);
    assert.equal(r.full_date, null);
    assert.equal(r.backtest_mape, 0);
  });

  it('purge on day 60 then growth: fit from the change point, days from the post-purge slope', () => {
    const s = series(120, (i) => (i < 60 ? 300 * GB + i * 3 * GB : 100 * GB + (i - 60) * GB));
    const r = runway(s, 500 * GB);
    assert.equal(r.change_point_date, addDays(START, 60));
    assert.equal(r.fit_start_date, addDays(START, 60));
    const expected = (500 * GB - (100 * GB + 59 * GB)) / GB; // 341 days at 1 GB/day
    assert.equal(r.state, 'growing');
    assert.ok(Math.abs(r.days_until_full! - expected) <= 0.05 * expected, `${r.days_until_full} vs ${expected}`);
    // A plain line over the whole window would say the database shrinks.
    assert.ok(r.growth_bytes_per_day! > 0);
  });

  it('noisy: unpredictable, with the backtest saying how wrong a forecast would have been', () => {
    const rnd = noise(11);
    const s = series(120, (i) => 100 * GB + i * 0.1 * GB + rnd() * 30 * GB);
    const r = runway(s, 500 * GB);
    assert.equal(r.state, 'unpredictable');
    assert.equal(r.days_until_full, null);
    assert.ok(r.backtest_mape! > 5, `mape ${r.backtest_mape}`);
  });

  it('shrinking, no_ceiling, full, too few points', () => {
    assert.equal(
      runway(
        series(60, (i) => 100 * GB - i * GB),
        200 * GB,
      ).state,
      'shrinking',
    );
    const growing = series(60, (i) => 100 * GB + i * GB);
    assert.equal(runway(growing, null).state, 'no_ceiling');
    assert.equal(runway(growing, null).days_until_full, null);
    const full = runway(growing, 150 * GB);
    assert.equal(full.state, 'full');
    assert.equal(full.days_until_full, 0);
    assert.equal(
      runway(
        series(3, (i) => i * GB),
        100 * GB,
      ).state,
      'unpredictable',
    );
    assert.equal(runway([], 100 * GB).state, 'unpredictable');
  });

  it('one measured day: full when over the ceiling (latest and points_used from it), else unpredictable with the latest known', () => {
    const one = [{ date: START, bytes: 44_430_083 }];
    const full = runway(one, 40_000_000);
    assert.equal(full.state, 'full');
    assert.equal(full.days_until_full, 0);
    assert.equal(full.full_date, START);
    assert.deepEqual([full.latest_date, full.latest_bytes, full.points_used], [START, 44_430_083, 1]);
    assert.equal(full.growth_bytes_per_day, null, 'no slope from one day');
    const below = runway(one, 50_000_000);
    assert.equal(below.state, 'unpredictable');
    assert.equal(below.days_until_full, null);
    assert.deepEqual([below.latest_date, below.latest_bytes, below.points_used, below.growth_bytes_per_day], [START, 44_430_083, 1, null]);
    assert.equal(fitRunway(one)!.level, 44_430_083);
    assert.equal(fitSummary(fitRunway(one)), null, 'no what-if without a slope');
    assert.equal(fitRunway([]), null);
  });

  it('missing days leave gaps in calendar time', () => {
    const s = series(60, (i) => 10 * GB + i * GB).filter((_, i) => i % 3 !== 1);
    const r = runway(s, 100 * GB);
    assert.ok(Math.abs(r.growth_bytes_per_day! - GB) < 1);
  });

  it('backtest replays the last 90 days 30 ahead; stride thins the replay', () => {
    const s = series(200, (i) => 10 * GB + i * GB);
    assert.ok(backtestMape(s)! < 1e-6);
    assert.ok(backtestMape(s, { backtestStride: 7 })! < 1e-6);
    assert.equal(backtestMape(series(20, (i) => i)), null);
  });

  it('backtest from every day: one bad measured day 30 days after a replay point weighs 1/61', () => {
    // 200 days, last index 199: replay points 109..169 (61 of them), each checked against the size 30 days later.
    // Day 140 measured 10 % low; Theil–Sen ignores it in the fits, so only the replay at day 110 misses, by 10/0.9 %.
    const s = series(200, (i) => 10 * GB + i * GB);
    s[140] = { ...s[140]!, bytes: Math.round(s[140]!.bytes * 0.9) };
    const every = backtestMape(s)!;
    assert.ok(Math.abs(every - 100 / 0.9 / 10 / 61) < 0.01, `mape ${every}`);
    // Every 7th day from 109 (109, 116, …) never looks at day 140: the thinned replay cannot see it.
    assert.ok(backtestMape(s, { backtestStride: 7 })! < 0.01);
    assert.equal(BACKTEST_STRIDE, 1);
  });
});
