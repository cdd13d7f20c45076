/**
 * Runway: how many days until a size series reaches its ceiling, computed so
 * that it survives a purge, a bulk load and noisy days. Pure: no I/O.
 *
 * The method, in order (each step is exported and unit-tested on fixed series):
 * 1. **Change point** (`lastChangePoint`): binary segmentation with a
 *    piecewise-linear model. For a segment, every split leaving at least
 *    `minSegment` points on each side is tried; the split's two least-squares
 *    lines (each with its own level and slope, so both a step and a slope
 *    change are found) are compared with one line over the segment by the
 *    likelihood ratio n·ln(SSE₁/SSE₂) against a BIC-style penalty of
 *    `penalty`·ln n (3 extra parameters: level, slope, location). Sums of
 *    squares come from prefix sums, so one search is O(n). The search repeats
 *    on the part after an accepted split; the last accepted split is the
 *    change point and the fit starts there.
 * 2. **Robust fit** (`theilSen`): the median of pairwise slopes (all pairs up
 *    to 64 points; beyond that the pairs at 7 lags between a quarter and
 *    three quarters of the span, which keeps the estimate robust and the cost
 *    linear), intercept the median of y − slope·x. A few outlier days move
 *    neither.
 * 3. **Interval** (`residualScale`, `runway`): σ = 1.4826 × the median absolute
 *    residual (a robust standard deviation). The slope's and the fitted
 *    level's standard errors follow the least-squares formulas with that σ;
 *    `low_days`/`high_days` are the days to the ceiling with the slope at its
 *    90 % bounds and the level at the opposite bound (null high: the slow
 *    bound does not grow).
 * 4. **Backtest** (`backtestMape`): from each past day of the last 90 with 30
 *    days of future in the series (`stride` days apart), the same method on
 *    the history up to that day forecasts 30 days ahead; the mean absolute
 *    percentage error against the measured size is the accuracy.
 *
 * Days count calendar days (missing days leave gaps, not a squeezed line).
 */
import { addDays } from './clock.js';

export interface RunwayPoint {
  date: string; // YYYY-MM-DD
  bytes: number;
}

export type RunwayState = 'growing' | 'not_growing' | 'shrinking' | 'unpredictable' | 'no_ceiling' | 'full';

export interface RunwayOptions {
  /** Fewer points than this in the fit window: unpredictable (default 7). */
  minPoints?: number;
  /** Fewest points on each side of a change point (default 10). */
  minSegment?: number;
  /** Change-point penalty multiplier of ln n (default 4; 3 would be plain BIC). */
  penalty?: number;
  /** Robust residual scatter above this fraction of the size: unpredictable (default 0.05). */
  maxNoise?: number;
  /** Growth below this fraction of the mean size per year: not growing (default 0.001). */
  minYearlyGrowth?: number;
  /** Backtest: days replayed, horizon, days between replay points (defaults 90, 30, 1). */
  backtestDays?: number;
  backtestHorizon?: number;
  backtestStride?: number;
}

export interface Line {
  slope: number;
  intercept: number;
}

export interface RunwayFit extends Line {
  /** Day index (from the series' first date) of the first point of the fit window. */
  startIndex: number;
  fit_start_date: string;
  change_point_date: string | null;
  /** Robust residual standard deviation, bytes. */
  sigma: number;
  /** Fitted size at the last date. */
  level: number;
  /** 90 % bounds of the slope and of the fitted level at the last date. */
  slope_low: number;
  slope_high: number;
  level_low: number;
  level_high: number;
  points_used: number;
  last_date: string;
  last_bytes: number;
  mean_bytes: number;
}

export interface Runway {
  state: RunwayState;
  days_until_full: number | null;
  full_date: string | null;
  low_days: number | null;
  high_days: number | null;
  growth_bytes_per_day: number | null;
  ceiling_bytes: number | null;
  fit_start_date: string | null;
  change_point_date: string | null;
  backtest_mape: number | null;
  latest_date: string | null;
  latest_bytes: number | null;
  points_used: number;
}

const DAY_MS = 86_400_000;
const Z90 = 1.645;
const Z999 = 3.29;

