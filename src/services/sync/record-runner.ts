/**
 * The record runner: run one instance's record of a session under the
 * instance's lock — take the lock (a dead holder's is taken over), collect
 * with retries and exponential backoff, save the day and complete the record
 * in one transaction, or record why it failed. Never throws for a collection
 * failure: the record says why.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection } from '../../domain/collection.js';
import { localDate } from '../../lib/clock.js';
import { yieldToIo } from '../../lib/concurrency.js';
import { AppError, SyncError, errorMessage, type RecordErrorCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { activeHolders, holderAlive, newHolder, releaseHolder } from '../../lib/process-tag.js';
import type { SaveCounts } from '../../store/capacity.repository.js';
import { storeRefused } from '../../store/db.js';
import type { InstanceRow } from '../../store/schema.js';
import { LeaseLost, RecordNotClaimable, type RecordRef } from '../../store/sync.repository.js';
import { Aborted, abortReason, type SlotAhead } from '../connection.service.js';
import { SlotStoreError } from '../connection-slots.js';
import { MSG } from './messages.js';
import { errorColumns } from '../../store/sync.repository.js';
import { isMsg, msg, msgText, textOf, type Msg } from '../../client/shared/i18n/index.js';
import type { SessionControl } from './session-control.js';
import { now, type RecordStart, type RunParams, type SyncDeps } from './sync-context.js';

/** Sessions write a heartbeat this often; recovery treats 4 missed beats as a dead owner. */
export const HEARTBEAT_MS = 15_000;

/** The outcome of one instance within a session. */
export interface RecordOutcome {
  record_id: number;
  instance_id: number;
  instance_name: string;
  /** The instance's engine, when the record ran (labels the duration histogram without a store read). */
  db_type?: string;
  status: 'completed' | 'failed' | 'skipped';
  attempt: number;
  /** What a completed record saved: in-process the save's own counts; from a worker, as its record row keeps them. */
  counts?: Pick<SaveCounts, 'saved' | 'created' | 'updated' | 'deleted' | 'restored' | 'total_size_bytes'>;
  error_code?: RecordErrorCode;
  error_message?: string;
  /** `error_message` by key, when it has one (the UI renders it in its language). */
  error_msg?: Msg;
  duration_ms: number;
  warnings: string[];
  /** `warnings` by key, in the same order (a completed record's). */
  warning_msgs?: Msg[];
}

/** Backoff before retry n (1-based): base × 2^(n-1), ±20 % jitter. */
export function backoffMs(base: number, n: number): number {
  const d = base * 2 ** (n - 1);
  return Math.round(d * (0.8 + Math.random() * 0.4));
}

/**
 * How long a record may hold its lock (and a queued job may run): every
 * attempt is bounded by connect + sync timeout, plus the backoffs, plus a
 * margin for saving. Past it, the holder is presumed dead.
 */
export function leaseMs(p: Pick<RunParams, 'connectTimeoutMs' | 'syncTimeoutMs' | 'retries' | 'retryBaseDelayMs'>): number {
  let backoff = 0;
  for (let n = 1; n <= p.retries; n++) backoff += p.retryBaseDelayMs * 2 ** (n - 1) * 1.2;
  return (p.connectTimeoutMs + p.syncTimeoutMs) * (p.retries + 1) + backoff + 10_000;
}

/** Saving failed in the store (not the instance's fault). */
class StoreFailure extends Error {
  constructor(readonly storeError: unknown) {
    super(errorMessage(storeError));
  }
}

export class RecordRunner {
  private renewTimer: NodeJS.Timeout | undefined;
  /** Locks whose release failed on a store error (holder → instance id). */
  private readonly pendingReleases = new Map<string, number>();

  constructor(
    private readonly deps: SyncDeps,
    private readonly control: Pick<SessionControl, 'stopping'>,
  ) {}

