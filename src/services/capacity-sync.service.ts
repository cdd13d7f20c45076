/**
 * Capacity sync: connect to an instance, collect, save the day, record the run.
 * Knows nothing of HTTP. Every run — manual, batch or scheduled — is a sync
 * session with one record per instance. A record holds the instance's lock
 * row while it runs, so two syncs of one instance never overlap, across
 * processes. Batch and scheduled sessions run with bounded concurrency and
 * retry transient failures with exponential backoff; with a queue (pg-boss)
 * the records are handed to worker processes instead.
 *
 * The parts live in `sync/`: `record-runner` (lock, retries, save),
 * `session-control` (abort signals, cancel polling, graceful stop),
 * `admission` (the estate-wide concurrency), `fetched-records` (queue mode),
 * `sync-context` (deps, parameters, clock) and `messages` (the seed's texts);
 * connections come from `connection.service`. This file starts and ends
 * sessions and tells listeners.
 */
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit } from '../lib/concurrency.js';
import { AppError, type RecordErrorCode } from '../lib/errors.js';
import { newHolder, PROCESS_TAG } from '../lib/process-tag.js';
import { bytesToMb } from '../lib/sizes.js';
import type { InstanceRow, SyncSessionRow } from '../store/schema.js';
import type { Actor } from './audit.service.js';
import { EstateAdmission, type SpareSlots } from './sync/admission.js';
import { FetchedRecords } from './sync/fetched-records.js';
import { MSG } from './sync/messages.js';
import { fail } from './validate.js';
import { HEARTBEAT_MS, leaseMs, outcomeError, RecordRunner, type RecordOutcome } from './sync/record-runner.js';
import { errorColumns } from '../store/sync.repository.js';
import type { Msg } from '../client/shared/i18n/index.js';
import { SessionControl } from './sync/session-control.js';
import { instanceRow, instanceRows, now, params, processConcurrency, type RunParams, type SyncDeps, type SyncType } from './sync/sync-context.js';

export { HEARTBEAT_MS, leaseMs, type RecordOutcome } from './sync/record-runner.js';
export type { RunParams, SyncDeps, SyncQueue } from './sync/sync-context.js';

/** Queued records of a session ending this close together in one process share one "anything left?" check. */
const CLOSE_GATHER_MS = 100;

/** A local batch record waits this long for an estate sync slot at most (a cancel or shutdown ends it sooner). */
const ADMIT_WAIT_MS = 24 * 3600_000;

export interface ManualSyncData {
  saved_count: number;
  databases_count: number;
  total_size_mb: number;
  instance_id: number;
  instance_name: string;
  session_id: string;
  created_count: number;
  updated_count: number;
  deleted_count: number;
  restored_count: number;
  /** In zh-CN; `warning_msgs` by key, in the same order, for the caller's language. */
  warnings: string[];
  warning_msgs: Msg[];
}

/**
 * What the sync service tells listeners (metrics, alerts): every finished
 * record and every closed session. Listeners must not throw; they run after
 * the data is saved.
 */
export interface SyncEvents {
  record: [outcome: RecordOutcome, syncType: SyncType];
  session: [session: { session_id: string; sync_type: SyncType; status: string; total: number; ok: number; failed: number }];
}

export class CapacitySyncService {
  readonly events = new EventEmitter<SyncEvents>();
  private readonly control: SessionControl;
  private readonly runner: RecordRunner;
  /** The estate-wide `sync_concurrency`: slots for local batch records and for queued jobs before they are fetched. */
  readonly admission: EstateAdmission;
  /** Queue mode: the records of a fetch, marked and read together (`fetched`, then `runQueuedRecord`). */
  readonly fetchedRecords: FetchedRecords;

  constructor(private readonly d: SyncDeps) {
    this.control = new SessionControl(d);
    this.runner = new RecordRunner(d, this.control);
    this.admission = new EstateAdmission(d);
    this.fetchedRecords = new FetchedRecords(d.sync);
  }

  /** Sessions are run by queue workers (pg-boss), not by the process that starts them. */
  get queued(): boolean {
    return this.d.queue !== undefined;
  }

  private recentParams: { at: number; value: Promise<RunParams> } | undefined;

