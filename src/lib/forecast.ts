/**
 * When will it be full: a least-squares line through (day, bytes) and the day
 * it crosses the limit, shown only with its confidence (R²). Pure: no I/O.
 * Day indexes count calendar days from the first point, so missing days
 * leave gaps instead of squeezing the line.
 */
import { addDays } from './clock.js';

export interface SizePoint {
  date: string; // YYYY-MM-DD
  bytes: number;
}

export interface LinearFit {
  slope: number;
  intercept: number;
  r2: number;
}

export type ForecastState = 'ok' | 'not_growing' | 'unpredictable' | 'no_limit' | 'already_full';

export interface Forecast {
  state: ForecastState;
  days_until_full?: number;
  full_date?: string;
  r2: number | null;
  slope_bytes_per_day: number | null;
  points_used: number;
  limit_bytes: number | null;
}

export interface ForecastOptions {
  /** Fewer points than this: unpredictable. */
  minPoints?: number;
  /** R² below this: unpredictable. */
  minR2?: number;
}

const DAY_MS = 86_400_000;

function dayIndex(first: string, d: string): number {
  return Math.round((Date.parse(`${d}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / DAY_MS);
}

/** Ordinary least squares; a series with no variance is fitted perfectly by its flat line (R² = 1). */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit | null {
  const n = xs.length;
  if (n < 2 || ys.length !== n) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return null; // every point on the same day: no line
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2 };
}

/**
 * State precedence: no limit → already full (a fact, whatever the fit) →
 * too few points → not growing → poor fit → ok. "Not growing" comes before
 * the R² test because a flat series has nothing for a line to explain: its
 * R² is noise, and "not growing" is the honest answer.
 */
export function forecast(points: readonly SizePoint[], limitBytes: number | null | undefined, opts: ForecastOptions = {}): Forecast {
  const minPoints = opts.minPoints ?? 7;
  const minR2 = opts.minR2 ?? 0.8;
  const sorted = [...points].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const n = sorted.length;
  const limit = limitBytes !== null && limitBytes !== undefined && limitBytes > 0 ? limitBytes : null;
  const first = sorted[0]?.date;
  const xs = sorted.map((p) => dayIndex(first!, p.date));
  const fit = linearFit(
    xs,
    sorted.map((p) => p.bytes),
  );
  const base = { r2: fit?.r2 ?? null, slope_bytes_per_day: fit?.slope ?? null, points_used: n, limit_bytes: limit };
  if (limit === null) return { state: 'no_limit', ...base };
  const lastPoint = sorted[n - 1];
  if (lastPoint && lastPoint.bytes >= limit) return { state: 'already_full', ...base, days_until_full: 0, full_date: lastPoint.date };
  if (!fit || n < minPoints) return { state: 'unpredictable', ...base };
  const mean = sorted.reduce((a, p) => a + p.bytes, 0) / n;
  // "~0": less than 0.1 % of the mean size a year is no growth worth predicting from.
  if (fit.slope * 365 <= mean * 0.001) return { state: 'not_growing', ...base };
  if (fit.r2 < minR2) return { state: 'unpredictable', ...base };
  const xLast = xs[n - 1]!;
  const xFull = (limit - fit.intercept) / fit.slope;
  // The first whole day at or past the crossing; the epsilon keeps float noise on an exact crossing from adding a day.
  const days = Math.max(0, Math.ceil(xFull - 1e-6) - xLast);
  return { state: 'ok', ...base, days_until_full: days, full_date: addDays(lastPoint!.date, days) };
}
