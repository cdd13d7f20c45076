/** Forecast: least squares, the full day of a linear series, R² falling with noise, flat series, states. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forecast, linearFit, type SizePoint } from '../../src/lib/forecast.js';
import { days } from '../statistics/fixtures.js';

const series = (start: string, values: number[]): SizePoint[] => days(start, values.length).map((date, i) => ({ date, bytes: values[i]! }));

describe('forecast', () => {
  it('linearFit: exact line, R² = 1', () => {
    const f = linearFit([0, 1, 2, 3], [10, 12, 14, 16])!;
    assert.deepEqual([f.slope, f.intercept, f.r2], [2, 10, 1]);
  });

  it('linear growth predicts the right day', () => {
    // 1000 + 100/day from 2024-01-01: reaches 5000 at day 40 = 2024-02-10; the last point is day 9.
    const f = forecast(
      series(
        '2024-01-01',
        Array.from({ length: 10 }, (_, i) => 1000 + 100 * i),
      ),
      5000,
    );
    assert.equal(f.state, 'ok');
    assert.equal(f.days_until_full, 31);
    assert.equal(f.full_date, '2024-02-10');
    assert.equal(f.r2, 1);
    assert.equal(f.slope_bytes_per_day, 100);
    assert.equal(f.points_used, 10);
  });

  it('gaps keep calendar spacing', () => {
    const pts = [0, 2, 5, 6, 9, 12, 13].map((d) => ({ date: days('2024-01-01', 14)[d]!, bytes: 1000 + 100 * d }));
    const f = forecast(pts, 5000);
    assert.equal(f.state, 'ok');
    assert.equal(f.full_date, '2024-02-10');
    assert.equal(f.days_until_full, 27);
  });

  it('noise lowers R² to unpredictable', () => {
    const noise = [0, 900, -800, 700, -900, 800, -700, 900, -800, 600, -900, 800, -600, 700];
    const f = forecast(
      series(
        '2024-01-01',
        noise.map((n, i) => 10_000 + 20 * i + n),
      ),
      1_000_000,
    );
    assert.ok(f.slope_bytes_per_day! > 0);
    assert.ok(f.r2! < 0.8, `r2 ${f.r2}`);
    assert.equal(f.state, 'unpredictable');
    assert.equal(f.days_until_full, undefined);
    // The same growth without the noise is predictable.
    assert.equal(
      forecast(
        series(
          '2024-01-01',
          noise.map((_, i) => 10_000 + 20 * i),
        ),
        1_000_000,
      ).state,
      'ok',
    );
  });

  it('flat series says not growing; shrinking too', () => {
    assert.equal(forecast(series('2024-01-01', Array(10).fill(5000)), 10_000).state, 'not_growing');
    assert.equal(
      forecast(
        series(
          '2024-01-01',
          Array.from({ length: 10 }, (_, i) => 5000 - 10 * i),
        ),
        10_000,
      ).state,
      'not_growing',
    );
    const flatNoisy = forecast(series('2024-01-01', [5000, 5001, 4999, 5000, 5002, 4998, 5000, 5001, 4999, 5000]), 10_000);
    assert.equal(flatNoisy.state, 'not_growing');
  });

  it('too few points, no limit, already full', () => {
    assert.equal(forecast(series('2024-01-01', [1, 2, 3, 4, 5, 6]), 100).state, 'unpredictable');
    assert.equal(forecast(series('2024-01-01', [1, 2, 3, 4, 5, 6]), 100, { minPoints: 3 }).state, 'ok');
    const nl = forecast(series('2024-01-01', [1, 2, 3, 4, 5, 6, 7]), null);
    assert.equal(nl.state, 'no_limit');
    assert.equal(nl.slope_bytes_per_day, 1);
    const full = forecast(series('2024-01-01', [90, 95, 100]), 100);
    assert.deepEqual([full.state, full.days_until_full, full.full_date], ['already_full', 0, '2024-01-03']);
    assert.equal(forecast([], 100).state, 'unpredictable');
  });
});
