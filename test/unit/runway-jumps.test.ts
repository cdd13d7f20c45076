/**
 * Why it jumped and the what-if, on fixed series: the unusual days
 * (lib/runway.ts `unusualDays`), the attribution of a jump to names
 * (services/runway-jumps.ts `contributors`) and the browser's what-if
 * (`whatIf`), all pure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addDays } from '../../src/lib/clock.js';
import { fitRunway, runway, unusualDays, type RunwayPoint } from '../../src/lib/runway.js';
import { fitSummary, whatIf } from '../../src/lib/runway-what-if.js';
import { contributors } from '../../src/services/runway-jumps.js';

const GB = 1024 ** 3;
const START = '2026-01-01';
const series = (n: number, f: (i: number) => number): RunwayPoint[] =>
  Array.from({ length: n }, (_, i) => ({ date: addDays(START, i), bytes: Math.round(f(i)) }));

describe('unusual days', () => {
  it('a steady line has none; a one-day bulk load inside the window is found with its expected change', () => {
    assert.deepEqual(
      unusualDays(
        series(60, (i) => 100 * GB + i * GB),
        fitRunway(series(60, (i) => 100 * GB + i * GB)),
      ),
      [],
    );
    // +1 GB a day, and on day 50 a 20 GB load that stays (a step too small/late to be a change point with 10 days after it).
    const s = series(60, (i) => 100 * GB + i * GB + (i >= 50 ? 20 * GB : 0));
    const fit = fitRunway(s);
    const days = unusualDays(s, fit);
    assert.ok(days.length >= 1, JSON.stringify(days));
    assert.equal(days[0]!.date, addDays(START, 50));
    assert.equal(days[0]!.previous_date, addDays(START, 49));
    assert.equal(days[0]!.change_bytes, 21 * GB);
    assert.ok(Math.abs(days[0]!.expected_bytes - fit!.slope) < 1);
  });

  it('a purge: the step into the fit window (the change point day) is the jump; older days of the other regime are not listed', () => {
    const s = series(120, (i) => (i < 60 ? 300 * GB + i * 3 * GB : 100 * GB + (i - 60) * GB));
    const fit = fitRunway(s)!;
    assert.equal(fit.change_point_date, addDays(START, 60));
    const days = unusualDays(s, fit);
    assert.deepEqual(
      days.map((d) => [d.date, d.change_bytes]),
      [[addDays(START, 60), 100 * GB - (300 * GB + 59 * 3 * GB)]],
    );
  });

  it('noise within the interval is not a jump; a 10σ day is', () => {
    let seed = 3;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const s = series(90, (i) => 500 * GB + i * GB + rnd() * 0.5 * GB);
    const fit = fitRunway(s)!;
    assert.deepEqual(unusualDays(s, fit), []);
    s[80] = { ...s[80]!, bytes: s[80]!.bytes + 10 * GB };
    const fit2 = fitRunway(s)!;
    // Day 80 jumps up, day 81 comes back down: both beyond the interval.
    assert.deepEqual(
      unusualDays(s, fit2).map((d) => d.date),
      [addDays(START, 81), addDays(START, 80)],
    );
  });

  it('no fit, no days', () => {
    assert.deepEqual(unusualDays([], null), []);
  });
});

describe('attribution', () => {
  const m = (o: Record<string, number>) => new Map(Object.entries(o));

  it('names the largest changes with the jump’s sign until 80 % is covered', () => {
    const c = contributors(m({ app: 100, logs: 50, misc: 10, tiny: 1 }), m({ app: 180, logs: 60, misc: 5, tiny: 2 }), 86);
    // app +80 (93 %) covers 80 % alone.
    assert.deepEqual(c, [{ name: 'app', change_bytes: 80, share: 0.93 }]);
    const c2 = contributors(m({ a: 0, b: 0, c: 0 }), m({ a: 40, b: 35, c: 25 }), 100);
    assert.deepEqual(
      c2.map((x) => [x.name, x.change_bytes, x.share]),
      [
        ['a', 40, 0.4],
        ['b', 35, 0.35],
        ['c', 25, 0.25],
      ],
    );
  });

  it('a created or dropped name counts its whole size; a shrink is attributed to what shrank', () => {
    assert.deepEqual(contributors(m({ a: 10 }), m({ a: 10, bulk: 500 }), 500), [{ name: 'bulk', change_bytes: 500, share: 1 }]);
    assert.deepEqual(contributors(m({ a: 10, old: 300 }), m({ a: 12 }), -298), [{ name: 'old', change_bytes: -300, share: 1.007 }]);
    assert.deepEqual(contributors(m({ a: 1 }), m({ a: 1 }), 0), []);
  });

  it('at most five names', () => {
    const before = m(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, 0])));
    const after = m(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, 10])));
    assert.equal(contributors(before, after, 100).length, 5);
  });
});

describe('what-if (the runway page, in the browser)', () => {
  const s = series(120, (i) => 200 * GB + i * 2 * GB);
  const fit = fitSummary(fitRunway(s))!;

  it('the fitted growth as a monthly % gives back the fit’s own days', () => {
    const real = runway(s, 1000 * GB);
    const pct = ((fit.slope * 30) / fit.level_bytes) * 100;
    const w = whatIf(fit, 1000 * GB, pct);
    assert.equal(w.state, 'growing');
    assert.equal(w.days_until_full, real.days_until_full);
    assert.equal(w.full_date, real.full_date);
  });

  it('another ceiling and another growth: the arithmetic', () => {
    // Level 438 GB; 10 %/month = 1.46 GB/day; (2000 − 438) / 1.46 = 1069.9 → 1070 days.
    const w = whatIf(fit, 2000 * GB, 10);
    assert.equal(w.days_until_full, Math.ceil((2000 * GB - fit.level_bytes) / ((fit.level_bytes * 0.1) / 30) - 1e-6));
    assert.ok(Math.abs(w.days_until_full! - 1070) <= 1);
    assert.ok(w.low_days! <= w.days_until_full! && w.high_days! >= w.days_until_full!);
    assert.deepEqual([whatIf(fit, 2000 * GB, 0).state, whatIf(fit, 2000 * GB, 0).days_until_full], ['not_growing', null]);
    assert.deepEqual([whatIf(fit, 100 * GB, 5).state, whatIf(fit, 100 * GB, 5).days_until_full], ['full', 0]);
  });
});
