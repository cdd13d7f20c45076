/**
 * Read side of the statistics feature: estate summary, top growers, new and
 * deleted databases, per-instance and per-database series for any period,
 * and forecasts. Every view returns plain rows the API can send as JSON or
 * stream as CSV.
 */
import { duplicateCopies } from './replica-copies.js';
import { countedAs, countedPerPeriod, sameServerCopies, sameServerOrder } from './same-server.js';
import type { AggregationRow } from '../store/schema.js';
import { addDays, isIsoDate, localDate, type Clock } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import { forecast, type ForecastOptions, type SizePoint } from '../lib/forecast.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { AggregationPeriod, CapacityFilter, CapacityRow, StatisticsRepository } from '../store/statistics.repository.js';
import { PERIODS, periodOf, periodsBetween } from './aggregation.service.js';
import { fail } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

export const GROWTH_WINDOWS = [7, 30, 90] as const;
export type GrowthWindow = (typeof GROWTH_WINDOWS)[number];
const MAX_RANGE_DAYS = 3660;
/** Default range of a series per period: about 30 points of daily, half a year of weeks, a year of months, two of quarters. */
const DEFAULT_SPAN_DAYS: Record<AggregationPeriod, number> = { daily: 30, weekly: 182, monthly: 365, quarterly: 730 };
/** Instance option holding the disk size or quota the instance's data must fit in. */
export const CAPACITY_LIMIT_OPTION = 'capacity_limit_bytes';

export const CAPACITY_TOP = [5, 10, 20] as const;
export const CAPACITY_LAST = [7, 14, 30] as const;

export interface CapacityQuery extends CapacityFilter {
  scope?: 'instance' | 'database';
  period?: AggregationPeriod;
  /** The last N periods ending with the one containing `to` (ignored when `from` is given). */
  last?: number;
  from?: string;
  to?: string;
  top?: number;
  /** Database scope: system databases in the TOP N too (default false: they count in the total only). */
  include_system?: boolean;
}

/** One point of a capacity series: size of the period (daily: that day; longer: the period's average) and its change. */
export interface CapacityPoint {
  period_start: string;
  period_end: string;
  size_bytes: number;
  change_bytes: number | null;
  change_pct: number | null;
}

export interface CapacityItem {
  instance_id: number;
  instance_name: string;
  db_type: string;
  database_name: string;
  latest_bytes: number;
  points: CapacityPoint[];
}

export interface SeriesQuery {
  period?: AggregationPeriod;
  from?: string;
  to?: string;
}

/** One point of a series: an aggregation row's figures (daily points are computed the same way). */
export type SeriesPoint = Pick<
  AggregationRow,
  'period_start' | 'period_end' | 'avg_bytes' | 'max_bytes' | 'min_bytes' | 'last_bytes' | 'days_with_data' | 'change_bytes' | 'change_pct'
> & {
  trend: string;
};

/** The UTC instant of local midnight starting `date` in `timeZone`. */
export function zonedMidnightUtc(date: string, timeZone: string): Date {
  const guess = Date.parse(`${date}T00:00:00Z`);
  const offsetAt = (t: number) => {
    const f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - t;
  };
  // Twice: the offset at the first guess may differ from the offset at the answer (DST change).
  const first = guess - offsetAt(guess);
  return new Date(guess - offsetAt(first));
}

export class StatisticsService {
  constructor(
    private readonly repo: StatisticsRepository,
    private readonly instances: InstancesRepository,
    private readonly clock: Clock,
    private readonly timeZone: string,
    private readonly forecastOptions: ForecastOptions = {},
  ) {}

  private today(): string {
    return localDate(this.clock.now(), this.timeZone);
  }

  private range(q: { from?: string; to?: string }, spanDays: number): { from: string; to: string } {
    const to = q.to ?? this.today();
    const from = q.from ?? addDays(to, -(spanDays - 1));
    if (!isIsoDate(from)) fail('from', msg('api.v.bad_date', { value: from }));
    if (!isIsoDate(to)) fail('to', msg('api.v.bad_date', { value: to }));
    if (from > to) fail('from', msg('api.v.from_after_to'));
    if (addDays(from, MAX_RANGE_DAYS) < to) fail('from', msg('api.v.range_too_long', { days: MAX_RANGE_DAYS }));
    return { from, to };
  }

  private async instance(id: number) {
    const inst = await this.instances.get(id);
    if (!inst) throw new AppError('not_found', msg('api.instance_not_found', { id: id }));
    return inst;
  }

