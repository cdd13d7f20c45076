/**
 * The display formatters shared by the views, the browser modules and the CLI (src/client/shared/format.ts,
 * src/lib/sizes.ts): dates in the locale's form and the configured time zone, signed changes, durations at
 * their unit boundaries, and the binary size axis of the charts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binaryAxis, formatBytes, trimZeros } from '../../src/lib/sizes.js';
import {
  formatBytesChange,
  formatDate,
  formatDateTime,
  formatDuration,
  formatMb,
  formatPct,
  formatters,
  formatTimeZone,
} from '../../src/client/shared/format.js';

const MiB = 1024 ** 2;

describe('dates and times', () => {
  it('zh-CN is YYYY-MM-DD HH:mm in the configured zone; English is the locale’s own order', () => {
    const iso = '2026-12-03T00:14:00Z';
    assert.equal(formatDateTime(iso, 'zh-CN', 'Asia/Shanghai'), '2026-12-03 08:14');
    assert.equal(formatDateTime(iso, 'zh-CN', 'America/Los_Angeles'), '2026-12-02 16:14');
    assert.equal(formatDateTime(iso, 'en', 'Asia/Shanghai'), 'Dec 3, 2026, 08:14');
  });

  it('missing is a dash, an unreadable timestamp is shown as it came', () => {
    assert.equal(formatDateTime(null, 'en', 'UTC'), '—');
    assert.equal(formatDateTime('', 'zh-CN', 'UTC'), '—');
    assert.equal(formatDateTime('yesterday', 'en', 'UTC'), 'yesterday');
  });

  it('a local date is not shifted by a zone: shown as is in zh-CN, month-day-year in English', () => {
    assert.equal(formatDate('2026-01-01', 'zh-CN'), '2026-01-01');
    assert.equal(formatDate('2026-01-01', 'en'), 'Jan 1, 2026');
    assert.equal(formatDate(undefined, 'en'), '—');
  });

  it('the zone names its offset at the given moment (daylight saving included)', () => {
    assert.equal(formatTimeZone('Asia/Shanghai', new Date('2026-07-01T00:00:00Z')), 'Asia/Shanghai (UTC+08:00)');
    assert.equal(formatTimeZone('UTC', new Date('2026-07-01T00:00:00Z')), 'UTC (UTC+00:00)');
    assert.equal(formatTimeZone('America/New_York', new Date('2026-01-15T12:00:00Z')), 'America/New_York (UTC-05:00)');
    assert.equal(formatTimeZone('America/New_York', new Date('2026-07-15T12:00:00Z')), 'America/New_York (UTC-04:00)');
  });

  it('a chart day label formats a date and leaves a week or a month as it is', () => {
    const en = formatters('en', 'UTC');
    assert.equal(en.day('2026-03-09'), 'Mar 9, 2026');
    assert.equal(en.day('2026-W10'), '2026-W10');
    assert.equal(en.day('2026-03'), '2026-03');
  });
});

describe('numbers', () => {
  it('a change carries its sign; zero has none; unknown is a dash', () => {
    assert.equal(formatBytesChange(1.5 * MiB), '+1.50 MB');
    assert.equal(formatBytesChange(-2 * 1024 ** 3), '-2.00 GB');
    assert.equal(formatBytesChange(0), '0 B');
    assert.equal(formatBytesChange(null), '—');
  });

  it('growth without a baseline says so in the page’s language, never "0 B"', () => {
    assert.equal(formatters('en', 'UTC').growth(null), 'no baseline yet');
    assert.equal(formatters('zh-CN', 'UTC').growth(undefined), '暂无基线');
    assert.equal(formatters('en', 'UTC').growth(0), '0 B');
  });

  it('a session ended with records skipped says so, so the counts add up; a running one does not count the rest as skipped', () => {
    const s = { status: 'completed', successful_instances: 1, failed_instances: 0, total_instances: 2 };
    assert.equal(formatters('zh-CN', 'UTC').sessionCounts(s), '成功 1 · 失败 0 · 跳过 1 · 共 2');
    assert.equal(formatters('en', 'UTC').sessionCounts(s), '1 succeeded · 0 failed · 1 skipped · 2 total');
    assert.equal(formatters('en', 'UTC').sessionCounts({ ...s, status: 'running' }), '1 succeeded · 0 failed · 2 total');
    assert.equal(formatters('zh-CN', 'UTC').sessionCounts({ ...s, successful_instances: 2 }), '成功 2 · 失败 0 · 共 2');
  });

  it('MB with two decimals and the locale’s grouping; percentages signed with up to two decimals', () => {
    assert.equal(formatMb(1234.5 * MiB, 'en'), '1,234.50 MB');
    assert.equal(formatMb(null, 'en'), '—');
    assert.equal(formatPct(2.5, 'en'), '+2.5%');
    assert.equal(formatPct(-0.125, 'en'), '-0.13%');
    assert.equal(formatPct(0, 'en'), '0%');
  });

  it('bytes step up by 1024 and stop at PB', () => {
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.00 KB');
    assert.equal(formatBytes(1536), '1.50 KB');
    assert.equal(formatBytes(5 * 1024 ** 6), '5120.00 PB');
    assert.equal(formatBytes(undefined), '—');
  });
});

describe('durations', () => {
  const cases: [number, string][] = [
    [0, '0 ms'],
    [850, '850 ms'],
    [999.4, '999 ms'],
    [999.6, '1.0 s'], // not "1000 ms"
    [12_345, '12.3 s'],
    [59_940, '59.9 s'],
    [59_960, '1 min 00 s'], // not "60.0 s"
    [245_000, '4 min 05 s'],
    [3_599_000, '59 min 59 s'],
    [3_599_600, '1 h 00 min'],
    [3_720_000, '1 h 02 min'],
  ];
  for (const [ms, want] of cases) it(`${ms} ms → ${want}`, () => assert.equal(formatDuration(ms), want));
  it('unknown is a dash', () => assert.equal(formatDuration(null), '—'));
});

describe('binary size axis', () => {
  it('round binary steps: 25 MB of data gets 0, 5 MB … 25 MB', () => {
    assert.deepEqual(binaryAxis(0, 25_000_000), { min: 0, max: 25 * MiB, interval: 5 * MiB });
  });

  it('keeps 0 in range and covers a shrink below it', () => {
    const a = binaryAxis(-3 * MiB, 10 * MiB);
    assert.ok(a.min <= -3 * MiB && a.min < 0, `min ${a.min}`);
    assert.ok(a.max >= 10 * MiB);
    assert.ok(Number.isInteger(a.min / a.interval), `min ${a.min} on a tick`);
    assert.ok((a.max - a.min) / a.interval <= 5);
    const positive = binaryAxis(700 * MiB, 800 * MiB);
    assert.equal(positive.min, 0);
  });

  it('at most `ticks` intervals, each a whole number of bytes, on any range', () => {
    for (const hi of [1, 7, 1000, 1025, 3 * MiB + 1, 9.5 * 1024 ** 3, 2 ** 52]) {
      for (const ticks of [3, 5, 8]) {
        const a = binaryAxis(0, hi, ticks);
        assert.ok(Number.isInteger(a.interval) && a.interval >= 1, `${hi}/${ticks}: interval ${a.interval}`);
        assert.ok(a.max >= hi, `${hi}/${ticks}: max ${a.max}`);
        assert.ok((a.max - a.min) / a.interval <= ticks, `${hi}/${ticks}: ${(a.max - a.min) / a.interval} intervals`);
      }
    }
  });

  it('an empty range still has one step', () => {
    const a = binaryAxis(0, 0);
    assert.equal(a.min, 0);
    assert.ok(a.max > 0 && a.interval > 0);
  });

  it('axis labels lose the padding zeros only', () => {
    assert.equal(trimZeros('5.00 MB'), '5 MB');
    assert.equal(trimZeros('1.50 MB'), '1.5 MB');
    assert.equal(trimZeros('1.25 GB'), '1.25 GB');
    assert.equal(trimZeros('100 B'), '100 B');
    assert.equal(trimZeros('10.00'), '10');
  });
});
