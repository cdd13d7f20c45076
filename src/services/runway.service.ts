/**
 * What runs out first across the estate: the runway (src/lib/runway.ts) of
 * every instance or live database, against its ceiling, ranked by days until
 * full. The fits depend only on history, so they are cached per local day and
 * history version (a sync or an import starts a new one), in memory and in the
 * store (`runway_fits`: a restarted process reads the day's fits back and
 * refits only the instances synced or given rows since; see `load`); ceilings
 * are applied on every request, so a changed `capacity_limit_bytes` shows at
 * once.
 */
import { addDays, localDate, type Clock } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import { backtestMape, fitRunway, judge, unusualDays, type Runway, type RunwayFit, type RunwayOptions, type RunwayPoint } from '../lib/runway.js';
import { fitSummary, type FitSummary } from '../lib/runway-what-if.js';
import type { RunwayInstance, RunwayRepository, RunwaySeriesRow, StoredFit } from '../store/runway.repository.js';
import { explainJumps, type Jump } from './runway-jumps.js';
import { CAPACITY_LIMIT_OPTION } from './statistics.service.js';
import { fail } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

/** Days of history a runway reads: the fit starts at the last change point inside it. */
export const RUNWAY_WINDOW_DAYS = 180;
/**
 * Days between backtest replay points: every day of the last 90 that has 30
 * days of future (61 replays of the whole method, ~2–3 ms a series). That is
 * 50× a fit, so the estate pass fits every series and the backtest runs only
 * for the items a request returns, kept for the day with the fit.
 */
export const BACKTEST_STRIDE = 1;
/** Instances per store query: bounds the rows in memory at once. */
const CHUNK = 200;
/** Up to this many series to backtest, each is read on its own (a page of 20 on a large instance reads 20 series, not all of its databases). */
const PAGE_READS = 100;

export type RunwayScope = 'instance' | 'database';
export type CeilingSource = 'capacity_limit_bytes' | 'autoextend_max' | 'volume';

/** A runway as the API lists it: the fit's answer (lib/runway.ts) with whose it is and where its ceiling came from. */
export interface RunwayItem extends Runway {
  instance_id: number;
  instance_name: string;
  db_type: string;
  database_name?: string;
  ceiling_source: CeilingSource | null;
  /** The fit the browser's what-if recomputes from (null: no fit). */
  fit: FitSummary | null;
  /** Why it jumped: the latest days (up to 3) whose change lies outside the fit's interval, with what accounts for it (runway-jumps.ts). */
  jumps: Jump[];
}

export interface RunwayQuery {
  scope?: RunwayScope;
  instance_id?: number;
  tag?: string;
  db_type?: string;
  limit?: number;
}

/** One series' fit, kept for the day. */
interface Fitted {
  instance_id: number;
  database_name: string;
  fit: RunwayFit | null;
  /** undefined until a request returns this series (see BACKTEST_STRIDE). */
  backtest_mape?: number | null;
  /** Filled in with the backtest. */
  jumps?: Jump[];
  /** Latest engine-reported growth limit (Oracle autoextend MAXBYTES). */
  max_bytes: number | null;
}

interface CacheEntry {
  key: string;
  fits: Map<number, Fitted[]>;
  computed_at: string;
}

/** Engine-reported ceilings per instance (the composition's: a volume total, or Oracle's autoextend maximum), when known. */
export type VolumeCeilings = (instanceIds: readonly number[]) => Promise<Map<number, { bytes: number; source: 'volume' | 'autoextend_max' }>>;

export class RunwayService {
  private readonly cache = new Map<RunwayScope, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<CacheEntry>>();

  private readonly options: RunwayOptions;

  constructor(
    private readonly d: {
      repo: RunwayRepository;
      clock: Clock;
      timeZone: string;
      options?: RunwayOptions;
      volumes?: VolumeCeilings;
    },
  ) {
    this.options = { backtestStride: BACKTEST_STRIDE, ...d.options };
  }

  private today(): string {
    return localDate(this.d.clock.now(), this.d.timeZone);
  }

