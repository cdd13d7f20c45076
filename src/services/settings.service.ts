/**
 * Settings an admin may change at run time (API / settings page). The
 * environment gives the defaults; a stored value overrides it. Every reader
 * asks `effective()` when it starts work, so a change applies to the next run.
 */
import { Cron } from 'croner';
import type { Config } from '../config.js';
import { DB_TYPES, type DbType } from '../domain/db-type.js';
import type { Clock } from '../lib/clock.js';
import type { SettingsRepository } from '../store/settings.repository.js';
import { diff, type Actor, type AuditService } from './audit.service.js';
import { exclusionPatterns } from './instances.service.js';
import { bool, fail, integer } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

export interface EffectiveSettings {
  sync_cron: string;
  aggregation_cron: string;
  /** Syncs running at once in the whole estate (every process on the store), and the most one process runs. */
  sync_concurrency: number;
  /** Connections at once to one monitored instance, from every process and feature (sync, test, doctor, tables, composition). */
  connections_per_instance: number;
  /** Connections at once to all monitored instances together. */
  connections_total: number;
  connect_timeout_ms: number;
  sync_timeout_ms: number;
  /** Retries of a transient failure (connection, timeout) in batch and scheduled syncs. */
  sync_retries: number;
  /** First retry delay; doubles each time (with ±20 % jitter). */
  retry_base_delay_ms: number;
  /** Run a scheduled sync missed while the service was down, once, at start. */
  catch_up: boolean;
  /** Database-name patterns never collected, per engine (e.g. mysql: ["tmp_%"]); instances add their own. */
  exclusions: Partial<Record<DbType, string[]>>;
  /** Days of raw daily rows kept (database_size_stats); null = keep forever. Aggregates are always kept. */
  retention_days: number | null;
  /** Days the per-sync series is kept (the "since last sync" and same-day changes); pruned by the retention job. */
  sync_points_days: number;
  /** Showback in the monthly capacity report: the price of one GB held for a month (0 = no showback). */
  showback_rate_per_gb_month: number;
  /** The currency label printed with the showback (e.g. CNY, USD). */
  showback_currency: string;
}

type Validator = (v: unknown) => unknown;

export function validCron(field: string, v: unknown): string {
  if (typeof v !== 'string' || !v.trim() || v.length > 100) fail(field, msg('api.v.cron'));
  try {
    new Cron(v.trim(), { paused: true });
  } catch (err) {
    fail(field, msg('api.v.bad_cron', { detail: (err as Error).message }));
  }
  return v.trim();
}

const VALIDATORS: Record<keyof EffectiveSettings, Validator> = {
  sync_cron: (v) => validCron('sync_cron', v),
  aggregation_cron: (v) => validCron('aggregation_cron', v),
  sync_concurrency: (v) => integer('sync_concurrency', v, 1, 256),
  connections_per_instance: (v) => integer('connections_per_instance', v, 1, 64),
  connections_total: (v) => integer('connections_total', v, 1, 4096),
  connect_timeout_ms: (v) => integer('connect_timeout_ms', v, 100, 600_000),
  sync_timeout_ms: (v) => integer('sync_timeout_ms', v, 1_000, 86_400_000),
  sync_retries: (v) => integer('sync_retries', v, 0, 10),
  retry_base_delay_ms: (v) => integer('retry_base_delay_ms', v, 0, 600_000),
  catch_up: (v) => bool('catch_up', v),
  retention_days: (v) => (v === null ? null : integer('retention_days', v, 30, 36_500)),
  sync_points_days: (v) => integer('sync_points_days', v, 1, 3650),
  showback_rate_per_gb_month: (v) => {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 1_000_000) fail('showback_rate_per_gb_month', msg('api.v.rate'));
    return n;
  },
  showback_currency: (v) => {
    if (typeof v !== 'string' || !/^[A-Za-z¥$€£]{1,8}$/.test(v.trim())) fail('showback_currency', msg('api.v.currency'));
    return v.trim();
  },
  exclusions: (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('exclusions', msg('api.v.exclusions'));
    const out: Partial<Record<DbType, string[]>> = {};
    for (const [k, patterns] of Object.entries(v as Record<string, unknown>)) {
      if (!(DB_TYPES as readonly string[]).includes(k)) fail(`exclusions.${k}`, msg('api.v.unknown_db_type', { list: DB_TYPES.join(', ') }));
      out[k as DbType] = exclusionPatterns(`exclusions.${k}`, patterns);
    }
    return out;
  },
};

export class SettingsService {
  constructor(
    private readonly repo: SettingsRepository,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  defaults(): EffectiveSettings {
    const c = this.config;
    return {
      sync_cron: c.syncCron,
      aggregation_cron: c.aggregationCron,
      sync_concurrency: c.syncConcurrency,
      connections_per_instance: c.connectionsPerInstance,
      connections_total: c.connectionsTotal,
      connect_timeout_ms: c.connectTimeoutMs,
      sync_timeout_ms: c.syncTimeoutMs,
      sync_retries: c.syncRetries,
      retry_base_delay_ms: c.retryBaseDelayMs,
      catch_up: c.catchUp,
      exclusions: {},
      retention_days: null,
      sync_points_days: c.syncPointsDays,
      showback_rate_per_gb_month: 0,
      showback_currency: 'CNY',
    };
  }

  private recent: { at: number; value: Promise<EffectiveSettings> } | undefined;

  /**
   * The settings as read at most `maxAgeMs` ago (default 1 s): the sync's hot
   * path (every fetch and every queued record asks) reads the store once a
   * second, not once per record. A change made in this process applies at
   * once (`update` forgets the copy); one made by another process within
   * `maxAgeMs`.
   */
  current(maxAgeMs = 1000): Promise<EffectiveSettings> {
    const now = performance.now();
    if (!this.recent || now - this.recent.at > maxAgeMs) {
      const value = this.effective();
      const entry = { at: now, value };
      value.catch(() => {
        if (this.recent === entry) this.recent = undefined;
      });
      this.recent = entry;
    }
    return this.recent.value;
  }

  async effective(): Promise<EffectiveSettings> {
    const stored = await this.repo.all();
    const out = this.defaults();
    for (const key of Object.keys(VALIDATORS) as (keyof EffectiveSettings)[]) {
      if (stored[key] === undefined) continue;
      try {
        (out as unknown as Record<string, unknown>)[key] = VALIDATORS[key](stored[key]);
      } catch {
        /* a stored value that no longer validates falls back to the default */
      }
    }
    return out;
  }

  /** Validate every field first, then store them all (or nothing). `null` resets a key to its default. */
  async update(patch: Record<string, unknown>, actor: Actor): Promise<EffectiveSettings> {
    const clean: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(patch)) {
      if (!(key in VALIDATORS)) fail(key, msg('api.v.unknown_setting'));
      clean[key] = value === null ? null : VALIDATORS[key as keyof EffectiveSettings](value);
    }
    if (Object.keys(clean).length === 0) fail('body', msg('api.v.nothing_to_change'));
    const before = (await this.effective()) as unknown as Record<string, unknown>;
    this.recent = undefined;
    await this.repo.set(clean, this.clock.now().toISOString(), actor.username);
    this.recent = undefined;
    const after = (await this.effective()) as unknown as Record<string, unknown>;
    const keys = Object.fromEntries(Object.keys(clean).map((k) => [k, after[k]]));
    await this.audit.record(actor, { action: 'settings.update', targetType: 'settings', details: { changed: diff(before, keys), requested: clean } });
    return this.effective();
  }
}