  /**
   * Take the instance's lock (and, with `start`, mark its record running in
   * the same transaction): false when busy, 'cancelled' when the record was
   * skipped first. A lock left by a dead process on this host is taken over
   * at once; one held on another host waits for its lease to end.
   */
  async lock(instanceId: number, holder: string, p: RunParams, start?: RecordStart): Promise<boolean | 'cancelled'> {
    const at = this.deps.clock.now();
    // The lease is short and renewed while the work runs (renewLocks): a dead process's lock ends a lease after its last beat.
    const expires = new Date(at.getTime() + Math.min(leaseMs(p), this.deps.config.leaseMs)).toISOString();
    let locked: boolean | 'cancelled' = false;
    try {
      if (await this.deps.sync.acquireLock(instanceId, holder, at.toISOString(), expires, start)) locked = true;
      else {
        const current = await this.deps.sync.lockHolder(instanceId);
        if (current && holderAlive(current.holder) === false) {
          this.deps.logger.warn({ instance_id: instanceId, dead_holder: current.holder }, 'taking over the lock of a dead process');
          locked = await this.deps.sync.takeOverLock(instanceId, current.holder, holder, at.toISOString(), expires, start);
        }
      }
    } catch (err) {
      if (!(err instanceof RecordNotClaimable)) {
        releaseHolder(holder);
        throw err;
      }
      locked = 'cancelled';
    }
    if (locked !== true) releaseHolder(holder);
    else this.renewWhileRunning();
    return locked;
  }

  /** Run a record of a batch or a queue: skipped when stopped, disabled or busy; otherwise under the instance's lock. */
  async runLocked(record: RecordRef, inst: InstanceRow, p: RunParams, signal?: AbortSignal): Promise<RecordOutcome>;
  async runLocked(
    record: RecordRef,
    inst: InstanceRow,
    p: RunParams,
    signal: AbortSignal | undefined,
    queued: true,
    collected?: () => void,
  ): Promise<RecordOutcome | 'busy'>;
  /**
   * `queued`: a busy instance is 'busy' (the job is handed back and retried) instead of a skipped record.
   * `collected`: called once the collection is in hand, before it is saved (runRecord).
   */
  async runLocked(
    record: RecordRef,
    inst: InstanceRow,
    p: RunParams,
    signal?: AbortSignal,
    queued = false,
    collected?: () => void,
  ): Promise<RecordOutcome | 'busy'> {
    const skip = async (why: Msg): Promise<RecordOutcome> => {
      await this.deps.sync.updateRecord(record.id, { status: 'skipped', completed_at: now(this.deps), ...errorColumns(why) });
      return {
        record_id: record.id,
        instance_id: inst.id,
        instance_name: inst.name,
        status: 'skipped',
        attempt: record.attempt,
        ...outcomeError(why),
        duration_ms: 0,
        warnings: [],
      };
    };
    const stopped = abortReason(signal) ?? (this.control.stopping ? 'shutdown' : undefined);
    // A queued record this process no longer has time for goes back to the queue, for another process.
    if (stopped === 'shutdown' && queued) return 'busy';
    if (stopped) {
      const [message, code] = stopped === 'shutdown' ? [MSG.shutdownSkip, 'interrupted' as const] : [MSG.cancelledSkip, 'cancelled' as const];
      await this.deps.sync.endIfPending(record.id, now(this.deps), message, code);
      return this.notStarted(record, inst, code);
    }
    if (inst.is_active !== 1) return skip(MSG.disabled);
    const holder = newHolder();
    // At concurrency 32 the store work of many instances comes due together: let ready replies go first.
    await yieldToIo();
    // Taking the lock marks the record running (first attempt) in the same transaction.
    const startedAt = this.deps.clock.now();
    const running = { status: 'running' as const, attempt: record.attempt + 1, holder, started_at: startedAt.toISOString() };
    // Its connection slot is asked for with the lock, not after it: two store round trips at once (on the
    // PostgreSQL store at c=32, 4-5 ms a record sooner; docs/benchmarks-notes.md, session 20).
    const ahead = this.deps.connections.reserveAhead(inst, p, signal);
    let locked: boolean | 'cancelled' = false;
    try {
      locked = await this.lock(inst.id, holder, p, { recordId: record.id, patch: running });
    } finally {
      if (locked !== true) ahead.drop();
    }
    if (locked === 'cancelled') return this.notStarted(record, inst, 'cancelled');
    if (!locked) return queued ? 'busy' : skip(MSG.busy(inst.name));
    let outcome: RecordOutcome | undefined;
    try {
      outcome = await this.runRecord(record, inst, p, holder, signal, startedAt, collected, ahead);
      return outcome;
    } finally {
      ahead.drop();
      await this.release(inst.id, holder, outcome);
    }
  }