  private async database(instanceId: number, name: string) {
    await this.instance(instanceId);
    if (!(await this.repo.databaseExists(instanceId, name))) throw new AppError('not_found', msg('api.database_not_found', { name, instance_id: instanceId }));
  }

  /** Ids of the instances carrying `tag`; undefined when no tag is asked for. */
  private async tagged(tag: string | undefined): Promise<Set<number> | undefined> {
    if (tag === undefined) return undefined;
    return new Set((await this.repo.instancesForSummary(tag)).map((r) => r.id));
  }

  /**
   * Instances (total, active, online = active and last sync completed), sizes from each one's latest collection, by db type and by tag.
   * `tag`: the same figures for the instances carrying that tag only.
   */
  /**
   * What each instance adds to the estate total: its latest total, 0 for a registration of a server another one
   * counts, less the availability-group copies another replica's copy stands for. The summary's figures and the
   * `whalefall_instance_estate_bytes` gauge (metrics.service.ts) are sums of it.
   */
  async estateShares(tag?: string) {
    const [all, tagged] = await Promise.all([this.repo.instancesForSummary(), this.tagged(tag)]);
    const rows = tagged ? all.filter((r) => tagged.has(r.id)) : all;
    // One server registered twice (same host:port, see same-server.ts) counts once: the registration synced most
    // recently, chosen among all of them — with a tag, a registration whose twin counts under another tag counts for
    // none (as in by_tag, the monthly report and the by-tag PromQL).
    const estate = sameServerCopies(all);
    const excluded = new Map([...estate.excluded].filter(([id]) => !tagged || tagged.has(id)));
    const same = { excluded, bytes: [...excluded.values()].reduce((a, e) => a + e.bytes, 0) };
    // Availability-group copies counted by two replicas (role unknown) are counted once in the estate figures
    // (among the registrations that count: a copy left out with its whole instance is not left out twice).
    const inScope = new Set(rows.filter((r) => !same.excluded.has(r.id)).map((r) => r.id));
    const dup = duplicateCopies((await this.repo.countedReplicaCopies()).filter((c) => inScope.has(c.instance_id)));
    const estateBytes = (r: { id: number; total_size_bytes: number | null }) =>
      same.excluded.has(r.id) ? 0 : (r.total_size_bytes ?? 0) - (dup.byInstance.get(r.id) ?? 0);
    return { rows, same, dup, estateBytes };
  }

  async summary(q: { tag?: string } = {}) {
    const { rows, same, dup, estateBytes } = await this.estateShares(q.tag);
    const measured = rows.filter((r) => r.total_size_bytes !== null);
    const counted = measured.filter((r) => !same.excluded.has(r.id));
    const total = measured.reduce((a, r) => a + estateBytes(r), 0);
    // Databases by the same rule as the bytes: a registration of a server another one counts adds none, to any line.
    const estateDatabases = (r: (typeof rows)[number]) => (r.total_size_bytes === null || same.excluded.has(r.id) ? 0 : (r.database_count ?? 0));
    const largest = counted.reduce<(typeof counted)[number] | undefined>((m, r) => (!m || r.total_size_bytes! > m.total_size_bytes! ? r : m), undefined);
    type Group = { key: string; instances: number; databases: number; total_bytes: number };
    const group = (map: Map<string, Group>, key: string, r: (typeof rows)[number]) => {
      const g = map.get(key) ?? { key, instances: 0, databases: 0, total_bytes: 0 };
      g.instances++;
      g.databases += estateDatabases(r);
      g.total_bytes += estateBytes(r);
      map.set(key, g);
    };
    const byType = new Map<string, Group>();
    const byTag = new Map<string, Group>();
    for (const r of rows) {
      group(byType, r.db_type, r);
      for (const tag of new Set(JSON.parse(r.tags) as string[])) group(byTag, tag, r);
    }
    const sorted = (m: Map<string, Group>) => [...m.values()].sort((a, b) => b.total_bytes - a.total_bytes || a.key.localeCompare(b.key));
    return {
      instances_total: rows.length,
      instances_active: rows.filter((r) => r.is_active === 1).length,
      instances_online: rows.filter((r) => r.is_active === 1 && r.last_sync_status === 'completed').length,
      instances_measured: measured.length,
      databases_total: rows.reduce((a, r) => a + estateDatabases(r), 0),
      total_bytes: total,
      average_bytes: counted.length ? Math.round(total / counted.length) : null,
      max_bytes: largest?.total_size_bytes ?? null,
      max_instance: largest ? { instance_id: largest.id, instance_name: largest.name } : null,
      /** Instances pointing at a server another registration already counts (same host:port): left out of total_bytes. */
      same_server_excluded: {
        instances: [...same.excluded].map(([id, e]) => ({ instance_id: id, instance_name: e.name, counted_as_instance_id: e.counted_as, bytes: e.bytes })),
        bytes: same.bytes,
      },
      /** Copies of availability-group databases left out of total_bytes because another replica's copy stands for them. */
      replica_copies_excluded: { databases: dup.groups, bytes: dup.bytes },
      by_db_type: sorted(byType).map(({ key, ...g }) => ({ db_type: key, ...g })),
      by_tag: sorted(byTag).map(({ key, ...g }) => ({ tag: key, ...g })),
    };
  }

