/**
 * What each alert rule kind checks: one evaluator per kind, in a
 * `Record<RuleKind, …>` so a new kind fails to compile until it says how it
 * is evaluated. An evaluator reads through the alerts repository and reports
 * each condition that holds now with `cond` (the service opens, keeps or
 * resolves the events). Adding a kind: its name in RULE_KINDS, its fields in
 * `AlertsService.validate`, its evaluator here, a unit test in
 * test/unit/alert-rule-kinds.test.ts.
 */
import { addDays } from '../../lib/clock.js';
import type { GlobMatcher } from '../../lib/glob.js';
import { runway } from '../../lib/runway.js';
import { formatBytes } from '../../lib/sizes.js';
import type { AlertRuleRow, AlertsRepository } from '../../store/alerts.repository.js';
import type { InstanceRow } from '../../store/schema.js';
import { parseStoredMsg, type Msg } from '../../client/shared/i18n/index.js';
import { RUNWAY_WINDOW_DAYS } from '../runway.service.js';

import type { RuleKind } from '../../domain/alerts.js';

export { RULE_KINDS, type RuleKind } from '../../domain/alerts.js';

/** Days of history the days_until_full rule reads: the runway's window (the fit starts at its last change point). */
export const FIT_DAYS = RUNWAY_WINDOW_DAYS;

/** The reads the evaluators need (a fake in unit tests). */
export type RuleRepository = Pick<
  AlertsRepository,
  | 'latestInstanceTotals'
  | 'latestDatabaseSizes'
  | 'instanceTotalOnOrBefore'
  | 'databaseSizesOnOrBefore'
  | 'instanceSeries'
  | 'databaseSeries'
  | 'deletedDatabases'
  | 'recentFinishedRecords'
  | 'failedInARow'
>;

/** What an evaluator gets: the rule, the instances in its scope, the reads, and how to report a condition. */
export interface RuleInput {
  rule: AlertRuleRow;
  instances: InstanceRow[];
  repo: RuleRepository;
  /** The rule's database pattern, compiled; undefined = the instance as a whole. */
  re: GlobMatcher | undefined;
  threshold: number;
  /** Report a condition that holds now on `inst` (and `database`), with its value and message (by key). */
  cond: (inst: InstanceRow, database: string | null, value: number | null, message: Msg) => void;
  /** Every value looked at, firing or not: a resolved event's message says what the value is now. */
  saw: (inst: InstanceRow, database: string | null, value: number) => void;
  /**
   * Instances whose capacity sync record just completed (the record event that triggered this evaluation):
   * their newest finished record is a success, so `sync_failing` holds on none of them without reading their records.
   */
  justCompleted?: ReadonlySet<number>;
}

export type RuleEvaluator = (input: RuleInput) => Promise<void>;

const where = (inst: InstanceRow, db: string | null): Msg =>
  db ? { key: 'alert.where_database', params: { instance: inst.name, database: db } } : { key: 'alert.where_instance', params: { instance: inst.name } };

/** The instance's configured capacity limit, when the forecast feature's option is set. */
function instanceLimit(inst: InstanceRow): number | null {
  const v = (JSON.parse(inst.options) as Record<string, unknown>).capacity_limit_bytes;
  return typeof v === 'number' && v > 0 ? v : null;
}

async function sizeAbove({ instances, repo, re, threshold, cond, saw }: RuleInput): Promise<void> {
  if (!re) {
    const totals = new Map((await repo.latestInstanceTotals(instances.map((i) => i.id))).map((t) => [t.instance_id, t.total_size_bytes]));
    for (const inst of instances) {
      const v = totals.get(inst.id);
      if (v !== undefined) saw(inst, null, v);
      if (v !== undefined && v > threshold)
        cond(inst, null, v, { key: 'alert.size_above', params: { where: where(inst, null), size: formatBytes(v), threshold: formatBytes(threshold) } });
    }
  } else {
    for (const inst of instances) {
      for (const d of await repo.latestDatabaseSizes(inst.id)) {
        if (!re(d.database_name) || d.size_bytes === null) continue;
        saw(inst, d.database_name, d.size_bytes);
        if (d.size_bytes <= threshold) continue;
        const params = { where: where(inst, d.database_name), size: formatBytes(d.size_bytes), threshold: formatBytes(threshold) };
        cond(inst, d.database_name, d.size_bytes, { key: 'alert.size_above_db', params });
      }
    }
  }
}

/** growth_pct and growth_bytes: the latest size against the latest one at least a window back (a missing day is not a zero). */
async function growth({ rule, instances, repo, re, threshold, cond, saw }: RuleInput): Promise<void> {
  const days = rule.window === 'week' ? 7 : 1;
  const window: Msg = { key: rule.window === 'week' ? 'alert.window_week' : 'alert.window_day' };
  const check = (inst: InstanceRow, db: string | null, latest: number, base: number) => {
    const delta = latest - base;
    if (rule.kind === 'growth_bytes') saw(inst, db, delta);
    else if (base > 0) saw(inst, db, Math.round((delta / base) * 10000) / 100);
    if (rule.kind === 'growth_bytes') {
      if (delta > threshold)
        cond(inst, db, delta, {
          key: 'alert.growth_bytes',
          params: { where: where(inst, db), window, delta: formatBytes(delta), threshold: formatBytes(threshold) },
        });
    } else if (base > 0) {
      const pct = (delta / base) * 100;
      if (pct > threshold)
        cond(inst, db, Math.round(pct * 100) / 100, { key: 'alert.growth_pct', params: { where: where(inst, db), window, pct: pct.toFixed(2), threshold } });
    }
  };
  for (const inst of instances) {
    if (!re) {
      const [latest] = await repo.latestInstanceTotals([inst.id]);
      if (!latest) continue;
      // The baseline is the latest day at least one window back: a missing day is not a zero.
      const base = await repo.instanceTotalOnOrBefore(inst.id, addDays(latest.collected_date, -days));
      if (base) check(inst, null, latest.total_size_bytes, base.total_size_bytes);
    } else {
      const latest = (await repo.latestDatabaseSizes(inst.id)).filter((d) => re(d.database_name) && d.size_bytes !== null);
      if (!latest.length) continue;
      const baseDay = addDays(latest[0]!.collected_date, -days);
      const bases = new Map((await repo.databaseSizesOnOrBefore(inst.id, baseDay)).map((b) => [b.database_name, b.size_bytes]));
      for (const d of latest) {
        const b = bases.get(d.database_name);
        if (b !== undefined && b !== null) check(inst, d.database_name, d.size_bytes!, b);
      }
    }
  }
}