  /**
   * The parameters queued records run with: one set for a second at a time,
   * so records of that second share its credential cache (a credential is
   * read and decrypted once a second per process, not once per record; a
   * changed credential applies within the second).
   */
  private queueParams(): Promise<RunParams> {
    const t = performance.now();
    if (!this.recentParams || t - this.recentParams.at > 1000) {
      const entry = { at: t, value: params(this.d, true) };
      entry.value.catch(() => {
        if (this.recentParams === entry) this.recentParams = undefined;
      });
      this.recentParams = entry;
    }
    return this.recentParams.value;
  }

  /** The timeouts and retries a queued record runs with now (the queue's job expiry derives from them). */
  runParams(): Promise<RunParams> {
    return params(this.d, true);
  }

  private emit<K extends keyof SyncEvents>(name: K, ...args: SyncEvents[K]): void {
    try {
      (this.events.emit as (n: K, ...a: SyncEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.d.logger.error({ err, event: name }, 'sync event listener failed');
    }
  }

  private emitSession(s: SyncSessionRow): void {
    this.emit('session', {
      session_id: s.session_id,
      sync_type: s.sync_type as SyncType,
      status: s.status,
      total: s.total_instances,
      ok: s.successful_instances,
      failed: s.failed_instances,
    });
  }

  /**
   * The seed's manual sync of one instance: refused (400) when disabled or
   * without a credential, 409 when a sync of it is already running; otherwise
   * a `manual_single` session with one record. Throws AppError('sync_failed')
   * with the session id when the collection fails.
   */
  async syncInstance(instanceId: number, actor: Actor): Promise<{ message: Msg; data: ManualSyncData }> {
    const inst = await instanceRow(this.d, instanceId);
    if (inst.is_active !== 1) throw new AppError('validation', MSG.disabled);
    if (inst.credential_id === null) throw new AppError('validation', MSG.noCredential);
    if (this.control.stopping) throw new AppError('conflict', MSG.stopping);
    const p = await params(this.d, false);
    const holder = newHolder();
    if (!(await this.runner.lock(inst.id, holder, p))) throw new AppError('conflict', MSG.busy(inst.name));
    let sessionId: string;
    let outcome: RecordOutcome | undefined;
    try {
      const { session, records } = await this.d.sync.createSession({
        sessionId: crypto.randomUUID(),
        syncType: 'manual_single',
        createdBy: actor.userId,
        startedAt: now(this.d),
        owner: PROCESS_TAG,
        instances: [{ id: inst.id, name: inst.name }],
        runningHolder: holder, // the record is created running (the lock is held): no claim; runRecord is given it as before that attempt
      });
      sessionId = session.session_id;
      const signal = this.control.watch(sessionId);
      try {
        outcome = await this.control.track(this.runner.runRecord({ ...records[0]!, attempt: 0 }, inst, p, holder, signal, new Date(session.started_at)));
      } finally {
        this.control.unwatch(sessionId);
      }
    } finally {
      await this.runner.release(inst.id, holder, outcome);
    }
    this.emit('record', outcome, 'manual_single');
    this.emitSession(await this.d.sync.finishSession(sessionId, now(this.d)));
    await this.d.audit.record(actor, {
      action: 'instance.sync_capacity',
      targetType: 'instance',
      targetId: inst.id,
      details: { session_id: sessionId, status: outcome.status },
    });
    if (outcome.status !== 'completed') {
      const cause = outcome.error_msg ?? outcome.error_message ?? '';
      const msg =
        outcome.error_code === 'connection' || outcome.error_code === 'timeout' || outcome.error_code === 'auth'
          ? MSG.unreachable(inst.name, inst.db_type, cause)
          : MSG.failed(cause);
      throw new AppError('sync_failed', msg, outcome.error_code, { session_id: sessionId });
    }
    const c = outcome.counts!;
    return {
      message: MSG.success(c.saved),
      data: {
        saved_count: c.saved,
        databases_count: c.saved,
        total_size_mb: bytesToMb(c.total_size_bytes),
        instance_id: inst.id,
        instance_name: inst.name,
        session_id: sessionId,
        created_count: c.created,
        updated_count: c.updated,
        deleted_count: c.deleted,
        restored_count: c.restored,
        warnings: outcome.warnings,
        warning_msgs: outcome.warning_msgs ?? [],
      },
    };
  }

  /**
   * Start a session over many instances and return its id at once; `done`
   * settles when every record is terminal. Locally: bounded concurrency in
   * this process, with a heartbeat so a crash is recognised. With a queue:
   * one job per instance for the workers.
   */
  async startMany(
    instanceIds: number[] | 'all-active',
    opts: { syncType: SyncType; actor: Actor; onRecord?: (o: RecordOutcome, done: number, total: number) => void },
  ): Promise<{ session_id: string; total: number; done: Promise<{ session_id: string; status: string; outcomes: RecordOutcome[] }> }> {
    // An explicit empty list is not "all": a script whose filter selected nothing must not sync the whole estate.
    if (instanceIds !== 'all-active' && instanceIds.length === 0) fail('instance_ids', MSG.noIds);
    if (this.control.stopping) throw new AppError('conflict', MSG.stopping);
    const s = await this.d.settings();
    const p = await params(this.d, true);
    const rows = instanceIds === 'all-active' ? await this.d.instances.list({ active: true }) : await instanceRows(this.d, [...new Set(instanceIds)]);
    // Asked for by someone, an estate with nothing active gets a clear answer, not an empty session; the nightly
    // run keeps its session (the record that it ran).
    if (rows.length === 0 && opts.syncType !== 'scheduled_task') throw new AppError('conflict', MSG.noActive);
    const { session, records } = await this.d.sync.createSession({
      sessionId: crypto.randomUUID(),
      syncType: opts.syncType,
      createdBy: opts.actor.userId,
      startedAt: now(this.d),
      owner: this.d.queue ? null : PROCESS_TAG,
      instances: rows.map((r) => ({ id: r.id, name: r.name })),
    });
    const sessionId = session.session_id;
    await this.d.audit.record(opts.actor, {
      action: 'sync.batch',
      targetType: 'sync_session',
      targetId: sessionId,
      details: { instances: rows.length, sync_type: opts.syncType },
    });
    this.d.logger.info(
      { session_id: sessionId, sync_type: opts.syncType, instances: rows.length, concurrency: s.sync_concurrency, queue: Boolean(this.d.queue) },
      'sync session started',
    );

    if (this.d.queue) {
      const dropped = new Set(
        await this.d.queue.enqueue(
          records.map((r) => ({ id: r.id, instance_id: r.instance_id })),
          Math.ceil(leaseMs(p) / 1000),
        ),
      );
      for (const r of records.filter((x) => dropped.has(x.id))) {
        await this.d.sync.updateRecord(r.id, { status: 'skipped', completed_at: now(this.d), ...errorColumns(MSG.queued(r.instance_name)) });
      }
      await this.d.sync.finishIfDone(sessionId, now(this.d));
      return { session_id: sessionId, total: records.length, done: this.waitForSession(sessionId) };
    }

    const signal = this.control.watch(sessionId);
    // Each instance row is let go once its record starts: a batch holds only the rows still to run. Held to the end,
    // 10,000 rows were a third of the server's live heap (a heap snapshot mid-batch: ~25 of 72 MB), which V8 lets grow
    // to about twice what is live before a major GC: the peak RSS of a 10,000-instance batch at concurrency 128 went
    // from 297-323 MB to 286-292 MB, runs spreading by about 15 MB (docs/benchmarks-notes.md, session 15).
    const toRun: (InstanceRow | undefined)[] = rows;
    const done = (async () => {
      // A finished record's estate sync slot admits the next record of the session (one store write less each way).
      const spare: SpareSlots = [];
      const beat = setInterval(() => void this.d.sync.heartbeat(sessionId, now(this.d)).catch(() => {}), HEARTBEAT_MS);
      beat.unref();
      try {
        let finished = 0;
        let started = 0;
        const outcomes = await mapLimit(records, processConcurrency(this.d.config, s), async (record, i) => {
          started++;
          // The estate's share: wait for a sync slot (a cancel or a shutdown ends the wait; the record is then skipped).
          const slot = await this.admission.admit(ADMIT_WAIT_MS, signal, spare).catch((err: unknown) => {
            this.d.logger.error({ err, session_id: sessionId }, 'could not take an estate sync slot (store unreachable?); running without it');
            return undefined;
          });
          const instance = toRun[i]!;
          toRun[i] = undefined;
          const o = await this.control
            .track(this.runner.runLocked(record, instance, p, signal))
            .finally(() => this.admission.passOn(slot, spare, records.length - started > spare.length, signal));
          this.emit('record', o, opts.syncType);
          opts.onRecord?.(o, ++finished, records.length);
          return o;
        });
        // Records stopped by a shutdown make the session `interrupted` (a cancel asked for still wins).
        const interrupted = outcomes.some((o) => o.error_code === 'interrupted');
        const closed = await this.d.sync.finishSession(sessionId, now(this.d), interrupted ? 'interrupted' : undefined);
        this.emitSession(closed);
        this.d.logger.info(
          { session_id: sessionId, status: closed.status, ok: closed.successful_instances, failed: closed.failed_instances },
          'sync session finished',
        );
        return { session_id: sessionId, status: closed.status, outcomes };
      } finally {
        clearInterval(beat);
        this.control.unwatch(sessionId);
        await Promise.all(spare.splice(0).map((x) => x.slot.release()));
      }
    })();
    this.control.own(sessionId, done);
    return { session_id: sessionId, total: records.length, done };
  }

  /** `startMany` and wait for the end. */
  async syncMany(...args: Parameters<CapacitySyncService['startMany']>) {
    return (await this.startMany(...args)).done;
  }

  /** Poll a session run by workers until it is closed. */
  private async waitForSession(sessionId: string) {
    for (;;) {
      const s = await this.d.sync.getSession(sessionId);
      if (!s || s.status !== 'running') {
        const recs = await this.d.sync.records(sessionId);
        const outcomes: RecordOutcome[] = recs.map((r) => ({
          record_id: r.id,
          instance_id: r.instance_id,
          instance_name: r.instance_name,
          status: r.status as RecordOutcome['status'],
          attempt: r.attempt,
          // What the worker saved, as the record keeps it (a failed or skipped record saved nothing).
          counts:
            r.status === 'completed' && r.saved_count !== null
              ? {
                  saved: r.saved_count,
                  created: r.created_count ?? 0,
                  updated: r.updated_count ?? 0,
                  deleted: r.deleted_count ?? 0,
                  restored: r.restored_count ?? 0,
                  total_size_bytes: r.total_size_bytes ?? 0,
                }
              : undefined,
          // The store holds only what a runner wrote: a RecordErrorCode.
          error_code: (r.error_code as RecordErrorCode | null) ?? undefined,
          error_message: r.error_message ?? undefined,
          duration_ms: r.duration_ms ?? 0,
          warnings: [],
        }));
        return { session_id: sessionId, status: s?.status ?? 'failed', outcomes };
      }
      await sleep(1000);
    }
  }

  /**
   * Run one queued record (a pg-boss job). Idempotent: a record already
   * completed or skipped is left alone, so a job delivered twice is harmless.
   * 'hand-back': the job goes back to the queue for later (any process): the
   * instance's lock is still held (by a process that may be dead: its lease
   * runs out), or a shutdown stopped the record (it is pending again). A
   * store error throws, which hands the job back too: nothing is marked
   * failed for an outage of the store itself. `freePlace` is called once the
   * collection is in hand: the job's place goes to the next one during the save.
   */
  async runQueuedRecord(recordId: number, freePlace?: () => void): Promise<'done' | 'hand-back' | { after: Promise<unknown> }> {
    // A job fetched while stopping goes back at once.
    if (this.control.stopping) return 'hand-back';
    const queued = await this.fetchedRecords.take(recordId);
    if (!queued) return 'done';
    const { record, syncType, cancelRequested, instance: inst } = queued;
    if (record.status === 'completed' || record.status === 'skipped' || record.status === 'failed') {
      // Run before (this is a redelivery): the session may still have to be closed, if the run that ended it could not.
      await this.closeIfDone(record.session_id);
      return 'done';
    }
    let outcome: RecordOutcome;
    if (cancelRequested) {
      // Cancelled while queued (a retried record included): not started, the session may close.
      await this.d.sync.endIfPending(record.id, now(this.d), MSG.cancelledSkip, 'cancelled');
      await this.closeIfDone(record.session_id);
      return 'done';
    }
    if (!inst) {
      await this.d.sync.updateRecord(record.id, { status: 'failed', completed_at: now(this.d), error_code: 'data', ...errorColumns(MSG.deleted) });
      outcome = {
        record_id: record.id,
        instance_id: record.instance_id,
        instance_name: record.instance_name,
        status: 'failed',
        attempt: record.attempt,
        error_code: 'data',
        ...outcomeError(MSG.deleted),
        duration_ms: 0,
        warnings: [],
      };
    } else {
      const signal = this.control.watch(record.session_id);
      try {
        const o = await this.control.track(this.runner.runLocked(record, inst, await this.queueParams(), signal, true, freePlace));
        if (o === 'busy') return 'hand-back';
        outcome = o;
      } catch (err) {
        // A store error: the job goes back (the caller fails it); first let go of the lock, when the store is back.
        await this.runner.flushReleases(this.d.config.leaseMs);
        throw err;
      } finally {
        this.control.unwatch(record.session_id);
      }
      if (outcome.error_code === 'interrupted') {
        // Stopped by this process's shutdown: pending again, for another process.
        await this.d.sync.handBackRecord(record.id);
        this.d.logger.info({ record_id: record.id, instance_id: inst.id }, 'record handed back to the queue (shutdown)');
        return 'hand-back';
      }
      if (outcome.error_code === 'lease_lost') return 'done';
    }
    this.emit('record', outcome, syncType);
    // The job completes once the session was checked (closed when this was its last record), holding no place meanwhile.
    return { after: this.closeSoon(record.session_id) };
  }

  /** Close the session (and tell listeners) when no record of it is pending or running. */
  private async closeIfDone(sessionId: string): Promise<void> {
    const closed = await this.d.sync.finishIfDone(sessionId, now(this.d));
    if (closed) this.emitSession(closed);
  }

  /** Per session, the "anything left?" check gathering the records that end meanwhile (queue mode). */
  private readonly closeChecks = new Map<string, Promise<void>>();

  /** `closeIfDone` in a check that starts after this call, shared by the session's records ending within CLOSE_GATHER_MS here. */
  private closeSoon(sessionId: string): Promise<void> {
    let check = this.closeChecks.get(sessionId);
    if (!check) {
      check = sleep(CLOSE_GATHER_MS).then(() => {
        // A record ending from now on needs a check of its own: this one may read before it ended.
        this.closeChecks.delete(sessionId);
        return this.closeIfDone(sessionId);
      });
      this.closeChecks.set(sessionId, check);
    }
    return check;
  }

  /**
   * Cancel a running session (API, CLI): records not started become `skipped`
   * at once; running ones are aborted where they are (a collection in flight
   * is dropped and its connection closed; a save already in its transaction
   * completes — a save is all or nothing); the session ends `cancelled` when
   * its last record is terminal. Works whichever process runs the records:
   * they watch the session's flag.
   */
  async cancel(sessionId: string, actor: Actor): Promise<{ session_id: string; status: string; skipped: number; running: number }> {
    const s = await this.d.sync.getSession(sessionId);
    if (!s) throw new AppError('not_found', MSG.sessionNotFound(sessionId));
    if (s.status !== 'running') throw new AppError('conflict', MSG.notRunning(s.status));
    const r = await this.d.sync.requestCancel(sessionId, now(this.d), actor.userId, MSG.cancelledSkip);
    this.control.abort(sessionId, 'cancelled');
    // Sessions run by a queue have no owner to close them when nothing is left running.
    let status = 'running';
    if (s.owner === null) {
      const closed = await this.d.sync.finishIfDone(sessionId, now(this.d));
      if (closed) {
        this.emitSession(closed);
        status = closed.status;
      }
    }
    const running = (await this.d.sync.records(sessionId)).filter((x) => x.status === 'running').length;
    if (r.requested)
      await this.d.audit.record(actor, { action: 'sync.cancel', targetType: 'sync_session', targetId: sessionId, details: { skipped: r.skipped, running } });
    this.d.logger.info({ session_id: sessionId, skipped: r.skipped, running }, 'sync session cancel requested');
    return { session_id: sessionId, status, skipped: r.skipped, running };
  }

  /**
   * Graceful stop (SIGTERM): take no new work; in sessions this process runs,
   * records not started become `skipped`; running records get `boundMs` to
   * finish, then are aborted (nothing half-saved); sessions close
   * `interrupted`. Returns how many records had to be aborted.
   */
  stop(boundMs: number): Promise<{ aborted: number }> {
    return this.control.stop(boundMs);
  }
}
