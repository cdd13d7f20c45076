/**
 * What every part of the capacity sync shares, below them all: the deps, the
 * run's parameters from the settings, the clock, and the instance lookup. The
 * record runner, session control and the service depend on this module and
 * never on each other's callers, so the parts have no import circle.
 */
import type { Config } from '../../config.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { CapacityRepository } from '../../store/capacity.repository.js';
import type { InstancesRepository } from '../../store/instances.repository.js';
import type { InstanceRow } from '../../store/schema.js';
import type { SyncRepository } from '../../store/sync.repository.js';
import type { AuditService } from '../audit.service.js';
import { instanceOrThrow, type ConnectionService, type ConnectParams, type StopReason } from '../connection.service.js';
import type { ConnectionSlots } from '../connection-slots.js';
import type { EffectiveSettings } from '../settings.service.js';

export type { RecordStart, SyncRepository, SyncType } from '../../store/sync.repository.js';
export type { Clock } from '../../lib/clock.js';
export type { StopReason };

/** Hands records to other processes (pg-boss). Returns the ids it could not queue. */
export interface SyncQueue {
  enqueue(records: { id: number; instance_id: number }[], expireInSeconds: number): Promise<number[]>;
}

export interface SyncDeps {
  config: Pick<Config, 'timeZone' | 'leaseMs' | 'heartbeatMs' | 'processConcurrency'>;
  settings: () => Promise<EffectiveSettings>;
  /** The settings as recent as an admission needs (the estate's `sync_concurrency`, at most 250 ms old); `settings` when absent. */
  settingsNow?: () => Promise<EffectiveSettings>;
  clock: Clock;
  logger: Logger;
  instances: InstancesRepository;
  capacity: CapacityRepository;
  sync: SyncRepository;
  connections: ConnectionService;
  /** The store-side semaphores: the estate-wide `sync_concurrency` (scope `sync`). */
  slots: ConnectionSlots;
  audit: AuditService;
  /** Set in pg-boss mode: sessions are run by workers. */
  queue?: SyncQueue;
  /** Tests shorten the backoff. */
  sleep?: (ms: number) => Promise<void>;
}

/** Syncs this process runs at once: the estate's `sync_concurrency`, or less with WHALEFALL_PROCESS_CONCURRENCY. */
export function processConcurrency(config: Pick<Config, 'processConcurrency'>, s: Pick<EffectiveSettings, 'sync_concurrency'>): number {
  return config.processConcurrency > 0 ? Math.min(config.processConcurrency, s.sync_concurrency) : s.sync_concurrency;
}

/** Timeouts and retries of one run, fixed when the run starts. */
export interface RunParams extends Required<ConnectParams> {
  retries: number;
  retryBaseDelayMs: number;
}

/** The parameters of a run. A person waiting on the 同步容量 button (`batch` false) gets the first answer, not a retried one. */
export async function params(deps: Pick<SyncDeps, 'settings'>, batch: boolean): Promise<RunParams> {
  const s = await deps.settings();
  return {
    connectTimeoutMs: s.connect_timeout_ms,
    syncTimeoutMs: s.sync_timeout_ms,
    retries: batch ? s.sync_retries : 0,
    retryBaseDelayMs: s.retry_base_delay_ms,
    exclusions: s.exclusions,
    credentials: new Map(),
  };
}

/** The instance row, or not_found. */
export function instanceRow(deps: Pick<SyncDeps, 'instances'>, id: number): Promise<InstanceRow> {
  return instanceOrThrow(deps.instances, id);
}

/** The rows of these instances, in the order given (one read per 1,000, not one per instance); not_found for a missing one. */
export async function instanceRows(deps: Pick<SyncDeps, 'instances'>, ids: number[]): Promise<InstanceRow[]> {
  const byId = new Map<number, InstanceRow>();
  for (let i = 0; i < ids.length; i += 1000) for (const r of await deps.instances.list({ ids: ids.slice(i, i + 1000) })) byId.set(r.id, r);
  const out: InstanceRow[] = [];
  for (const id of ids) out.push(byId.get(id) ?? (await instanceRow(deps, id)));
  return out;
}

/** Now, as the store writes it. */
export function now(deps: Pick<SyncDeps, 'clock'>): string {
  return deps.clock.now().toISOString();
}
