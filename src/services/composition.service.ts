/**
 * Where every byte went: each instance's composition (engine parts such as
 * heap, indexes, WAL held by replication slots, binary logs, log files…),
 * collected with the nightly job and on demand, stored a row a day, read
 * back with its history and each part's growth. A part the engine could not
 * measure stays null with its reason (a missing grant is named), never 0.
 */
import { DEFAULT_LOCALE, isMsg, msg, msgText, type Locale, type Msg } from '../client/shared/i18n/index.js';
import { AppError } from '../lib/errors.js';
import { addDays, localDate, type Clock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { errorMessage, SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { withTimeout } from '../lib/timeout.js';
import type { Composition, CompositionPart } from '../domain/composition.js';
import type { DbType } from '../domain/db-type.js';
import type { Engine, EngineSession } from '../engines/engine.js';
import type { CompositionRepository } from '../store/composition.repository.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow } from '../store/schema.js';
import type { ConnectionService } from './connection.service.js';
import { fail } from './validate.js';

/** What a composition collection tells its user, by key (texts in client/shared/i18n/messages/api.ts). */
export const COMPOSITION_MSG = {
  noCredential: msg('api.composition.no_credential'),
  unsupported: (label: string) => msg('api.composition.unsupported', { label }),
  failed: (cause: Msg | string) => msg('api.composition.failed', { cause }),
};

export interface CompositionDeps {
  repo: CompositionRepository;
  instances: InstancesRepository;
  connections: Pick<ConnectionService, 'target' | 'reserve' | 'connect'>;
  engineFor: (dbType: DbType) => Engine;
  settings: () => Promise<{ connect_timeout_ms: number; sync_timeout_ms: number; sync_concurrency: number }>;
  clock: Clock;
  timeZone: string;
  logger: Logger;
}

export interface CompositionView {
  instance_id: number;
  collected_date: string | null;
  collected_at: string | null;
  method: string | null;
  parts: CompositionPart[];
  /** Sum of the measured parts. */
  measured_bytes: number | null;
  ceiling_bytes: number | null;
  ceiling_source: string | null;
  /** The ceiling in detail (SQL Server: each volume's total and free), or `reason` when the engine could not read it. */
  ceiling_detail: Record<string, unknown> | null;
  /** Disk in use minus the measured parts, where the engine reports a disk total; else null. */
  unexplained_bytes: number | null;
  /** Each day's bytes per kind (null: not measured that day), oldest first. */
  history: { date: string; parts: Record<string, number | null> }[];
  /** Per kind: latest minus first measured value in the history window (null: fewer than two measured days). */
  growth: Record<string, number | null>;
}

export class CompositionService {
  constructor(private readonly d: CompositionDeps) {}

  private today(): string {
    return localDate(this.d.clock.now(), this.d.timeZone);
  }

  private async instance(id: number): Promise<InstanceRow> {
    const inst = await this.d.instances.get(id);
    if (!inst) throw new AppError('not_found', msg('api.instance_not_found', { id: id }));
    return inst;
  }

  /** Connect, ask the engine, store today's row. Bounded as a whole by connect + sync timeouts. */
  async collect(instanceId: number, locale: Locale = DEFAULT_LOCALE): Promise<CompositionView> {
    const inst = await this.instance(instanceId);
    if (inst.credential_id === null) throw new AppError('validation', COMPOSITION_MSG.noCredential);
    const engine = this.d.engineFor(inst.db_type as DbType);
    const s = await this.d.settings();
    const target = await this.d.connections.target(inst, { connectTimeoutMs: s.connect_timeout_ms, syncTimeoutMs: s.sync_timeout_ms });
    // Under the connection caps: no slot within the wait is a 429, before anything is tried.
    const slot = await this.d.connections.reserve(inst, { purpose: 'composition' });
    let session: EngineSession | undefined;
    let c: Composition;
    try {
      const work = (async () => {
        const open = (session = await this.d.connections.connect(inst, target, slot));
        try {
          if (!open.composition) throw new SyncError('unsupported', COMPOSITION_MSG.unsupported(engine.label));
          return await open.composition();
        } finally {
          // Also when the timeout gave up on this attempt first: the connection (and its slot) must not stay open.
          void open.close().catch(() => {});
        }
      })();
      c = await withTimeout(work, target.connectTimeoutMs + s.sync_timeout_ms, '空间构成采集', () => void session?.close().catch(() => {}));
    } catch (err) {
      const e = (err instanceof SyncError ? err : engine.classifyError(err, target)).scrubbed([target.password]);
      throw new AppError('sync_failed', COMPOSITION_MSG.failed(e.msg ?? e.message), e.code);
    } finally {
      void session?.close().catch(() => {});
    }
    await this.d.repo.save({
      instance_id: inst.id,
      collected_date: this.today(),
      parts: JSON.stringify(c.parts),
      ceiling_bytes: c.ceiling_bytes,
      ceiling_source: c.ceiling_source,
      disk_used_bytes: c.disk_used_bytes,
      ceiling_detail: c.ceiling_detail ? JSON.stringify(c.ceiling_detail) : null,
      method: c.method,
      collected_at: this.d.clock.now().toISOString(),
    });
    return this.get(inst.id, {}, locale);
  }

  /** The nightly run: every active instance with a credential whose engine can tell; a failure is logged, never fatal. */
  async runDaily(): Promise<string> {
    const s = await this.d.settings();
    const instances = (await this.d.instances.list({ active: true })).filter((i) => i.credential_id !== null);
    let ok = 0;
    let failed = 0;
    await mapLimit(instances, s.sync_concurrency, async (inst) => {
      try {
        await this.collect(inst.id);
        ok++;
      } catch (err) {
        failed++;
        this.d.logger.warn({ instance_id: inst.id, err: errorMessage(err) }, 'daily composition failed');
      }
    });
    return `composition: ${ok} instance(s)${failed ? `, ${failed} failed` : ''}`;
  }

  /** The latest day's parts and the history of the last `days` days. */
  async get(instanceId: number, q: { days?: number } = {}, locale: Locale = DEFAULT_LOCALE): Promise<CompositionView> {
    await this.instance(instanceId);
    const days = q.days ?? 30;
    if (!Number.isInteger(days) || days < 1 || days > 3660) fail('days', msg('api.v.integer', { min: 1, max: 3660 }));
    const to = this.today();
    const rows = await this.d.repo.history(instanceId, addDays(to, -(days - 1)), to);
    const latest = rows[rows.length - 1];
    const parts = latest ? (JSON.parse(latest.parts) as CompositionPart[]).map((p) => inLocale(p, locale)) : [];
    const measured = parts.filter((p) => p.bytes !== null);
    const measuredBytes = measured.length ? measured.reduce((a, p) => a + p.bytes!, 0) : null;
    const history = rows.map((r) => ({
      date: r.collected_date,
      parts: Object.fromEntries((JSON.parse(r.parts) as CompositionPart[]).map((p) => [p.kind, p.bytes])),
    }));
    const growth: Record<string, number | null> = {};
    for (const p of parts) {
      const seen = history.map((h) => h.parts[p.kind]).filter((b): b is number => typeof b === 'number');
      growth[p.kind] = seen.length >= 2 ? seen[seen.length - 1]! - seen[0]! : null;
    }
    return {
      instance_id: instanceId,
      collected_date: latest?.collected_date ?? null,
      collected_at: latest?.collected_at ?? null,
      method: latest?.method ?? null,
      parts,
      measured_bytes: measuredBytes,
      ceiling_bytes: latest?.ceiling_bytes ?? null,
      ceiling_source: latest?.ceiling_source ?? null,
      ceiling_detail: latest?.ceiling_detail ? inLocale(JSON.parse(latest.ceiling_detail) as Record<string, unknown>, locale) : null,
      unexplained_bytes:
        latest?.disk_used_bytes !== null && latest?.disk_used_bytes !== undefined && measuredBytes !== null ? latest.disk_used_bytes - measuredBytes : null,
      history,
      growth,
    };
  }

  /** Engine-reported ceilings (volume size, autoextend max) for the runway, with which of the two each is. */
  async ceilings(instanceIds: readonly number[]): Promise<Map<number, EngineCeiling>> {
    const m = await this.d.repo.latestCeilings(instanceIds);
    // Oracle reports its tablespaces' autoextend maximum; every other engine a volume (SQL Server's dm_os_volume_stats).
    return new Map([...m].map(([id, c]) => [id, { bytes: c.bytes, source: c.source === 'autoextend_max' ? 'autoextend_max' : 'volume' }]));
  }
}

/**
 * A stored part (or ceiling detail) with its reason in the reader's language: by `reason_msg` when it has one;
 * a row stored before the keys keeps its text as it was.
 */
function inLocale<T extends { reason?: unknown; reason_msg?: unknown }>(x: T, locale: Locale): T {
  return isMsg(x.reason_msg) ? { ...x, reason: msgText(x.reason_msg, locale) } : x;
}

/** An instance's ceiling as its engine reports it, in the runway's vocabulary. */
export interface EngineCeiling {
  bytes: number;
  source: 'volume' | 'autoextend_max';
}