async function daysUntilFull({ rule, instances, repo, re, threshold, cond, saw }: RuleInput): Promise<void> {
  // The runway (the same method as /api/statistics/runway) decides: only 'growing' toward a ceiling (or full) may page anyone.
  const fire = (inst: InstanceRow, db: string | null, series: { collected_date: string; size: number }[], limit: number | null) => {
    const f = runway(
      series.map((p) => ({ date: p.collected_date, bytes: p.size })),
      limit,
      { backtestDays: 0 },
    );
    if ((f.state !== 'growing' && f.state !== 'full') || f.days_until_full === null) return;
    saw(inst, db, f.days_until_full);
    if (f.state === 'full') {
      // Already at or over the ceiling, from the first measured day on: the latest size says so, no slope needed.
      const params = { where: where(inst, db), size: formatBytes(f.latest_bytes), ceiling: formatBytes(f.ceiling_bytes), date: f.latest_date ?? '?' };
      cond(inst, db, 0, { key: 'alert.already_full', params });
    } else if (f.days_until_full < threshold) {
      const since: Msg = f.change_point_date
        ? { key: 'alert.since_change_point', params: { date: f.change_point_date } }
        : { key: 'alert.since', params: { date: f.fit_start_date ?? '?' } };
      const params = {
        where: where(inst, db),
        days: f.days_until_full,
        ceiling: formatBytes(f.ceiling_bytes),
        since,
        points: f.points_used,
        low: f.low_days ?? '?',
        high: f.high_days ?? '∞',
      };
      cond(inst, db, f.days_until_full, { key: 'alert.days_until_full', params });
    }
  };
  for (const inst of instances) {
    const latestDay = (await repo.latestInstanceTotals([inst.id]))[0]?.collected_date;
    if (!latestDay) continue;
    const from = addDays(latestDay, -(FIT_DAYS - 1));
    if (!re) {
      const series = (await repo.instanceSeries(inst.id, from)).map((r) => ({ collected_date: r.collected_date, size: r.total_size_bytes }));
      fire(inst, null, series, rule.limit_bytes ?? instanceLimit(inst));
    } else {
      const limits = new Map((await repo.latestDatabaseSizes(inst.id)).map((d) => [d.database_name, d.max_bytes]));
      const byDb = new Map<string, { collected_date: string; size: number }[]>();
      for (const r of await repo.databaseSeries(inst.id, from)) {
        if (!re(r.database_name) || r.size_bytes === null || !limits.has(r.database_name)) continue;
        const s = byDb.get(r.database_name) ?? [];
        s.push({ collected_date: r.collected_date, size: r.size_bytes });
        byDb.set(r.database_name, s);
      }
      for (const [db, series] of byDb) fire(inst, db, series, rule.limit_bytes ?? limits.get(db) ?? null);
    }
  }
}

async function databaseDisappeared({ rule, instances, repo, re, cond }: RuleInput): Promise<void> {
  for (const inst of instances) {
    for (const d of await repo.deletedDatabases(inst.id)) {
      // Deletions from before the rule existed are history, not news.
      if (re && !re(d.database_name)) continue;
      if (!d.deleted_at || d.deleted_at < rule.created_at) continue;
      cond(inst, d.database_name, null, { key: 'alert.database_disappeared', params: { where: where(inst, d.database_name), deleted_at: d.deleted_at } });
    }
  }
}

async function syncFailing({ rule, instances, repo, cond, justCompleted }: RuleInput): Promise<void> {
  const k = rule.consecutive ?? 3;
  for (const inst of instances) {
    if (justCompleted?.has(inst.id)) continue;
    const recs = await repo.recentFinishedRecords(inst.id, k);
    if (recs.length < k || recs.some((r) => r.status !== 'failed')) continue;
    // The last error by its key when the record has one (the UI shows it in the user's language), else its text.
    const cause = parseStoredMsg(recs[0]!.error_msg) ?? (recs[0]!.error_message ?? '').slice(0, 200);
    // The whole streak, not the rule's k: re-evaluated while open, the event's value and message keep the count current.
    const n = Math.max(k, await repo.failedInARow(inst.id));
    cond(inst, null, n, { key: 'alert.sync_failing', params: { where: where(inst, null), k: n, cause } });
  }
}

export const RULE_EVALUATORS: Record<RuleKind, RuleEvaluator> = {
  size_above: sizeAbove,
  growth_pct: growth,
  growth_bytes: growth,
  days_until_full: daysUntilFull,
  database_disappeared: databaseDisappeared,
  sync_failing: syncFailing,
};
