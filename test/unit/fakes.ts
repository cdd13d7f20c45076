/**
 * In-memory fakes for service unit tests: no database server, no network, a
 * fixed clock and instant sleeps. `newTestRunner()` builds a RecordRunner the
 * way immich's `newTestService` builds a service: `{ sut, mocks }`, where the
 * mocks hold what was written and let a test script what comes back.
 */
import type { Collection, CollectedDatabase } from '../../src/domain/collection.js';
import type { ConnectTarget } from '../../src/engines/engine.js';
import { createLogger } from '../../src/lib/logger.js';
import type { InstanceRow, SyncInstanceRecordRow } from '../../src/store/schema.js';
import { LeaseLost, RecordNotClaimable, type RecordStart } from '../../src/store/sync.repository.js';
import type { SaveCollectionInput, SaveCounts, SyncCompletion } from '../../src/store/capacity.repository.js';
import { Aborted, SlotAhead } from '../../src/services/connection.service.js';
import type { Slot } from '../../src/services/connection-slots.js';
import { RecordRunner } from '../../src/services/sync/record-runner.js';
import type { RunParams, SyncDeps } from '../../src/services/sync/sync-context.js';

export const T0 = new Date('2026-03-01T02:00:00.000Z');

/** A clock that moves only when told. */
export function fakeClock(start = T0) {
  let t = start.getTime();
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

export function instanceRow(over: Partial<InstanceRow> = {}): InstanceRow {
  return {
    id: 1,
    name: 'pg-1',
    db_type: 'postgresql',
    host: '127.0.0.1',
    port: 5432,
    database_name: null,
    credential_id: 7,
    is_active: 1,
    description: null,
    tags: '[]',
    options: '{}',
    tls_enc: null,
    tls_info: null,
    last_connected: null,
    total_size_bytes: null,
    database_count: null,
    last_sync_status: null,
    last_sync_at: null,
    last_sync_error: null,
    last_sync_error_msg: null,
    created_at: T0.toISOString(),
    updated_at: T0.toISOString(),
    ...over,
  };
}

export function recordRow(over: Partial<SyncInstanceRecordRow> = {}): SyncInstanceRecordRow {
  return {
    id: 100,
    session_id: 's-1',
    instance_id: 1,
    instance_name: 'pg-1',
    status: 'pending',
    started_at: null,
    completed_at: null,
    duration_ms: null,
    attempt: 0,
    databases_count: null,
    saved_count: null,
    created_count: null,
    updated_count: null,
    deleted_count: null,
    restored_count: null,
    total_size_bytes: null,
    error_code: null,
    error_message: null,
    error_msg: null,
    details: null,
    holder: null,
    ...over,
  };
}

export function database(name: string, size: number | null = 1000): CollectedDatabase {
  return {
    database_name: name,
    is_system: false,
    size_bytes: size,
    data_bytes: size,
    index_bytes: 0,
    log_bytes: null,
    free_bytes: null,
    used_bytes: null,
    method: 'pg_database_size',
  };
}

export function collection(names = ['a', 'b']): Collection {
  return { databases: names.map((n) => database(n)), warnings: [], server_version: '15.0' };
}

export const params = (over: Partial<RunParams> = {}): RunParams => ({
  connectTimeoutMs: 5000,
  syncTimeoutMs: 10_000,
  retries: 2,
  retryBaseDelayMs: 1000,
  exclusions: {},
  credentials: new Map(),
  ...over,
});

/** The lock table and the records, in memory, with the repository's compare-and-set semantics. */
export class FakeSyncRepository {
  locks = new Map<number, { holder: string; expires_at: string }>();
  records = new Map<number, SyncInstanceRecordRow>();
  /** Every patch written, in order. */
  writes: { id: number; patch: Partial<SyncInstanceRecordRow> }[] = [];

  async acquireLock(instanceId: number, holder: string, now: string, expiresAt: string, start?: RecordStart): Promise<boolean> {
    const cur = this.locks.get(instanceId);
    if (cur && cur.expires_at >= now) return false;
    if (start && !this.claimable(start.recordId)) throw new RecordNotClaimable();
    this.locks.set(instanceId, { holder, expires_at: expiresAt });
    if (start) await this.updateRecord(start.recordId, start.patch as Partial<SyncInstanceRecordRow>);
    return true;
  }
  async takeOverLock(instanceId: number, deadHolder: string, holder: string, _now: string, expiresAt: string, start?: RecordStart): Promise<boolean> {
    if (this.locks.get(instanceId)?.holder !== deadHolder) return false;
    if (start && !this.claimable(start.recordId)) throw new RecordNotClaimable();
    this.locks.set(instanceId, { holder, expires_at: expiresAt });
    if (start) await this.updateRecord(start.recordId, start.patch as Partial<SyncInstanceRecordRow>);
    return true;
  }
  async lockHolder(instanceId: number) {
    const l = this.locks.get(instanceId);
    return l ? { instance_id: instanceId, holder: l.holder, acquired_at: '', expires_at: l.expires_at } : undefined;
  }
  async releaseLock(instanceId: number, holder: string): Promise<void> {
    if (this.locks.get(instanceId)?.holder === holder) this.locks.delete(instanceId);
  }
  private claimable(id: number): boolean {
    const r = this.records.get(id);
    return !r || r.status === 'pending' || r.status === 'running';
  }
  async claimRecord(id: number, patch: Partial<SyncInstanceRecordRow>): Promise<boolean> {
    if (!this.claimable(id)) return false;
    await this.updateRecord(id, patch);
    return true;
  }
  async updateRecord(id: number, patch: Partial<SyncInstanceRecordRow>): Promise<void> {
    this.writes.push({ id, patch });
    const r = this.records.get(id);
    if (r) Object.assign(r, patch);
  }
  /** As the store: only while `holder` still holds the running record; otherwise the lease was lost. */
  async updateHeldRecord(id: number, holder: string, patch: Partial<SyncInstanceRecordRow>): Promise<void> {
    const r = this.records.get(id);
    if (r && (r.holder !== holder || r.status !== 'running')) throw new LeaseLost();
    await this.updateRecord(id, patch);
  }
  async renewLocks(holders: string[], expiresAt: string): Promise<void> {
    for (const l of this.locks.values()) if (holders.includes(l.holder)) l.expires_at = expiresAt;
  }
  async endIfPending(id: number, at: string, message: string, code: string): Promise<void> {
    const r = this.records.get(id);
    if (r && r.status === 'pending') await this.updateRecord(id, { status: 'skipped', completed_at: at, error_message: message, error_code: code });
  }
}

/** Saves succeed (or throw what a test sets) and complete the record and release the lock, as the store method does. */
export class FakeCapacityRepository {
  saves: { input: SaveCollectionInput; done: SyncCompletion }[] = [];
  fail?: Error;
  constructor(private readonly sync: FakeSyncRepository) {}
  async saveSyncedCollection(input: SaveCollectionInput, done: SyncCompletion): Promise<SaveCounts> {
    if (this.fail) throw this.fail;
    const counts: SaveCounts = {
      saved: input.databases.length,
      created: input.databases.length,
      updated: 0,
      deleted: 0,
      restored: 0,
      new_databases: input.databases.length,
      total_size_bytes: input.databases.reduce((s, d) => s + (d.size_bytes ?? 0), 0),
      database_count: input.databases.length,
      deleted_names: [],
      restored_names: [],
    };
    done.details(counts);
    this.saves.push({ input, done });
    await this.sync.updateRecord(done.recordId, { status: 'completed', completed_at: input.collectedAt });
    await this.sync.releaseLock(input.instanceId, done.holder);
    return counts;
  }
}

/** A connection service whose collections are scripted: each call takes the next step (a Collection, an Error, or a function). */
export class FakeConnections {
  steps: (Collection | Error | ((signal?: AbortSignal) => Promise<Collection>))[] = [];
  calls = 0;
  /** Connection slots asked for ahead of a collection (`reserveAhead`), in order: freed (released), or their wait ended (aborted). */
  ahead: { released: boolean; aborted: boolean }[] = [];
  /** When set, a slot asked for ahead comes only once this resolves (default: at once). */
  slotGate?: Promise<void>;
  /** Per collection, in order: whether it ran on the slot asked for ahead. */
  aheadUsed: boolean[] = [];
  /** When set, revealing the credential fails with it. */
  targetError?: Error;
  reserveAhead(_inst: InstanceRow, _p: unknown, signal?: AbortSignal): SlotAhead {
    const entry = { released: false, aborted: false };
    this.ahead.push(entry);
    const dropped = new AbortController();
    const until = signal ? AbortSignal.any([signal, dropped.signal]) : dropped.signal;
    const slot = (async (): Promise<Slot> => {
      await Promise.race([this.slotGate, new Promise((r) => until.addEventListener('abort', r, { once: true }))]);
      if (until.aborted) {
        entry.aborted = true;
        throw new Aborted('cancelled');
      }
      return { holder: 'fake', release: async () => void (entry.released = true) };
    })();
    return new SlotAhead(slot, dropped);
  }
  async target(inst: InstanceRow): Promise<ConnectTarget> {
    if (this.targetError) throw this.targetError;
    return {
      host: inst.host,
      port: inst.port,
      database: null,
      username: 'u',
      password: 's3cret-pw',
      options: {},
      connectTimeoutMs: 5000,
      queryTimeoutMs: 10_000,
    };
  }
  async collect(_inst: InstanceRow, _t: ConnectTarget, _p: unknown, signal?: AbortSignal, ahead?: SlotAhead): Promise<Collection> {
    const early = ahead?.take();
    this.aheadUsed.push(early !== undefined);
    // The real collection frees its slot when its session closes.
    if (early) await (await early).release();
    const step = this.steps[Math.min(this.calls++, this.steps.length - 1)];
    if (step === undefined) throw new Error('no step scripted');
    if (step instanceof Error) throw step;
    return typeof step === 'function' ? step(signal) : step;
  }
}

export function newTestRunner(opts: { stopping?: boolean } = {}) {
  const clock = fakeClock();
  const sync = new FakeSyncRepository();
  const capacity = new FakeCapacityRepository(sync);
  const connections = new FakeConnections();
  const sleeps: number[] = [];
  const syncResults: { id: number; status: string; error: string | null }[] = [];
  const instances = {
    setSyncResult: async (id: number, r: { status: string; at: string; error: string | null }) =>
      void syncResults.push({ id, status: r.status, error: r.error }),
  };
  const control = { stopping: opts.stopping ?? false };
  const deps = {
    config: { timeZone: 'UTC', leaseMs: 45_000, heartbeatMs: 15_000 },
    clock,
    logger: createLogger('silent'),
    sync,
    capacity,
    instances,
    connections,
    sleep: async (ms: number) => void sleeps.push(ms),
  } as unknown as SyncDeps;
  const sut = new RecordRunner(deps, control);
  return { sut, mocks: { clock, sync, capacity, connections, sleeps, syncResults, control } };
}
