/**
 * Period aggregation (daily, weekly Mon–Sun, monthly, quarterly) per instance
 * and per database, on demand and from the daily 04:00 job.
 *
 * Dates are the local calendar dates the ledger stores ('YYYY-MM-DD' in
 * WHALEFALL_TZ); period arithmetic treats them as plain calendar dates (UTC
 * midnight only as a vehicle), so boundaries follow the date strings whatever
 * the process time zone.
 */
import { addDays, isIsoDate, localDate, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { AggregateCounts, AggregationRepository, PeriodBounds } from '../store/aggregation.repository.js';
import type { AggregationPeriod } from '../store/statistics.repository.js';
import { fail } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

export const PERIODS: readonly AggregationPeriod[] = ['daily', 'weekly', 'monthly', 'quarterly'];

/**
 * Rows are stamped with the collection's start time, which can precede the
 * commit by the length of a sync; looking back this far past the last run
 * keeps a sync that straddled it from being missed (recomputing is idempotent).
 */
const WATERMARK_MARGIN_MS = 6 * 3600_000;

const MAX_RANGE_DAYS = 3660;

function parts(d: string): [number, number, number] {
  return [Number(d.slice(0, 4)), Number(d.slice(5, 7)), Number(d.slice(8, 10))];
}

function ymd(y: number, m: number, day: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** The period of `kind` containing the calendar date `d`. */
export function periodOf(kind: AggregationPeriod, d: string): PeriodBounds {
  const [y, m] = parts(d);
  switch (kind) {
    case 'daily':
      return { start: d, end: d };
    case 'weekly': {
      const dow = new Date(`${d}T00:00:00Z`).getUTCDay(); // 0 = Sunday
      const start = addDays(d, -((dow + 6) % 7));
      return { start, end: addDays(start, 6) };
    }
    case 'monthly': {
      const start = ymd(y, m, 1);
      return { start, end: addDays(m === 12 ? ymd(y + 1, 1, 1) : ymd(y, m + 1, 1), -1) };
    }
    case 'quarterly': {
      const qm = Math.floor((m - 1) / 3) * 3 + 1;
      return { start: ymd(y, qm, 1), end: addDays(qm === 10 ? ymd(y + 1, 1, 1) : ymd(y, qm + 3, 1), -1) };
    }
  }
}

/** Every period of `kind` overlapping [from, to], in order. */
export function periodsBetween(kind: AggregationPeriod, from: string, to: string): PeriodBounds[] {
  const out: PeriodBounds[] = [];
  for (let p = periodOf(kind, from); p.start <= to; p = periodOf(kind, addDays(p.end, 1))) out.push(p);
  return out;
}

export interface AggregateRequest {
  period?: AggregationPeriod;
  from?: string;
  to?: string;
}

export interface AggregateResult {
  from: string;
  to: string;
  computed_at: string;
  periods: Array<{ period: AggregationPeriod; period_start: string; period_end: string; periods: number } & AggregateCounts>;
}

export class AggregationService {
  constructor(
    private readonly repo: AggregationRepository,
    private readonly clock: Clock,
    private readonly timeZone: string,
    private readonly logger: Logger,
    /** |change %| within this band is "stable". */
    private readonly trendBandPct = 1,
  ) {
    if (!(trendBandPct >= 0)) throw new RangeError(`trend band must be a non-negative percentage, got ${trendBandPct}`);
  }

  /** Recompute the periods (one kind, or all) overlapping [from, to]; default: the periods containing today. */
  async aggregate(req: AggregateRequest = {}): Promise<AggregateResult> {
    const today = localDate(this.clock.now(), this.timeZone);
    const to = req.to ?? req.from ?? today;
    const from = req.from ?? to;
    if (!isIsoDate(from)) fail('from', msg('api.v.bad_date', { value: from }));
    if (!isIsoDate(to)) fail('to', msg('api.v.bad_date', { value: to }));
    if (from > to) fail('from', msg('api.v.from_after_to'));
    if (addDays(from, MAX_RANGE_DAYS) < to) fail('from', msg('api.v.range_too_long', { days: MAX_RANGE_DAYS }));
    if (req.period !== undefined && !PERIODS.includes(req.period))
      fail('period', msg('api.v.one_of', { values: PERIODS.join(' | '), list: PERIODS.join(', ') }));
    const kinds = req.period ? [req.period] : PERIODS;
    const computedAt = this.clock.now().toISOString();
    const result: AggregateResult = { from, to, computed_at: computedAt, periods: [] };
    for (const kind of kinds) result.periods.push(await this.aggregateKind(kind, from, to, computedAt));
    return result;
  }

  /**
   * Recompute every period of `kind` overlapping [from, to] (valid dates), stamped `computedAt`: the same
   * arguments write the same rows, so a queued period job run twice changes nothing.
   */
  async aggregateKind(kind: AggregationPeriod, from: string, to: string, computedAt: string): Promise<AggregateResult['periods'][number]> {
    const periods = periodsBetween(kind, from, to);
    const last = periods[periods.length - 1]!;
    // The period after the range: its change is against a period just recomputed.
    const changeUntil = periodOf(kind, addDays(last.end, 1)).start;
    const counts = await this.repo.aggregate(kind, periods, changeUntil, computedAt, this.trendBandPct);
    return { period: kind, period_start: periods[0]!.start, period_end: last.end, periods: periods.length, ...counts };
  }

  /**
   * The days the daily job must aggregate: those whose rows changed since the last run (all data on the
   * first run); `changed` null when nothing changed since `since`. Read once per run, before any period
   * kind writes (each write moves the watermark).
   */
  async dailyWindow(): Promise<{ changed: { from: string; to: string } | null; since: string | null }> {
    const last = await this.repo.lastComputedAt();
    const since = last === null ? null : new Date(new Date(last).getTime() - WATERMARK_MARGIN_MS).toISOString();
    return { changed: await this.repo.changedDays(since), since };
  }

  /**
   * The daily job: aggregate every period containing a day whose rows changed
   * since the last run (all data on the first run). Returns a one-line summary
   * for the scheduler's run record.
   */
  async runDaily(scheduledFor: Date): Promise<string> {
    const { changed, since } = await this.dailyWindow();
    if (!changed) return `nothing to aggregate (no rows changed since ${since ?? 'the beginning'})`;
    const r = await this.aggregate({ from: changed.from, to: changed.to });
    const rows = r.periods.reduce((n, p) => n + p.instance_rows + p.database_rows, 0);
    const summary = `aggregated ${changed.from}..${changed.to}: ${r.periods.map((p) => `${p.period} ${p.periods}`).join(', ')} period(s), ${rows} row(s)`;
    this.logger.info({ scheduled_for: scheduledFor.toISOString(), ...changed, rows }, 'daily aggregation done');
    return summary;
  }
}