  /**
   * Largest growth between the first and last measured day of the window ending `to` (default today).
   * `include_system`: system databases (tagged by the collector) are left out of the ranking unless true. */
  async topGrowers(q: {
    scope?: 'instance' | 'database';
    days?: number;
    by?: 'bytes' | 'pct';
    limit?: number;
    to?: string;
    tag?: string;
    include_system?: boolean;
  }) {
    const days = q.days ?? 30;
    if (!(GROWTH_WINDOWS as readonly number[]).includes(days))
      fail('days', msg('api.v.one_of', { values: GROWTH_WINDOWS.join(' | '), list: GROWTH_WINDOWS.join(', ') }));
    const limit = q.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) fail('limit', msg('api.v.integer', { min: 1, max: 1000 }));
    const { from, to } = this.range({ to: q.to }, days + 1);
    const scope = q.scope ?? 'database';
    const by = q.by ?? 'bytes';
    const ids = await this.tagged(q.tag);
    const fromTs = zonedMidnightUtc(from, this.timeZone).toISOString();
    const untilTs = zonedMidnightUtc(addDays(to, 1), this.timeZone).toISOString();
    const includeSystem = q.include_system === true;
    const args = { from, to, fromTs, untilTs, by, limit, instanceIds: ids && [...ids], includeSystem };
    const rows = scope === 'instance' ? await this.repo.instanceGrowers(args) : await this.repo.databaseGrowers(args);
    return { scope, days, by, from, to, include_system: includeSystem, items: rows };
  }

  /** Databases first seen, and databases deleted, in [from, to] (local dates; default the last 30 days). */
  async databaseChanges(q: { from?: string; to?: string; tag?: string }) {
    const { from, to } = this.range(q, 30);
    const ids = await this.tagged(q.tag);
    const keep = <T extends { instance_id: number }>(xs: T[]) => (ids ? xs.filter((x) => ids.has(x.instance_id)) : xs);
    const [created, deleted] = await Promise.all([
      this.repo.newDatabases(from, to),
      this.repo.deletedDatabases(zonedMidnightUtc(from, this.timeZone).toISOString(), zonedMidnightUtc(addDays(to, 1), this.timeZone).toISOString()),
    ]);
    return {
      from,
      to,
      new_databases: keep(created).map((r) => ({ ...r, is_deleted: r.is_deleted === 1 })),
      deleted_databases: keep(deleted),
    };
  }

  private async series(scope: 'instance' | 'database', instanceId: number, name: string, q: SeriesQuery) {
    const period = q.period ?? 'daily';
    if (!PERIODS.includes(period)) fail('period', msg('api.v.one_of', { values: PERIODS.join(' | '), list: PERIODS.join(', ') }));
    const { from, to } = this.range(q, DEFAULT_SPAN_DAYS[period]);
    let points: SeriesPoint[];
    if (period === 'daily') {
      // Daily points come from the raw rows, so they are current before the nightly aggregation runs.
      const raw = scope === 'instance' ? await this.repo.instanceDaily(instanceId, from, to) : await this.repo.databaseDaily(instanceId, name, from, to);
      points = raw.map((r, i) => {
        const size = r.size_bytes!;
        const prev = i > 0 ? raw[i - 1]!.size_bytes! : null;
        const change = prev === null ? null : size - prev;
        return {
          period_start: r.collected_date,
          period_end: r.collected_date,
          avg_bytes: size,
          max_bytes: size,
          min_bytes: size,
          last_bytes: size,
          days_with_data: 1,
          change_bytes: change,
          change_pct: prev !== null && prev > 0 ? (change! * 100) / prev : null,
          trend: 'unknown',
        };
      });
    } else {
      points = await this.repo.aggregationSeries({ scope, instanceId, databaseName: name, period, from, to });
    }
    return { scope, instance_id: instanceId, ...(scope === 'database' ? { database_name: name } : {}), period, from, to, points };
  }

  async instanceSeries(instanceId: number, q: SeriesQuery) {
    await this.instance(instanceId);
    return this.series('instance', instanceId, '', q);
  }

  async databaseSeries(instanceId: number, databaseName: string, q: SeriesQuery) {
    await this.database(instanceId, databaseName);
    return this.series('database', instanceId, databaseName, q);
  }

  /**
   * The capacity statistics pages: for the filtered instances (or databases),
   * per period of the range: the summed total and its change, cards from the
   * latest period with data (items online, total, average, max), and the TOP N
   * items by latest size with their own series. Each period's change is
   * against the previous period (daily: the previous day with data in range).
   */
  async capacity(q: CapacityQuery) {
    // An instance that does not exist is not an instance with no figures (zero cards): 404, as the runway says.
    if (q.instanceId !== undefined) await this.instance(q.instanceId);
    const scope = q.scope ?? 'instance';
    const period = q.period ?? 'daily';
    if (!PERIODS.includes(period)) fail('period', msg('api.v.one_of', { values: PERIODS.join(' | '), list: PERIODS.join(', ') }));
    const top = q.top ?? 10;
    if (!(CAPACITY_TOP as readonly number[]).includes(top))
      fail('top', msg('api.v.one_of', { values: CAPACITY_TOP.join(' | '), list: CAPACITY_TOP.join(', ') }));
    const last = q.last ?? (period === 'daily' ? 30 : 14);
    if (!(CAPACITY_LAST as readonly number[]).includes(last))
      fail('last', msg('api.v.one_of', { values: CAPACITY_LAST.join(' | '), list: CAPACITY_LAST.join(', ') }));
    const to = q.to ?? this.today();
    let from = q.from;
    if (from === undefined && isIsoDate(to)) {
      let p = periodOf(period, to);
      for (let i = 1; i < last; i++) p = periodOf(period, addDays(p.start, -1));
      from = p.start;
    }
    const range = this.range({ from, to }, 1);
    const periods = periodsBetween(period, range.from, range.to).map((p) => ({ period_start: p.start, period_end: p.end }));
    const [rows, registry] = await Promise.all([
      this.repo.capacityRows({ scope, period, from: range.from, to: range.to, dbType: q.dbType, instanceId: q.instanceId, database: q.database }),
      this.repo.instancesForSummary(),
    ]);
    // One server registered twice counts once in the total and the cards, period by period (same-server.ts).
    const order = sameServerOrder(registry);
    const counted = countedPerPeriod(order, rows);

    const items = new Map<string, CapacityItem>();
    for (const r of rows) {
      const key = `${r.instance_id}\u0000${r.database_name}`;
      let item = items.get(key);
      if (!item) {
        item = { instance_id: r.instance_id, instance_name: r.instance_name, db_type: r.db_type, database_name: r.database_name, latest_bytes: 0, points: [] };
        items.set(key, item);
      }
      item.points.push(point(r, period === 'daily' ? item.points[item.points.length - 1] : undefined));
    }
    const latestStart = rows.reduce<string | null>((m, r) => (m === null || r.period_start > m ? r.period_start : m), null);
    const sums = new Map<string, number>();
    let online = 0;
    let onlineCounted = 0;
    let max: CapacityItem | undefined;
    const excluded = new Map<
      number,
      { instance_id: number; instance_name: string; counted_as_instance_id: number; counted_as_instance_name: string; bytes: number }
    >();
    for (const item of items.values()) {
      item.latest_bytes = item.points[item.points.length - 1]!.size_bytes;
      for (const p of item.points) {
        if (counted(item.instance_id, p.period_start)) sums.set(p.period_start, (sums.get(p.period_start) ?? 0) + p.size_bytes);
      }
      if (item.points[item.points.length - 1]!.period_start !== latestStart) continue;
      online++;
      if (counted(item.instance_id, latestStart)) {
        onlineCounted++;
        if (!max || item.latest_bytes > max.latest_bytes) max = item;
        continue;
      }
      const by = countedAs(order, counted, item.instance_id, latestStart)!;
      const e = excluded.get(item.instance_id) ?? {
        instance_id: item.instance_id,
        instance_name: item.instance_name,
        counted_as_instance_id: by.id,
        counted_as_instance_name: by.name,
        bytes: 0,
      };
      e.bytes += item.latest_bytes;
      excluded.set(item.instance_id, e);
    }
    const totalLatest = latestStart === null ? 0 : sums.get(latestStart)!;
    let prev: number | undefined;
    const total: CapacityPoint[] = [];
    for (const p of periods) {
      const size = sums.get(p.period_start);
      if (size === undefined) continue;
      total.push({ ...p, size_bytes: size, change_bytes: prev === undefined ? null : size - prev, change_pct: prev ? ((size - prev) * 100) / prev : null });
      prev = size;
    }
    // System databases count in the total and the cards (they take space) but stay out of the TOP N unless asked for.
    const includeSystem = q.include_system === true;
    const system = scope === 'database' && !includeSystem ? await this.repo.systemDatabaseKeys() : new Set<string>();
    const ranked = [...items.values()]
      .filter((it) => !system.has(`${it.instance_id}\u0000${it.database_name}`))
      .sort((a, b) => b.latest_bytes - a.latest_bytes || a.instance_name.localeCompare(b.instance_name) || a.database_name.localeCompare(b.database_name));
    return {
      scope,
      period,
      from: range.from,
      to: range.to,
      top,
      include_system: includeSystem,
      periods,
      cards: {
        latest_period: latestStart,
        items_online: online,
        items_total: items.size,
        total_bytes: totalLatest,
        average_bytes: onlineCounted ? Math.round(totalLatest / onlineCounted) : null,
        max_bytes: max?.latest_bytes ?? null,
        max_item: max ? { instance_id: max.instance_id, instance_name: max.instance_name, database_name: max.database_name } : null,
      },
      /** Registrations of a server another one counts in the latest period: left out of the total and the cards. */
      same_server_excluded: { instances: [...excluded.values()], bytes: [...excluded.values()].reduce((a, e) => a + e.bytes, 0) },
      total,
      items: ranked.slice(0, top),
    };
  }

  /** Days until the instance's data reaches its configured limit (instance option `capacity_limit_bytes`). */
  async instanceForecast(instanceId: number, q: { days?: number } = {}) {
    const inst = await this.instance(instanceId);
    const days = this.forecastDays(q.days);
    const to = this.today();
    const raw = await this.repo.instanceDaily(instanceId, addDays(to, -(days - 1)), to);
    const options = JSON.parse(inst.options) as Record<string, unknown>;
    const limit = typeof options[CAPACITY_LIMIT_OPTION] === 'number' ? options[CAPACITY_LIMIT_OPTION] : null;
    const points: SizePoint[] = raw.map((r) => ({ date: r.collected_date, bytes: r.size_bytes }));
    return {
      scope: 'instance' as const,
      instance_id: instanceId,
      window_days: days,
      limit_source: limit === null ? null : CAPACITY_LIMIT_OPTION,
      ...forecast(points, limit, this.forecastOptions),
    };
  }

  /** Days until a database reaches the growth limit its engine reports (Oracle autoextend MAXBYTES). */
  async databaseForecast(instanceId: number, databaseName: string, q: { days?: number } = {}) {
    await this.database(instanceId, databaseName);
    const days = this.forecastDays(q.days);
    const to = this.today();
    const raw = await this.repo.databaseDaily(instanceId, databaseName, addDays(to, -(days - 1)), to);
    const limit = await this.repo.latestMaxBytes(instanceId, databaseName);
    const points: SizePoint[] = raw.map((r) => ({ date: r.collected_date, bytes: r.size_bytes! }));
    return {
      scope: 'database' as const,
      instance_id: instanceId,
      database_name: databaseName,
      window_days: days,
      limit_source: limit === null ? null : 'max_bytes',
      ...forecast(points, limit, this.forecastOptions),
    };
  }

  private forecastDays(days: number | undefined): number {
    const d = days ?? 30;
    if (!Number.isInteger(d) || d < 2 || d > 3660) fail('days', msg('api.v.integer', { min: 2, max: 3660 }));
    return d;
  }
}

/** A capacity row as a point; a daily point's change is against the item's previous day in range. */
function point(r: CapacityRow, prev: CapacityPoint | undefined): CapacityPoint {
  const base = { period_start: r.period_start, period_end: r.period_end, size_bytes: r.size_bytes };
  if (prev === undefined) return { ...base, change_bytes: r.change_bytes, change_pct: r.change_pct };
  const change = r.size_bytes - prev.size_bytes;
  return { ...base, change_bytes: change, change_pct: prev.size_bytes > 0 ? (change * 100) / prev.size_bytes : null };
}