  /** Ranked by days until full (ascending, nulls last; then fastest growth first). */
  async list(q: RunwayQuery = {}) {
    const scope = q.scope ?? 'instance';
    if (scope !== 'instance' && scope !== 'database') fail('scope', msg('api.v.one_of', { values: 'instance | database', list: 'instance, database' }));
    const limit = q.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) fail('limit', msg('api.v.integer', { min: 1, max: 100000 }));
    let instances = await this.d.repo.instances(q.instance_id === undefined ? undefined : [q.instance_id]);
    if (q.instance_id !== undefined && !instances.length) throw new AppError('not_found', msg('api.instance_not_found', { id: q.instance_id }));
    if (q.tag !== undefined) instances = instances.filter((i) => (JSON.parse(i.tags) as string[]).includes(q.tag!));
    if (q.db_type !== undefined) instances = instances.filter((i) => i.db_type === q.db_type);
    const key = `${this.today()}|${await this.d.repo.version()}`;
    const hit = this.cache.get(scope);
    // One instance asked for and the estate not fitted yet today: fit just that one.
    const entry = hit?.key === key ? hit : q.instance_id !== undefined ? await this.compute(scope, [q.instance_id], key) : await this.estate(scope, key);
    const volumes = this.d.volumes
      ? await this.d.volumes(instances.map((i) => i.id))
      : new Map<number, { bytes: number; source: 'volume' | 'autoextend_max' }>();
    const all: { item: RunwayItem; f: Fitted }[] = [];
    for (const inst of instances) {
      // Once per instance, not per database: an estate has 25 databases an instance on average.
      const limit = capacityLimit(inst);
      for (const f of entry.fits.get(inst.id) ?? []) all.push({ item: this.item(scope, inst, limit, f, volumes.get(inst.id) ?? null), f });
    }
    all.sort((a, b) => byRunway(a.item, b.item));
    const page = all.slice(0, limit);
    await this.enrich(
      scope,
      page.map((p) => p.f),
    );
    const items = page.map(({ item, f }) => ({
      ...item,
      backtest_mape: f.backtest_mape === undefined || f.backtest_mape === null ? null : Math.round(f.backtest_mape * 100) / 100,
      jumps: f.jumps ?? [],
    }));
    return { scope, window_days: RUNWAY_WINDOW_DAYS, computed_at: entry.computed_at, total: all.length, items };
  }

  /**
   * The backtest and the jumps of the series not done yet today: their windows read again, one series
   * at a time for a page (a request's few items), chunk by chunk of instances for more.
   */
  private async enrich(scope: RunwayScope, fits: readonly Fitted[]): Promise<void> {
    const todo = fits.filter((f) => f.backtest_mape === undefined);
    if (!todo.length) return;
    const to = this.today();
    const from = addDays(to, -(RUNWAY_WINDOW_DAYS - 1));
    const wanted = new Map(todo.map((f) => [`${f.instance_id}|${f.database_name}`, f]));
    const read = async (ids: number[], database?: string) => {
      const rows = scope === 'instance' ? await this.d.repo.instanceSeries(ids, from, to) : await this.d.repo.databaseSeries(ids, from, to, database);
      for (const s of splitSeries(rows)) {
        const f = wanted.get(`${s.instance_id}|${s.database_name}`);
        if (!f) continue;
        f.backtest_mape = backtestMape(s.points, this.options);
        f.jumps = await explainJumps(this.d.repo, s.instance_id, unusualDays(s.points, f.fit), scope === 'database' ? s.database_name : undefined);
      }
    };
    if (todo.length <= PAGE_READS) {
      for (const f of todo) await read([f.instance_id], scope === 'database' ? f.database_name : undefined);
    } else {
      const ids = [...new Set(todo.map((f) => f.instance_id))];
      for (let i = 0; i < ids.length; i += CHUNK) {
        await read(ids.slice(i, i + CHUNK));
        await new Promise((r) => setImmediate(r));
      }
    }
    for (const f of todo) {
      f.backtest_mape ??= null;
      f.jumps ??= [];
    }
  }

  /** The runway of one instance (the instance page and the alert rule read the same figures). */
  async forInstance(instanceId: number): Promise<RunwayItem> {
    const r = await this.list({ scope: 'instance', instance_id: instanceId, limit: 1 });
    const inst = (await this.d.repo.instances([instanceId]))[0]!;
    return r.items[0] ?? this.item('instance', inst, capacityLimit(inst), { instance_id: instanceId, database_name: '', fit: null, max_bytes: null }, null);
  }

  /** Forget the day's fits, kept ones included (after an import, or in tests). */
  async invalidate(): Promise<void> {
    this.cache.clear();
    await this.d.repo.clearFits();
  }

  /**
   * Fit the estate for today now, both scopes (the nightly task: the first request of the day then
   * reads the kept fits instead of 180 days of every series).
   */
  async warm(): Promise<{ scope: RunwayScope; series: number }[]> {
    const key = `${this.today()}|${await this.d.repo.version()}`;
    const out: { scope: RunwayScope; series: number }[] = [];
    for (const scope of ['instance', 'database'] as const) {
      const entry = this.cache.get(scope)?.key === key ? this.cache.get(scope)! : await this.estate(scope, key);
      let series = 0;
      for (const list of entry.fits.values()) series += list.length;
      out.push({ scope, series });
    }
    return out;
  }

  private async estate(scope: RunwayScope, key: string): Promise<CacheEntry> {
    // Concurrent first requests of the day share one computation.
    const flightKey = `${scope}|${key}`;
    let p = this.inFlight.get(flightKey);
    if (!p) {
      p = (async () => {
        const entry = await this.load(scope, key);
        this.cache.set(scope, entry);
        return entry;
      })().finally(() => this.inFlight.delete(flightKey));
      this.inFlight.set(flightKey, p);
    }
    return p;
  }

  /**
   * The estate's fits for today: the kept ones (runway_fits) where still valid, the rest fitted now and
   * kept. A kept fit is valid when it was fitted today, its instance has not synced since (same
   * last_sync_at) and no ledger row of its instance was added since (ids above the run's: an import,
   * a correction). A new day refits everything (the window moved), which the nightly task does ahead.
   */
  private async load(scope: RunwayScope, key: string): Promise<CacheEntry> {
    const today = this.today();
    // Read before the series: a row added while fitting makes its instance stale next time.
    const ids = await this.d.repo.ledgerIds();
    const instances = await this.d.repo.instances();
    const run = await this.d.repo.fitRun(scope);
    const fits = new Map<number, Fitted[]>();
    let stale = instances;
    if (run?.day === today) {
      const changed = await this.d.repo.changedSince(run);
      const stamps = await this.d.repo.storedStamps(scope);
      for (const r of await this.d.repo.storedFits(scope)) {
        const list = fits.get(r.instance_id) ?? [];
        list.push({ instance_id: r.instance_id, database_name: r.database_name, fit: r.fit === null ? null : decodeFit(r.fit), max_bytes: r.max_bytes });
        fits.set(r.instance_id, list);
      }
      stale = instances.filter((i) => changed.has(i.id) || !stamps.has(i.id) || stamps.get(i.id) !== stampOf(i));
      for (const i of stale) fits.delete(i.id);
    }
    await this.fitInto(
      fits,
      scope,
      stale.map((i) => i.id),
      new Map(stale.map((i) => [i.id, stampOf(i)])),
    );
    const now = this.d.clock.now().toISOString();
    if (run?.day !== today || run.instance_stats_id !== ids.instance_stats_id || run.database_stats_id !== ids.database_stats_id) {
      await this.d.repo.saveFitRun(scope, { day: today, ...ids, computed_at: now });
    }
    return { key, fits, computed_at: run?.day === today && !stale.length ? run.computed_at : now };
  }

  private async compute(scope: RunwayScope, ids: readonly number[], key: string): Promise<CacheEntry> {
    const fits = new Map<number, Fitted[]>();
    await this.fitInto(fits, scope, ids);
    return { key, fits, computed_at: this.d.clock.now().toISOString() };
  }

  /** Fit the series of these instances into `fits`; with `keep` (instance → stamp), also replace their kept fits. */
  private async fitInto(fits: Map<number, Fitted[]>, scope: RunwayScope, ids: readonly number[], keep?: Map<number, string>): Promise<void> {
    const to = this.today();
    const from = addDays(to, -(RUNWAY_WINDOW_DAYS - 1));
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const rows = scope === 'instance' ? await this.d.repo.instanceSeries(chunk, from, to) : await this.d.repo.databaseSeries(chunk, from, to);
      const kept: StoredFit[] = [];
      for (const s of splitSeries(rows)) {
        const list = fits.get(s.instance_id) ?? [];
        const fit = fitRunway(s.points, this.options);
        list.push({ instance_id: s.instance_id, database_name: s.database_name, fit, max_bytes: s.max_bytes });
        fits.set(s.instance_id, list);
        if (keep) kept.push({ instance_id: s.instance_id, database_name: s.database_name, fit: fit === null ? null : encodeFit(fit), max_bytes: s.max_bytes });
      }
      if (keep) await this.d.repo.saveFits(scope, new Map(chunk.map((id) => [id, keep.get(id) ?? ''])), kept);
      // Let requests in between chunks be served: a large estate takes seconds.
      await new Promise((r) => setImmediate(r));
    }
  }

  private item(
    scope: RunwayScope,
    inst: RunwayInstance,
    limit: number | null,
    f: Fitted,
    engineCeiling: { bytes: number; source: 'volume' | 'autoextend_max' } | null,
  ): RunwayItem {
    const volume = engineCeiling?.bytes ?? null;
    let ceiling: number | null = null;
    let source: CeilingSource | null = null;
    if (scope === 'instance') {
      if (limit !== null) [ceiling, source] = [limit, 'capacity_limit_bytes'];
      else if (engineCeiling !== null) [ceiling, source] = [engineCeiling.bytes, engineCeiling.source];
    } else if (f.max_bytes !== null && f.max_bytes > 0) {
      [ceiling, source] = [f.max_bytes, 'autoextend_max'];
    } else {
      // A database on a shared disk: its own size plus the instance's free room under the ceiling.
      const room = limit ?? volume;
      if (room !== null && inst.total_size_bytes !== null && f.fit) {
        ceiling = f.fit.last_bytes + Math.max(0, room - inst.total_size_bytes);
        source = limit !== null ? 'capacity_limit_bytes' : engineCeiling!.source;
      }
    }
    const j = judge(f.fit, ceiling, this.options);
    return {
      instance_id: inst.id,
      instance_name: inst.name,
      db_type: inst.db_type,
      ...(scope === 'database' ? { database_name: f.database_name } : {}),
      state: j.state,
      days_until_full: j.days_until_full,
      full_date: j.full_date,
      low_days: j.low_days,
      high_days: j.high_days,
      growth_bytes_per_day: j.growth_bytes_per_day === null ? null : Math.round(j.growth_bytes_per_day),
      ceiling_bytes: ceiling,
      ceiling_source: source,
      fit_start_date: j.fit_start_date,
      change_point_date: j.change_point_date,
      backtest_mape: null, // filled in by list() for the items it returns, with the jumps
      fit: fitSummary(f.fit),
      jumps: [],
      latest_date: j.latest_date,
      latest_bytes: j.latest_bytes,
      points_used: j.points_used,
    };
  }
}