  /** The end of a holder's work: its lock goes (a completed record released it in its own transaction). */
  async release(instanceId: number, holder: string, outcome: RecordOutcome | undefined): Promise<void> {
    try {
      if (outcome?.status !== 'completed') await this.deps.sync.releaseLock(instanceId, holder);
    } catch (err) {
      // Store unreachable: release it once the store answers (flushReleases), so a retry need not wait out the lease.
      this.pendingReleases.set(holder, instanceId);
      throw err;
    } finally {
      // Even when the store is unreachable: the lock is no longer renewed and expires after its lease.
      releaseHolder(holder);
    }
  }

  /** Release the locks a store error left behind; retried until the store answers or `withinMs` passes. */
  async flushReleases(withinMs: number): Promise<void> {
    const until = Date.now() + withinMs;
    for (let wait = 250; this.pendingReleases.size > 0 && Date.now() < until && !this.control.stopping; wait = Math.min(wait * 2, 4_000)) {
      try {
        for (const [holder, instanceId] of [...this.pendingReleases]) {
          await this.deps.sync.releaseLock(instanceId, holder);
          this.pendingReleases.delete(holder);
        }
      } catch {
        await sleep(wait);
      }
    }
  }

  /** While this process holds locks, push their expiry every heartbeat; a failed renewal is retried at the next beat. */
  private renewWhileRunning(): void {
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => {
      const holders = activeHolders();
      if (holders.length === 0) {
        clearInterval(this.renewTimer);
        this.renewTimer = undefined;
        return;
      }
      const expires = new Date(this.deps.clock.now().getTime() + this.deps.config.leaseMs).toISOString();
      this.deps.sync
        .renewLocks(holders, expires)
        .catch((err) => this.deps.logger.warn({ err, holders: holders.length }, 'could not renew sync leases (store unreachable?)'));
    }, this.deps.config.heartbeatMs);
    this.renewTimer.unref();
  }

  /** The outcome of a record a cancel or a shutdown skipped before it started. */
  notStarted(record: RecordRef, inst: Pick<InstanceRow, 'id' | 'name'>, code: 'cancelled' | 'interrupted'): RecordOutcome {
    const message = code === 'interrupted' ? MSG.shutdownSkip : MSG.cancelledSkip;
    return {
      record_id: record.id,
      instance_id: inst.id,
      instance_name: inst.name,
      status: 'skipped',
      attempt: record.attempt,
      error_code: code,
      ...outcomeError(message),
      duration_ms: 0,
      warnings: [],
    };
  }

  /**
   * Collect and save one instance under its record, retrying transient
   * failures (connection, timeout) `p.retries` times with exponential
   * backoff. Never throws for a collection failure: the record says why.
   * `runningSince`: the record was already marked running (first attempt)
   * at that time, together with taking the lock. A completed record releases
   * the lock in the transaction that saves it; otherwise the caller does.
   * `collected`: told when the collection is in hand and only its save is
   * left (a queued job's place goes to the next job then: `sync_concurrency`
   * counts collections, docs/operations.md). `ahead`: its connection slot, asked for already (the first
   * attempt's; `reserveAhead`).
   */
  async runRecord(
    record: RecordRef,
    inst: InstanceRow,
    p: RunParams,
    holder: string,
    signal?: AbortSignal,
    runningSince?: Date,
    collected?: () => void,
    ahead?: SlotAhead,
  ): Promise<RecordOutcome> {
    const startedAt = runningSince ?? this.deps.clock.now();
    const t0 = performance.now();
    const base = { record_id: record.id, instance_id: inst.id, instance_name: inst.name, db_type: inst.db_type };
    const log = this.deps.logger.child({ instance_id: inst.id, instance_name: inst.name, session_id: record.session_id });
    let password: string | undefined;
    let attempt = record.attempt;
    for (let tries = 1; ; tries++) {
      attempt++;
      if (tries === 1 && !runningSince) {
        // Compare-and-set: a cancel that skipped the record first wins.
        const running = { status: 'running' as const, attempt, holder, started_at: startedAt.toISOString() };
        if (!(await this.deps.sync.claimRecord(record.id, running))) return this.notStarted(record, inst, 'cancelled');
      } else if (tries > 1) {
        await this.deps.sync.updateRecord(record.id, { status: 'running', attempt, holder });
      }
      // debug: at info, a batch logs one line per record (completed or failed), not two; each line costs the loop a write.
      log.debug({ attempt }, 'capacity sync started');
      try {
        const before = abortReason(signal);
        if (before) throw new Aborted(before);
        const target = await this.deps.connections.target(inst, p);
        password = target.password;
        const collection = await this.deps.connections.collect(inst, target, p, signal, ahead);
        if (collection.databases.length === 0) throw new SyncError('data', MSG.empty);
        // Stopped between collecting and saving: save nothing.
        const stopped = abortReason(signal);
        if (stopped) throw new Aborted(stopped);
        collected?.();
        await yieldToIo();
        try {
          return await this.save(record, inst, collection, startedAt, t0, attempt, log, holder);
        } catch (err) {
          if (err instanceof LeaseLost) {
            log.warn({ attempt }, 'capacity sync not saved: its lease ran out and another process has the record');
            return {
              ...base,
              status: 'failed',
              attempt,
              error_code: 'lease_lost',
              error_message: err.message,
              duration_ms: Math.round(performance.now() - t0),
              warnings: [],
            };
          }
          // The store failed, not the instance: the caller hands the record back (queue) or fails it (local).
          throw new StoreFailure(err);
        }
      } catch (err) {
        // A store outage hands a queued record back (any process runs it again); a statement the store refused for
        // its values would fail the same way forever: the record fails, saying why, as it does without a queue.
        if ((err instanceof StoreFailure || err instanceof SlotStoreError) && this.deps.queue && !storeRefused(err.storeError)) throw err.storeError;
        const why = err instanceof Aborted ? err.reason : abortReason(signal);
        if (why) {
          const [code, message] = why === 'shutdown' ? (['interrupted', MSG.shutdownAbort] as const) : (['cancelled', MSG.cancelledAbort] as const);
          const duration = Math.round(performance.now() - t0);
          await this.deps.sync.updateRecord(record.id, {
            status: 'failed',
            completed_at: now(this.deps),
            duration_ms: duration,
            error_code: code,
            ...errorColumns(message),
          });
          log.warn({ error_code: code, attempt, duration_ms: duration }, 'capacity sync aborted');
          return { ...base, status: 'failed', attempt, error_code: code, ...outcomeError(message), duration_ms: duration, warnings: [] };
        }
        const e = (
          err instanceof SyncError
            ? err
            : err instanceof AppError
              ? new SyncError('data', err.msg ?? err.message)
              : new SyncError('internal', errorMessage(err))
        ).scrubbed([password]);
        const message = e.message;
        const stored = e.msg ?? message;
        if (e.transient && tries <= p.retries) {
          const wait = backoffMs(p.retryBaseDelayMs, tries);
          log.warn({ error_code: e.code, error: message, error_msg: e.msg ?? null, attempt, retry_in_ms: wait }, 'capacity sync failed, will retry');
          await (this.deps.sleep ?? sleep)(wait);
          continue;
        }
        const duration = Math.round(performance.now() - t0);
        if (
          !(await this.deps.sync
            .updateHeldRecord(record.id, holder, {
              status: 'failed',
              completed_at: now(this.deps),
              duration_ms: duration,
              error_code: e.code,
              ...errorColumns(stored),
            })
            .then(
              () => true,
              (x: unknown) => {
                if (x instanceof LeaseLost) return false;
                throw x;
              },
            ))
        ) {
          return { ...base, status: 'failed', attempt, error_code: 'lease_lost', error_message: 'lease lost', duration_ms: duration, warnings: [] };
        }
        await this.deps.instances.setSyncResult(inst.id, { status: 'failed', at: now(this.deps), error: stored });
        log.warn({ error_code: e.code, error: message, error_msg: e.msg ?? null, attempt, duration_ms: duration }, 'capacity sync failed');
        return { ...base, status: 'failed', attempt, error_code: e.code, ...outcomeError(stored), duration_ms: duration, warnings: [] };
      }
    }
  }

  /** Save the collection, complete the record and release the instance's lock in one transaction (one store method). */
  private async save(
    record: RecordRef,
    inst: InstanceRow,
    collection: Collection,
    startedAt: Date,
    t0: number,
    attempt: number,
    log: Logger,
    holder: string,
  ): Promise<RecordOutcome> {
    // The day a collection belongs to is the day it started (documented).
    const day = localDate(startedAt, this.deps.config.timeZone);
    const lines = [...collection.warnings];
    const unmeasured = collection.databases.filter((x) => x.size_bytes === null);
    if (unmeasured.length)
      lines.push(
        MSG.unmeasured(
          unmeasured.length,
          unmeasured.slice(0, 5).map((x) => x.database_name),
        ),
      );
    // The record keeps each warning's text and its key; the instance keeps them joined, as text and as one keyed message.
    const warnings = lines.map((w) => textOf(w));
    const warningMsgs = lines.map((w) => (typeof w === 'string' ? msg('api.sync.warning_text', { text: w }) : w));
    const completedAt = now(this.deps);
    const duration = Math.round(performance.now() - t0);
    const counts = await this.deps.capacity.saveSyncedCollection(
      { instanceId: inst.id, collectedDate: day, collectedAt: completedAt, databases: collection.databases, excludedNames: collection.excluded },
      {
        recordId: record.id,
        holder,
        durationMs: duration,
        details: (c) => ({
          collected_date: day,
          server_version: collection.server_version,
          method: collection.databases[0]?.method ?? null,
          new_databases: c.new_databases,
          deleted_databases: c.deleted_names.slice(0, 100),
          restored_databases: c.restored_names.slice(0, 100),
          warnings,
          warning_msgs: warningMsgs,
        }),
        instanceError: warnings.length ? warnings.join('; ') : null,
        instanceErrorMsg: warningMsgs.length ? warningMsgs.reduceRight((rest, first) => msg('api.sync.warning_list', { first, rest })) : null,
      },
    );
    log.info(
      {
        attempt,
        databases: counts.saved,
        created: counts.created,
        updated: counts.updated,
        deleted: counts.deleted,
        restored: counts.restored,
        total_size_bytes: counts.total_size_bytes,
        duration_ms: duration,
      },
      'capacity sync completed',
    );
    return {
      record_id: record.id,
      instance_id: inst.id,
      instance_name: inst.name,
      db_type: inst.db_type,
      status: 'completed',
      attempt,
      counts,
      duration_ms: duration,
      warnings,
      warning_msgs: warningMsgs,
    };
  }
}

/** An outcome's error fields from a message (keyed, or the text of an unkeyed error). */
export function outcomeError(m: Msg | string): Pick<RecordOutcome, 'error_message' | 'error_msg'> {
  return isMsg(m) ? { error_message: msgText(m), error_msg: m } : { error_message: m };
}