export function dayIndex(first: string, d: string): number {
  return Math.round((Date.parse(`${d}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / DAY_MS);
}

/** The k-th smallest of the first `n` values of `a` (reordered in place; quickselect). */
function kth(a: Float64Array | number[], n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Median of the first `n` values of a scratch array (reordered in place; quickselect, O(n)). */
export function median(a: Float64Array | number[], n = a.length): number {
  if (n === 0) return NaN;
  if (n % 2 === 1) return kth(a, n, n >> 1);
  const upper = kth(a, n, n >> 1);
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}

const EXACT_PAIRS_UP_TO = 64;
const LAGS = 7;
/** Scratch buffers reused across calls (single-threaded; nothing awaits in between). */
let scratch = new Float64Array(4096);
function buffer(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Theil–Sen line through (xs, ys) over [from, to). Null with fewer than 2 distinct x. */
export function theilSen(xs: ArrayLike<number>, ys: ArrayLike<number>, from = 0, to = xs.length): Line | null {
  const n = to - from;
  if (n < 2) return null;
  // Plain loops, no closures or arrays per call: the backtest runs this 61 times a series.
  const sampled = n > EXACT_PAIRS_UP_TO;
  const slopes = buffer(sampled ? LAGS * n : (n * (n - 1)) / 2);
  let count = 0;
  if (!sampled) {
    for (let i = from; i < to; i++) {
      for (let j = i + 1; j < to; j++) {
        const dx = xs[j]! - xs[i]!;
        if (dx !== 0) slopes[count++] = (ys[j]! - ys[i]!) / dx;
      }
    }
  } else {
    let previous = 0;
    for (let k = 0; k < LAGS; k++) {
      const lag = Math.round(n * (0.25 + (0.5 * k) / (LAGS - 1)));
      // Lags grow with k, so a repeat can only be the one just used.
      if (lag < 1 || lag === previous) continue;
      previous = lag;
      for (let i = from; i + lag < to; i++) {
        const dx = xs[i + lag]! - xs[i]!;
        if (dx !== 0) slopes[count++] = (ys[i + lag]! - ys[i]!) / dx;
      }
    }
  }
  if (!count) return null;
  const slope = median(slopes, count);
  const rest = buffer(n);
  for (let i = from; i < to; i++) rest[i - from] = ys[i]! - slope * xs[i]!;
  return { slope, intercept: median(rest, n) };
}

/** 1.4826 × median |residual|: the standard deviation of normal noise, unmoved by a few outliers. */
export function residualScale(xs: ArrayLike<number>, ys: ArrayLike<number>, line: Line, from = 0, to = xs.length): number {
  const n = to - from;
  if (n <= 0) return 0;
  const r = buffer(n);
  for (let i = from; i < to; i++) r[i - from] = Math.abs(ys[i]! - (line.intercept + line.slope * xs[i]!));
  return 1.4826 * median(r, n);
}

/** Prefix sums for O(1) least-squares SSE of any [i, j); the arrays are reused across calls (no garbage per fit). */
export class Prefix {
  private static pool: Float64Array[] = [];
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly xx: Float64Array;
  readonly xy: Float64Array;
  readonly yy: Float64Array;
  constructor(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number) {
    if (!Prefix.pool.length || Prefix.pool[0]!.length < n + 1) Prefix.pool = Array.from({ length: 5 }, () => new Float64Array(Math.max(n + 1, 1024)));
    [this.x, this.y, this.xx, this.xy, this.yy] = Prefix.pool as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    // Centre on the first point so the sums of squares keep their precision on terabyte sizes.
    const y0 = n ? ys[0]! : 0;
    const x0 = n ? xs[0]! : 0;
    this.x[0] = this.y[0] = this.xx[0] = this.xy[0] = this.yy[0] = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i]! - x0;
      const y = ys[i]! - y0;
      this.x[i + 1] = this.x[i]! + x;
      this.y[i + 1] = this.y[i]! + y;
      this.xx[i + 1] = this.xx[i]! + x * x;
      this.xy[i + 1] = this.xy[i]! + x * y;
      this.yy[i + 1] = this.yy[i]! + y * y;
    }
  }
  sse(i: number, j: number): number {
    const n = j - i;
    const sx = this.x[j]! - this.x[i]!;
    const sy = this.y[j]! - this.y[i]!;
    const sxx = this.xx[j]! - this.xx[i]! - (sx * sx) / n;
    const sxy = this.xy[j]! - this.xy[i]! - (sx * sy) / n;
    const syy = this.yy[j]! - this.yy[i]! - (sy * sy) / n;
    const r = sxx > 0 ? syy - (sxy * sxy) / sxx : syy;
    return r > 0 ? r : 0;
  }
}

/**
 * Index of the last change point in [0, n) (the first point of the last
 * regime), or null when one line explains the series. See the file comment.
 */
export function lastChangePoint(xs: ArrayLike<number>, ys: ArrayLike<number>, opts: RunwayOptions = {}, n = xs.length, prefix?: Prefix): number | null {
  const minSeg = Math.max(3, opts.minSegment ?? 10);
  const penalty = opts.penalty ?? 4;
  if (n < 2 * minSeg) return null;
  // Prefix sums over a longer series serve any shorter head of it (the backtest builds them once).
  const p = prefix ?? new Prefix(xs, ys, n);
  let meanAbs = 0;
  for (let i = 0; i < n; i++) meanAbs += Math.abs(ys[i]!);
  meanAbs /= n;
  // A variance floor (1 byte, or a millionth of the size): exact lines must not "improve" by float noise.
  const floor = Math.max(1, (meanAbs * 1e-6) ** 2);
  let start = 0;
  let found: number | null = null;
  for (;;) {
    const m = n - start;
    if (m < 2 * minSeg) break;
    const whole = p.sse(start, n) + m * floor;
    let best = Infinity;
    let at = -1;
    for (let k = start + minSeg; k <= n - minSeg; k++) {
      const s = p.sse(start, k) + p.sse(k, n);
      if (s < best) {
        best = s;
        at = k;
      }
    }
    const gain = m * Math.log(whole / (best + m * floor));
    if (at < 0 || gain <= penalty * Math.log(m)) break;
    found = at;
    start = at;
  }
  return found;
}

/** A series as day indexes and sizes, converted once (Date parsing dominates otherwise). */
interface Prepared {
  points: readonly RunwayPoint[];
  xs: Float64Array;
  ys: Float64Array;
}

function prepare(points: readonly RunwayPoint[]): Prepared {
  const n = points.length;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  if (n) {
    const t0 = Date.parse(`${points[0]!.date}T00:00:00Z`);
    for (let i = 0; i < n; i++) {
      xs[i] = Math.round((Date.parse(`${points[i]!.date}T00:00:00Z`) - t0) / DAY_MS);
      ys[i] = points[i]!.bytes;
    }
  }
  return { points, xs, ys };
}

/**
 * The fit of the latest regime of a series (sorted by date, one point a day at most), or null without points.
 * A single point gives a level-only fit: its size as the level, slope 0 with an unbounded interval, points_used 1
 * (the latest size is known, so a series already over its ceiling is full on its first day).
 */
export function fitRunway(points: readonly RunwayPoint[], opts: RunwayOptions = {}): RunwayFit | null {
  return fitPrepared(prepare(points), points.length, opts);
}

/** The latest regime's line over the first `n` points: where it starts (the last change point, or 0) and its Theil–Sen line. */
function regimeLine(p: Prepared, n: number, opts: RunwayOptions, prefix?: Prefix): { cp: number | null; line: Line } | null {
  if (n < 1) return null;
  if (n === 1) return { cp: null, line: { slope: 0, intercept: p.ys[0]! } };
  const cp = lastChangePoint(p.xs, p.ys, opts, n, prefix);
  const line = theilSen(p.xs, p.ys, cp ?? 0, n);
  return line ? { cp, line } : null;
}

/** The fit over the first `n` points of a prepared series. */
function fitPrepared(p: Prepared, n: number, opts: RunwayOptions, prefix?: Prefix): RunwayFit | null {
  const r = regimeLine(p, n, opts, prefix);
  if (!r) return null;
  const { xs, ys, points } = p;
  const { cp, line } = r;
  const from = cp ?? 0;
  const m = n - from;
  const sigma = residualScale(xs, ys, line, from, n);
  let mx = 0;
  let mean = 0;
  for (let i = from; i < n; i++) {
    mx += xs[i]!;
    mean += ys[i]!;
  }
  mx /= m;
  mean /= m;
  let sxx = 0;
  for (let i = from; i < n; i++) sxx += (xs[i]! - mx) ** 2;
  const xLast = xs[n - 1]!;
  const seSlope = sxx > 0 ? sigma / Math.sqrt(sxx) : Infinity;
  const seLevel = sxx > 0 ? sigma * Math.sqrt(1 / m + (xLast - mx) ** 2 / sxx) : sigma;
  const level = line.intercept + line.slope * xLast;
  return {
    ...line,
    startIndex: xs[from]!,
    fit_start_date: points[from]!.date,
    change_point_date: cp === null ? null : points[cp]!.date,
    sigma,
    level,
    slope_low: line.slope - Z90 * seSlope,
    slope_high: line.slope + Z90 * seSlope,
    level_low: level - Z90 * seLevel,
    level_high: level + Z90 * seLevel,
    points_used: m,
    last_date: points[n - 1]!.date,
    last_bytes: points[n - 1]!.bytes,
    mean_bytes: mean,
  };
}

/** State and days of a fit against a ceiling; precedence documented in docs/api.md (runway). */
export function judge(fit: RunwayFit | null, ceiling: number | null, opts: RunwayOptions = {}): Omit<Runway, 'backtest_mape' | 'ceiling_bytes'> {
  const minPoints = opts.minPoints ?? 7;
  const maxNoise = opts.maxNoise ?? 0.05;
  const minYearly = opts.minYearlyGrowth ?? 0.001;
  const none = { days_until_full: null, full_date: null, low_days: null, high_days: null };
  if (!fit)
    return {
      state: 'unpredictable',
      ...none,
      growth_bytes_per_day: null,
      fit_start_date: null,
      change_point_date: null,
      latest_date: null,
      latest_bytes: null,
      points_used: 0,
    };
  const base = {
    // A level-only fit (one point) has no slope to report.
    growth_bytes_per_day: fit.points_used > 1 ? fit.slope : null,
    fit_start_date: fit.fit_start_date,
    change_point_date: fit.change_point_date,
    latest_date: fit.last_date,
    latest_bytes: fit.last_bytes,
    points_used: fit.points_used,
  };
  if (ceiling !== null && fit.last_bytes >= ceiling) return { state: 'full', ...base, days_until_full: 0, full_date: fit.last_date, low_days: 0, high_days: 0 };
  if (fit.points_used < minPoints) return { state: 'unpredictable', ...none, ...base };
  if (fit.sigma > maxNoise * Math.abs(fit.mean_bytes)) return { state: 'unpredictable', ...none, ...base };
  const tiny = Math.abs(fit.slope) * 365 <= minYearly * Math.abs(fit.mean_bytes);
  // The 90 % slope interval straddling zero is "no measurable trend": not growing, whatever the point estimate.
  if (tiny || (fit.slope_low <= 0 && fit.slope_high >= 0)) return { state: 'not_growing', ...none, ...base };
  if (fit.slope < 0) return { state: 'shrinking', ...none, ...base };
  if (ceiling === null) return { state: 'no_ceiling', ...none, ...base };
  const daysAt = (level: number, slope: number) => Math.max(0, Math.ceil((ceiling - level) / slope - 1e-6));
  const days = daysAt(fit.level, fit.slope);
  return {
    state: 'growing',
    ...base,
    days_until_full: days,
    full_date: addDays(fit.last_date, days),
    low_days: Math.min(days, daysAt(fit.level_high, fit.slope_high)),
    high_days: fit.slope_low > 0 ? Math.max(days, daysAt(fit.level_low, fit.slope_low)) : null,
  };
}

/**
 * Mean absolute percentage error of 30-day forecasts replayed from the last
 * 90 days (see the file comment); null when no replay point has a measured
 * day 30 days later or a usable fit.
 */
export function backtestMape(points: readonly RunwayPoint[], opts: RunwayOptions = {}): number | null {
  return backtestPrepared(prepare(points), opts);
}

function backtestPrepared(p: Prepared, opts: RunwayOptions): number | null {
  const { xs, ys } = p;
  const n = xs.length;
  if (n < 2) return null;
  const days = opts.backtestDays ?? 90;
  const horizon = opts.backtestHorizon ?? 30;
  const stride = Math.max(1, opts.backtestStride ?? 1);
  const last = xs[n - 1]!;
  // One set of prefix sums for every replay (each replays a head of the series).
  const prefix = n >= 2 * Math.max(3, opts.minSegment ?? 10) ? new Prefix(xs, ys, n) : undefined;
  let sum = 0;
  let count = 0;
  let end = 0;
  let ahead = 0; // index of the measured day `horizon` after the replay point, when there is one
  for (let d = last - days; d <= last - horizon; d += stride) {
    while (end < n && xs[end]! <= d) end++;
    if (end < 2) continue;
    while (ahead < n && xs[ahead]! < d + horizon) ahead++;
    if (ahead >= n || xs[ahead] !== d + horizon) continue;
    const actual = ys[ahead]!;
    if (actual <= 0) continue;
    // Only the line is needed: the fitted level at the replay point, carried `horizon` days on.
    const fit = regimeLine(p, end, opts, prefix);
    if (!fit) continue;
    const { slope, intercept } = fit.line;
    const predicted = intercept + slope * (d + horizon);
    sum += Math.abs(predicted - actual) / actual;
    count++;
  }
  return count ? (sum * 100) / count : null;
}

/** The fit and the backtest of one series, its dates parsed once. */
export function fitAndBacktest(points: readonly RunwayPoint[], opts: RunwayOptions = {}): { fit: RunwayFit | null; backtest_mape: number | null } {
  const p = prepare(points);
  return { fit: fitPrepared(p, points.length, opts), backtest_mape: backtestPrepared(p, opts) };
}

/** Fit, judge and backtest one series (sorted by date). */
export function runway(points: readonly RunwayPoint[], ceiling: number | null, opts: RunwayOptions = {}): Runway {
  const c = ceiling !== null && ceiling > 0 ? ceiling : null;
  const p = prepare(points);
  const fit = fitPrepared(p, points.length, opts);
  return { ...judge(fit, c, opts), ceiling_bytes: c, backtest_mape: backtestPrepared(p, opts) };
}

/** A day whose growth from the measured day before it lies outside what the fit expects. */
export interface UnusualDay {
  date: string;
  previous_date: string;
  /** Measured change from `previous_date` to `date`. */
  change_bytes: number;
  /** What the fit's slope expects over those days. */
  expected_bytes: number;
}

/**
 * The days since the fit's start (and the step into it, at the change point)
 * whose measured change lies beyond the fit's 99.9 % interval for a
 * day-to-day change: |change − slope·gap| > 3.29·√2·σ (the difference of two
 * days each with the residual scatter σ; 99.9 % rather than the forecast's
 * 90 % so that ordinary noise flags a day about every three years, not every
 * ten days), with a floor of 0.1 % of the size so an exact line does not flag
 * rounding. Most recent first, at most `max`.
 */
export function unusualDays(points: readonly RunwayPoint[], fit: RunwayFit | null, max = 3): UnusualDay[] {
  if (!fit || points.length < 2) return [];
  let from = points.findIndex((p) => p.date >= fit.fit_start_date);
  if (from < 0) return [];
  if (from === 0) from = 1;
  const out: UnusualDay[] = [];
  for (let i = points.length - 1; i >= from && out.length < max; i--) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const expected = fit.slope * dayIndex(a.date, b.date);
    const change = b.bytes - a.bytes;
    const tolerance = Math.max(Z999 * Math.SQRT2 * fit.sigma, 0.001 * Math.abs(b.bytes));
    if (Math.abs(change - expected) > tolerance) out.push({ date: b.date, previous_date: a.date, change_bytes: change, expected_bytes: Math.round(expected) });
  }
  return out;
}