/** The instance option `capacity_limit_bytes` when set and positive. */
function capacityLimit(inst: RunwayInstance): number | null {
  const options = JSON.parse(inst.options) as Record<string, unknown>;
  const v = options[CAPACITY_LIMIT_OPTION];
  return typeof v === 'number' && v > 0 ? v : null;
}

/** The instance's sync stamp a kept fit is valid for. */
function stampOf(inst: RunwayInstance): string {
  return inst.last_sync_at ?? '';
}

/** A fit as JSON, exactly: every number round-trips (non-finite ones as strings, which no date is). */
export function encodeFit(fit: RunwayFit): string {
  return JSON.stringify(fit, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

const NON_FINITE = /"(-?Infinity|NaN)"/;

export function decodeFit(json: string): RunwayFit {
  // A reviver makes JSON.parse several times slower; 20,000 fits are read back at once, and almost none has one.
  if (!NON_FINITE.test(json)) return JSON.parse(json) as RunwayFit;
  return JSON.parse(json, (_k, v: unknown) => (v === 'Infinity' || v === '-Infinity' || v === 'NaN' ? Number(v) : v)) as RunwayFit;
}

/** Nulls last; among equals, fastest growth first; then by name for a stable order. */
function byRunway(a: RunwayItem, b: RunwayItem): number {
  const da = a.days_until_full ?? Infinity;
  const db = b.days_until_full ?? Infinity;
  if (da !== db) return da - db;
  const ga = a.growth_bytes_per_day ?? -Infinity;
  const gb = b.growth_bytes_per_day ?? -Infinity;
  if (ga !== gb) return gb > ga ? 1 : -1;
  return a.instance_name.localeCompare(b.instance_name) || (a.database_name ?? '').localeCompare(b.database_name ?? '');
}

/** Rows in (instance, database, date) order → one series per (instance, database). */
export function* splitSeries(
  rows: readonly RunwaySeriesRow[],
): Generator<{ instance_id: number; database_name: string; points: RunwayPoint[]; max_bytes: number | null }> {
  let i = 0;
  while (i < rows.length) {
    const first = rows[i]!;
    const points: RunwayPoint[] = [];
    let max: number | null = null;
    while (i < rows.length && rows[i]!.instance_id === first.instance_id && rows[i]!.database_name === first.database_name) {
      const r = rows[i]!;
      points.push({ date: r.collected_date, bytes: r.size_bytes });
      if (r.max_bytes !== null) max = r.max_bytes;
      i++;
    }
    yield { instance_id: first.instance_id, database_name: first.database_name, points, max_bytes: max };
  }
}
