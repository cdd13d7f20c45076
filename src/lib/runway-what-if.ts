/**
 * The runway page's what-if (issue 21): the parts of a fit the browser needs,
 * and the days to a ceiling under another growth rate. Pure; runs in the
 * browser (client/runway.page.ts) as well as on the server.
 */
import { addDays } from './clock.js';
import type { RunwayFit } from './runway.js';

/** The parts of a fit the browser's what-if needs (sent with each runway item). */
export interface FitSummary {
  last_date: string;
  level_bytes: number;
  level_low: number;
  level_high: number;
  slope: number;
  slope_low: number;
  slope_high: number;
}

/** Null without a slope to scale: no fit, or a level-only one (a single point). */
export function fitSummary(fit: RunwayFit | null): FitSummary | null {
  if (!fit || fit.points_used < 2) return null;
  return {
    last_date: fit.last_date,
    level_bytes: fit.level,
    level_low: fit.level_low,
    level_high: fit.level_high,
    slope: fit.slope,
    slope_low: fit.slope_low,
    slope_high: fit.slope_high,
  };
}

export interface WhatIf {
  state: 'growing' | 'not_growing' | 'full';
  days_until_full: number | null;
  full_date: string | null;
  low_days: number | null;
  high_days: number | null;
  growth_bytes_per_day: number;
}

/**
 * Hypothetical: the days to `ceiling` from the fitted level if the size grew
 * `monthlyPct` % of it every 30 days instead of the fitted slope. The
 * interval scales the fit's slope bounds by the same factor (none when the
 * fit itself does not grow). Pure, run in the browser (runway page).
 */
export function whatIf(fit: FitSummary, ceiling: number, monthlyPct: number): WhatIf {
  const slope = (fit.level_bytes * monthlyPct) / 100 / 30;
  const none = { days_until_full: null, full_date: null, low_days: null, high_days: null };
  if (fit.level_bytes >= ceiling)
    return { state: 'full', days_until_full: 0, full_date: fit.last_date, low_days: 0, high_days: 0, growth_bytes_per_day: slope };
  if (!(slope > 0)) return { state: 'not_growing', ...none, growth_bytes_per_day: slope };
  const daysAt = (level: number, s: number) => Math.max(0, Math.ceil((ceiling - level) / s - 1e-6));
  const days = daysAt(fit.level_bytes, slope);
  const k = fit.slope > 0 ? slope / fit.slope : null;
  return {
    state: 'growing',
    days_until_full: days,
    full_date: addDays(fit.last_date, days),
    low_days: k === null ? null : Math.min(days, daysAt(fit.level_high, fit.slope_high * k)),
    high_days: k === null || fit.slope_low <= 0 ? null : Math.max(days, daysAt(fit.level_low, fit.slope_low * k)),
    growth_bytes_per_day: slope,
  };
}
