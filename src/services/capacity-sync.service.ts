/**
 * Capacity sync: connect to an instance, collect, save the day, record the run.
 * Knows nothing of HTTP. Every run — manual, batch or scheduled — is a sync
 * session with one record per instance. A record holds the instance's lock
 * row while it runs, so two syncs of one instance never overlap, across
 * processes. Batch and scheduled sessions run with bounded concurrency and
 * retry transient failures with exponential backoff; with a queue (pg-boss)
 * the records are handed to worker processes instead.
 */
import crypto from 'node:crypto';
import { EventEmitter, setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import type { Collection, ConnectTarget, DbType, Engine, InstanceOptions, PrivilegeCheck } from '../engines/engine.js';
import { localDate, type Clock } from '../lib/clock.js';
import { mapLimit, yieldToIo } from '../lib/concurrency.js';
import { AppError, SyncError, errorMessage, scrubSecrets } from '../lib/errors.js';
import { excludedBy } from '../lib/glob.js';
import type { Logger } from '../lib/logger.js';
import { activeHolders, holderAlive, newHolder, PROCESS_TAG, releaseHolder } from '../lib/process-tag.js';
import { bytesToMb } from '../lib/sizes.js';
import { withTimeout } from '../lib/timeout.js';
import type { CapacityRepository, SaveCounts } from '../store/capacity.repository.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow, SyncInstanceRecordRow, SyncSessionRow } from '../store/schema.js';
import { LeaseLost, RecordNotClaimable, type RecordStart, type SyncRepository, type SyncType } from '../store/sync.repository.js';
import type { Actor, AuditService } from './audit.service.js';
import type { CredentialsService } from './credentials.service.js';
import type { EffectiveSettings } from './settings.service.js';

/** Hands records to other processes (pg-boss). Returns the ids it could not queue. */
export interface SyncQueue {
  enqueue(records: { id: number; instance_id: number }[], expireInSeconds: number): Promise<number[]>;
}

export interface SyncDeps {
  config: Pick<Config, 'timeZone' | 'leaseMs' | 'heartbeatMs'>;
  settings: () => Promise<EffectiveSettings>;
  clock: Clock;
  logger: Logger;
  engineFor: (dbType: DbType) => Engine;
  instances: InstancesRepository;
  capacity: CapacityRepository;
  sync: SyncRepository;
  credentials: CredentialsService;
  audit: AuditService;
  /** Set in pg-boss mode: sessions are run by workers. */
  queue?: SyncQueue;
  /** Tests shorten the backoff. */
  sleep?: (ms: number) => Promise<void>;
}

/** The outcome of one instance within a session. */
export interface RecordOutcome {
  record_id: number;
  instance_id: number;
  instance_name: string;
  status: 'completed' | 'failed' | 'skipped';
  attempt: number;
  counts?: SaveCounts;
  error_code?: string;
  error_message?: string;
  duration_ms: number;
  warnings: string[];
}

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
  warnings: string[];
}

/** Timeouts and retries of one run, fixed when the run starts. */
export interface RunParams {
  connectTimeoutMs: number;
  syncTimeoutMs: number;
  retries: number;
  retryBaseDelayMs: number;
  /** Per-engine exclusion patterns from the settings. */
  exclusions: Partial<Record<DbType, string[]>>;
  /**
   * Credentials revealed during this run, by id: a batch of instances sharing
   * one credential reads and decrypts it once. Lives as long as the run.
   */
  credentials: Map<number, Promise<{ username: string; password: string } | undefined>>;
}

export const MSG = {
  disabled: '实例已禁用，无法同步容量信息',
  noCredential: '实例缺少连接凭据，无法同步容量信息',
  busy: (name: string) => `实例 ${name} 正在同步中，请稍后再试`,
  queued: (name: string) => `实例 ${name} 已在同步队列中 (already queued by another session)`,
  success: (n: number) => `容量同步成功，采集了 ${n} 条记录`,
  unreachable: (name: string, type: string, cause: string) => `无法连接到实例 ${name} (类型: ${type}): ${cause}`,
  failed: (cause: string) => `同步容量失败: ${cause}`,
  empty: '未采集到任何数据库：实例没有返回数据库列表 (nothing collected: not treated as deleted)',
  deleted: '实例已被删除 (instance deleted)',
  cancelledSkip: '同步已取消，未开始 (cancelled before it started)',
  cancelledAbort: '同步已取消，已中止 (cancelled while running; nothing saved)',
  shutdownSkip: '服务正在停止，未开始 (not started: the service is stopping)',
  shutdownAbort: '服务停止，同步中止 (aborted: the service stopped; nothing saved)',
  stopping: '服务正在停止，不接受新的同步 (the service is stopping)',
  notRunning: (status: string) => `同步会话已结束 (${status})，无法取消 (session is not running)`,
};

/** Why a session's records are told to stop. */
export type StopReason = 'cancelled' | 'shutdown';

/** How often a process running records of a session checks whether someone cancelled it. */
export const CANCEL_POLL_MS = 1000;

/** Saving failed in the store (not the instance's fault). */
class StoreFailure extends Error {
  constructor(readonly storeError: unknown) {
    super(errorMessage(storeError));
  }
}

/** Raised inside a record's run when its session is cancelled or the process stops. */
class Aborted extends Error {
  constructor(readonly reason: StopReason) {
    super(reason);
  }
}

function abortReason(signal: AbortSignal | undefined): StopReason | undefined {
  return signal?.aborted ? (signal.reason === 'shutdown' ? 'shutdown' : 'cancelled') : undefined;
}

/** Reject as soon as `signal` aborts (the work itself is abandoned, not awaited). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new Aborted(abortReason(signal)!));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Aborted(abortReason(signal)!));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Sessions write a heartbeat this often; recovery treats 4 missed beats as a dead owner. */
export const HEARTBEAT_MS = 15_000;

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
export function leaseMs(p: RunParams): number {
  let backoff = 0;
  for (let n = 1; n <= p.retries; n++) backoff += p.retryBaseDelayMs * 2 ** (n - 1) * 1.2;
  return (p.connectTimeoutMs + p.syncTimeoutMs) * (p.retries + 1) + backoff + 10_000;
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
  /** One abort signal per session with records running in this process, and the poll that trips it on a cancel. */
  private watchers = new Map<string, { ctrl: AbortController; refs: number; timer: NodeJS.Timeout }>();
  /** Records running in this process. */
  private inFlight = new Set<Promise<unknown>>();
  /** Sessions run by this process (local mode) until closed. */
  private localSessions = new Map<string, Promise<unknown>>();
  private stopping = false;
  private renewTimer: NodeJS.Timeout | undefined;
  /** Locks whose release failed on a store error (holder → instance id). */
  private readonly pendingReleases = new Map<string, number>();

  constructor(private readonly d: SyncDeps) {}

  private emit<K extends keyof SyncEvents>(name: K, ...args: SyncEvents[K]): void {
    try {
      (this.events.emit as (n: K, ...a: SyncEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.d.logger.error({ err, event: name }, 'sync event listener failed');
    }
  }

  private emitSession(s: SyncSessionRow): void {
    this.emit('session', { session_id: s.session_id, sync_type: s.sync_type as SyncType, status: s.status, total: s.total_instances, ok: s.successful_instances, failed: s.failed_instances });
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }

  /** Sessions are run by queue workers (pg-boss), not by the process that starts them. */
  get queued(): boolean {
    return this.d.queue !== undefined;
  }

  /** The timeouts and retries a queued record runs with now (the queue's job expiry derives from them). */
  runParams(): Promise<RunParams> {
    return this.params(true);
  }

  private async params(batch: boolean): Promise<RunParams> {
    const s = await this.d.settings();
    return {
      connectTimeoutMs: s.connect_timeout_ms,
      syncTimeoutMs: s.sync_timeout_ms,
      // A person waiting on the 同步容量 button gets the first answer, not a retried one.
      retries: batch ? s.sync_retries : 0,
      retryBaseDelayMs: s.retry_base_delay_ms,
      exclusions: s.exclusions,
      credentials: new Map(),
    };
  }

  /** The credential, revealed once per run (a failed read is not kept: the next instance tries again). */
  private credential(id: number, p: Partial<Pick<RunParams, 'credentials'>>): Promise<{ username: string; password: string } | undefined> {
    const cache = p.credentials;
    let cred = cache?.get(id);
    if (!cred) {
      cred = this.d.credentials.reveal(id);
      if (cache) {
        cache.set(id, cred);
        cred.catch(() => cache.delete(id));
      }
    }
    return cred;
  }

  /** Turn an instance row into a connect target; fails clearly if the credential is unusable. */
  async target(inst: InstanceRow, p: Pick<RunParams, 'connectTimeoutMs' | 'syncTimeoutMs'> & Partial<Pick<RunParams, 'credentials'>>): Promise<ConnectTarget> {
    if (inst.credential_id === null) throw new AppError('validation', MSG.noCredential);
    const cred = await this.credential(inst.credential_id, p);
    if (!cred) throw new AppError('validation', MSG.noCredential);
    const options = JSON.parse(inst.options) as InstanceOptions;
    return {
      host: inst.host,
      port: inst.port,
      database: inst.database_name,
      username: cred.username,
      password: cred.password,
      options,
      connectTimeoutMs: options.connect_timeout_ms ?? p.connectTimeoutMs,
      queryTimeoutMs: options.query_timeout_ms ?? p.syncTimeoutMs,
    };
  }

  /**
   * Connect, collect, close — bounded as a whole by the sync timeout. Only
   * classified SyncErrors come out; the connection is always closed.
   */
  async collect(inst: InstanceRow, target: ConnectTarget, p: Pick<RunParams, 'syncTimeoutMs' | 'exclusions'>, signal?: AbortSignal): Promise<Collection> {
    const engine = this.d.engineFor(inst.db_type as DbType);
    let session: Awaited<ReturnType<Engine['connect']>> | undefined;
    const work = (async () => {
      session = await engine.connect(target);
      try {
        return await session.collect();
      } finally {
        // Saying goodbye costs a round trip and the result does not depend on it: close in the
        // background (each engine bounds its close and destroys the socket if the server is silent).
        void session.close().catch(() => {});
      }
    })();
    try {
      const closeNow = () => void session?.close().catch(() => {});
      signal?.addEventListener('abort', closeNow, { once: true });
      const c = await withTimeout(raceAbort(work, signal), target.connectTimeoutMs + p.syncTimeoutMs, '容量采集', closeNow).finally(() =>
        signal?.removeEventListener('abort', closeNow),
      );
      return this.applyExclusions(c, [...(p.exclusions[inst.db_type as DbType] ?? []), ...(target.options.exclude ?? [])]);
    } catch (err) {
      work.catch(() => {}); // the abandoned attempt may still reject later
      if (err instanceof Aborted) throw err;
      throw err instanceof SyncError ? new SyncError(err.code, scrubSecrets(err.message, [target.password])) : engine.classifyError(err, target);
    }
  }

  /** Exclusion rules apply before saving: an excluded database is neither stored nor marked deleted. */
  private applyExclusions(c: Collection, patterns: string[]): Collection {
    if (!patterns.length) return c;
    const kept = c.databases.filter((d) => !excludedBy(d.database_name, patterns));
    const excluded = c.databases.filter((d) => excludedBy(d.database_name, patterns)).map((d) => d.database_name);
    return excluded.length ? { ...c, databases: kept, excluded, warnings: [...c.warnings, `${excluded.length} 个数据库被排除规则排除 (excluded by rules)`] } : c;
  }

  /** Connect and report the server version, without saving anything. */
  async testConnection(instanceId: number): Promise<{ server_version: string; latency_ms: number }> {
    const inst = await this.instanceRow(instanceId);
    const target = await this.target(inst, await this.params(false));
    const engine = this.d.engineFor(inst.db_type as DbType);
    const started = performance.now();
    let session: Awaited<ReturnType<Engine['connect']>> | undefined;
    try {
      session = await engine.connect(target);
      const version = await withTimeout(session.serverVersion(), target.connectTimeoutMs, '查询版本');
      return { server_version: version, latency_ms: Math.round(performance.now() - started) };
    } catch (err) {
      const e = err instanceof SyncError ? err : engine.classifyError(err, target);
      throw new AppError('sync_failed', MSG.unreachable(inst.name, inst.db_type, scrubSecrets(e.message, [target.password])), e.code);
    } finally {
      await session?.close().catch(() => {});
    }
  }

  /**
   * `doctor`: connect with the instance's credential and report which grants
   * the collector relies on are present, what is under-counted without each,
   * and the statements that fix it. Nothing is saved.
   */
  async doctor(instanceId: number): Promise<{ instance_id: number; instance_name: string; db_type: string; server_version: string; ok: boolean; checks: PrivilegeCheck[] }> {
    const inst = await this.instanceRow(instanceId);
    const target = await this.target(inst, await this.params(false));
    const engine = this.d.engineFor(inst.db_type as DbType);
    let session: Awaited<ReturnType<Engine['connect']>> | undefined;
    try {
      session = await engine.connect(target);
      const server_version = await withTimeout(session.serverVersion(), target.connectTimeoutMs, '查询版本');
      const checks = await withTimeout(session.doctor(), target.queryTimeoutMs + target.connectTimeoutMs, '权限检查');
      return { instance_id: inst.id, instance_name: inst.name, db_type: inst.db_type, server_version, ok: checks.every((c) => c.ok), checks };
    } catch (err) {
      const e = err instanceof SyncError ? err : engine.classifyError(err, target);
      throw new AppError('sync_failed', MSG.unreachable(inst.name, inst.db_type, scrubSecrets(e.message, [target.password])), e.code);
    } finally {
      await session?.close().catch(() => {});
    }
  }

  private async instanceRow(id: number): Promise<InstanceRow> {
    const inst = await this.d.instances.get(id);
    if (!inst) throw new AppError('not_found', `实例 ${id} 不存在 (instance not found)`);
    return inst;
  }

  /**
   * Take the instance's lock. A lock left by a dead process on this host is
   * taken over at once; one held on another host waits for its lease to end.
   * With `start`, the record is marked running in the same transaction.
   */
  /** Take the instance's lock (and, with `start`, mark its record running): false when busy, 'cancelled' when the record was skipped first. */
  private async lock(instanceId: number, holder: string, p: RunParams, start?: RecordStart): Promise<boolean | 'cancelled'> {
    const now = this.d.clock.now();
    // The lease is short and renewed while the work runs (renewLocks): a dead process's lock ends a lease after its last beat.
    const expires = new Date(now.getTime() + Math.min(leaseMs(p), this.d.config.leaseMs)).toISOString();
    let locked: boolean | 'cancelled' = false;
    try {
      if (await this.d.sync.acquireLock(instanceId, holder, now.toISOString(), expires, start)) locked = true;
      else {
        const current = await this.d.sync.lockHolder(instanceId);
        if (current && holderAlive(current.holder) === false) {
          this.d.logger.warn({ instance_id: instanceId, dead_holder: current.holder }, 'taking over the lock of a dead process');
          locked = await this.d.sync.takeOverLock(instanceId, current.holder, holder, now.toISOString(), expires, start);
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

  /**
   * The seed's manual sync of one instance: refused (400) when disabled or
   * without a credential, 409 when a sync of it is already running; otherwise
   * a `manual_single` session with one record. Throws AppError('sync_failed')
   * with the session id when the collection fails.
   */
  async syncInstance(instanceId: number, actor: Actor): Promise<{ message: string; data: ManualSyncData }> {
    const inst = await this.instanceRow(instanceId);
    if (inst.is_active !== 1) throw new AppError('validation', MSG.disabled);
    if (inst.credential_id === null) throw new AppError('validation', MSG.noCredential);
    if (this.stopping) throw new AppError('conflict', MSG.stopping);
    const p = await this.params(false);
    const holder = newHolder();
    if (!(await this.lock(inst.id, holder, p))) throw new AppError('conflict', MSG.busy(inst.name));
    let sessionId: string;
    let outcome: RecordOutcome | undefined;
    try {
      const { session, records } = await this.d.sync.createSession({
        sessionId: crypto.randomUUID(),
        syncType: 'manual_single',
        createdBy: actor.userId,
        startedAt: this.now(),
        owner: PROCESS_TAG,
        instances: [{ id: inst.id, name: inst.name }],
      });
      sessionId = session.session_id;
      const signal = this.watch(sessionId);
      try {
        outcome = await this.track(this.runRecord(records[0]!, inst, p, holder, signal));
      } finally {
        this.unwatch(sessionId);
      }
    } finally {
      // A completed record released the lock in its own transaction.
      await this.release(inst.id, holder, outcome);
    }
    this.emit('record', outcome, 'manual_single');
    this.emitSession(await this.d.sync.finishSession(sessionId, this.now()));
    await this.d.audit.record(actor, { action: 'instance.sync_capacity', targetType: 'instance', targetId: inst.id, details: { session_id: sessionId, status: outcome.status } });
    if (outcome.status !== 'completed') {
      const msg =
        outcome.error_code === 'connection' || outcome.error_code === 'timeout' || outcome.error_code === 'auth'
          ? MSG.unreachable(inst.name, inst.db_type, outcome.error_message ?? '')
          : MSG.failed(outcome.error_message ?? '');
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
    if (this.stopping) throw new AppError('conflict', MSG.stopping);
    const s = await this.d.settings();
    const p = await this.params(true);
    const rows =
      instanceIds === 'all-active'
        ? await this.d.instances.list({ active: true })
        : await Promise.all([...new Set(instanceIds)].map((id) => this.instanceRow(id)));
    const { session, records } = await this.d.sync.createSession({
      sessionId: crypto.randomUUID(),
      syncType: opts.syncType,
      createdBy: opts.actor.userId,
      startedAt: this.now(),
      owner: this.d.queue ? null : PROCESS_TAG,
      instances: rows.map((r) => ({ id: r.id, name: r.name })),
    });
    const sessionId = session.session_id;
    await this.d.audit.record(opts.actor, { action: 'sync.batch', targetType: 'sync_session', targetId: sessionId, details: { instances: rows.length, sync_type: opts.syncType } });
    this.d.logger.info({ session_id: sessionId, sync_type: opts.syncType, instances: rows.length, concurrency: s.sync_concurrency, queue: Boolean(this.d.queue) }, 'sync session started');

    if (this.d.queue) {
      const dropped = new Set(await this.d.queue.enqueue(records.map((r) => ({ id: r.id, instance_id: r.instance_id })), Math.ceil(leaseMs(p) / 1000)));
      for (const r of records.filter((x) => dropped.has(x.id))) {
        await this.d.sync.updateRecord(r.id, { status: 'skipped', completed_at: this.now(), error_message: MSG.queued(r.instance_name) });
      }
      await this.d.sync.finishIfDone(sessionId, this.now());
      return { session_id: sessionId, total: records.length, done: this.waitForSession(sessionId) };
    }

    const signal = this.watch(sessionId);
    const done = (async () => {
      const beat = setInterval(() => void this.d.sync.heartbeat(sessionId, this.now()).catch(() => {}), HEARTBEAT_MS);
      beat.unref();
      try {
        let finished = 0;
        const outcomes = await mapLimit(records, s.sync_concurrency, async (record, i) => {
          const o = await this.track(this.runLocked(record, rows[i]!, p, signal));
          this.emit('record', o, opts.syncType);
          opts.onRecord?.(o, ++finished, records.length);
          return o;
        });
        // Records stopped by a shutdown make the session `interrupted` (a cancel asked for still wins).
        const interrupted = outcomes.some((o) => o.error_code === 'interrupted');
        const closed = await this.d.sync.finishSession(sessionId, this.now(), interrupted ? 'interrupted' : undefined);
        this.emitSession(closed);
        this.d.logger.info({ session_id: sessionId, status: closed.status, ok: closed.successful_instances, failed: closed.failed_instances }, 'sync session finished');
        return { session_id: sessionId, status: closed.status, outcomes };
      } finally {
        clearInterval(beat);
        this.unwatch(sessionId);
        this.localSessions.delete(sessionId);
      }
    })();
    this.localSessions.set(sessionId, done);
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
          error_code: r.error_code ?? undefined,
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
   * failed for an outage of the store itself.
   */
  async runQueuedRecord(recordId: number): Promise<'done' | 'hand-back'> {
    // A job fetched while stopping goes back at once.
    if (this.stopping) return 'hand-back';
    const record = await this.d.sync.getRecord(recordId);
    if (!record) return 'done';
    if (record.status === 'completed' || record.status === 'skipped' || record.status === 'failed') {
      // Run before (this is a redelivery): the session may still have to be closed, if the run that ended it could not.
      const closed = await this.d.sync.finishIfDone(record.session_id, this.now());
      if (closed) this.emitSession(closed);
      return 'done';
    }
    const inst = await this.d.instances.get(record.instance_id);
    let outcome: RecordOutcome;
    if ((await this.d.sync.getSession(record.session_id))?.cancel_requested_at) {
      // Cancelled while queued (a retried record included): not started, the session may close.
      await this.d.sync.skipIfPending(record.id, this.now(), MSG.cancelledSkip, 'cancelled');
      const closed = await this.d.sync.finishIfDone(record.session_id, this.now());
      if (closed) this.emitSession(closed);
      return 'done';
    }
    if (!inst) {
      await this.d.sync.updateRecord(record.id, { status: 'failed', completed_at: this.now(), error_code: 'data', error_message: MSG.deleted });
      outcome = { record_id: record.id, instance_id: record.instance_id, instance_name: record.instance_name, status: 'failed', attempt: record.attempt, error_code: 'data', error_message: MSG.deleted, duration_ms: 0, warnings: [] };
    } else {
      const signal = this.watch(record.session_id);
      try {
        const o = await this.track(this.runLocked(record, inst, await this.params(true), signal, true));
        if (o === 'busy') return 'hand-back';
        outcome = o;
      } catch (err) {
        // A store error: the job goes back (the caller fails it); first let go of the lock, when the store is back.
        await this.flushReleases(this.d.config.leaseMs);
        throw err;
      } finally {
        this.unwatch(record.session_id);
      }
      if (outcome.error_code === 'interrupted') {
        // Stopped by this process's shutdown: pending again, for another process.
        await this.d.sync.handBackRecord(record.id);
        this.d.logger.info({ record_id: record.id, instance_id: inst.id }, 'record handed back to the queue (shutdown)');
        return 'hand-back';
      }
      if (outcome.error_code === 'lease_lost') return 'done';
    }
    const session = await this.d.sync.getSession(record.session_id);
    this.emit('record', outcome, (session?.sync_type ?? 'scheduled_task') as SyncType);
    const closed = await this.d.sync.finishIfDone(record.session_id, this.now());
    if (closed) this.emitSession(closed);
    return 'done';
  }

  private async runLocked(record: SyncInstanceRecordRow, inst: InstanceRow, p: RunParams, signal?: AbortSignal): Promise<RecordOutcome>;
  private async runLocked(record: SyncInstanceRecordRow, inst: InstanceRow, p: RunParams, signal: AbortSignal | undefined, queued: true): Promise<RecordOutcome | 'busy'>;
  /** `queued`: a busy instance is 'busy' (the job is handed back and retried) instead of a skipped record. */
  private async runLocked(record: SyncInstanceRecordRow, inst: InstanceRow, p: RunParams, signal?: AbortSignal, queued = false): Promise<RecordOutcome | 'busy'> {
    const skip = async (why: string): Promise<RecordOutcome> => {
      await this.d.sync.updateRecord(record.id, { status: 'skipped', completed_at: this.now(), error_message: why });
      return { record_id: record.id, instance_id: inst.id, instance_name: inst.name, status: 'skipped', attempt: record.attempt, error_message: why, duration_ms: 0, warnings: [] };
    };
    const stopped = abortReason(signal) ?? (this.stopping ? 'shutdown' : undefined);
    // A queued record this process no longer has time for goes back to the queue, for another process.
    if (stopped === 'shutdown' && queued) return 'busy';
    if (stopped) {
      const [message, code] = stopped === 'shutdown' ? [MSG.shutdownSkip, 'interrupted' as const] : [MSG.cancelledSkip, 'cancelled' as const];
      await this.d.sync.skipIfPending(record.id, this.now(), message, code);
      return this.notStarted(record, inst, code);
    }
    if (inst.is_active !== 1) return skip(MSG.disabled);
    const holder = newHolder();
    // At concurrency 32 the store work of many instances comes due together: let ready replies go first.
    await yieldToIo();
    // Taking the lock marks the record running (first attempt) in the same transaction.
    const startedAt = this.d.clock.now();
    const running = { status: 'running', attempt: record.attempt + 1, holder, started_at: startedAt.toISOString() };
    const locked = await this.lock(inst.id, holder, p, { recordId: record.id, patch: running });
    if (locked === 'cancelled') return this.notStarted(record, inst, 'cancelled');
    if (!locked) return queued ? 'busy' : skip(MSG.busy(inst.name));
    let outcome: RecordOutcome | undefined;
    try {
      outcome = await this.runRecord(record, inst, p, holder, signal, startedAt);
      return outcome;
    } finally {
      await this.release(inst.id, holder, outcome);
    }
  }

  /** The end of a holder's work: its lock goes (a completed record released it in its own transaction). */
  private async release(instanceId: number, holder: string, outcome: RecordOutcome | undefined): Promise<void> {
    try {
      if (outcome?.status !== 'completed') await this.d.sync.releaseLock(instanceId, holder);
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
  private async flushReleases(withinMs: number): Promise<void> {
    const until = Date.now() + withinMs;
    for (let wait = 250; this.pendingReleases.size > 0 && Date.now() < until && !this.stopping; wait = Math.min(wait * 2, 4_000)) {
      try {
        for (const [holder, instanceId] of [...this.pendingReleases]) {
          await this.d.sync.releaseLock(instanceId, holder);
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
      const expires = new Date(this.d.clock.now().getTime() + this.d.config.leaseMs).toISOString();
      this.d.sync.renewLocks(holders, expires).catch((err) => this.d.logger.warn({ err, holders: holders.length }, 'could not renew sync leases (store unreachable?)'));
    }, this.d.config.heartbeatMs);
    this.renewTimer.unref();
  }

  /** The outcome of a record a cancel or a shutdown skipped before it started. */
  private notStarted(record: SyncInstanceRecordRow, inst: InstanceRow, code: 'cancelled' | 'interrupted'): RecordOutcome {
    const message = code === 'interrupted' ? MSG.shutdownSkip : MSG.cancelledSkip;
    return { record_id: record.id, instance_id: inst.id, instance_name: inst.name, status: 'skipped', attempt: record.attempt, error_code: code, error_message: message, duration_ms: 0, warnings: [] };
  }

  /** Keep `p` in the set of work `stop()` waits for. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  /** The abort signal of a session's records in this process; a poll trips it when the session is cancelled elsewhere. */
  private watch(sessionId: string): AbortSignal {
    let w = this.watchers.get(sessionId);
    if (!w) {
      const ctrl = new AbortController();
      // Every record running under the session listens to this signal (up to the concurrency, each removing its
      // listeners when done): not a leak, so no MaxListenersExceededWarning at 11.
      setMaxListeners(0, ctrl.signal);
      const timer = setInterval(() => {
        void this.d.sync
          .getSession(sessionId)
          .then((s) => {
            if (s?.cancel_requested_at && !ctrl.signal.aborted) ctrl.abort('cancelled');
          })
          .catch(() => {});
      }, CANCEL_POLL_MS);
      timer.unref();
      w = { ctrl, refs: 0, timer };
      this.watchers.set(sessionId, w);
    }
    w.refs++;
    return w.ctrl.signal;
  }

  private unwatch(sessionId: string): void {
    const w = this.watchers.get(sessionId);
    if (w && --w.refs <= 0) {
      clearInterval(w.timer);
      this.watchers.delete(sessionId);
    }
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
    if (!s) throw new AppError('not_found', `同步会话 ${sessionId} 不存在 (session not found)`);
    if (s.status !== 'running') throw new AppError('conflict', MSG.notRunning(s.status));
    const r = await this.d.sync.requestCancel(sessionId, this.now(), actor.userId, MSG.cancelledSkip);
    this.watchers.get(sessionId)?.ctrl.abort('cancelled');
    // Sessions run by a queue have no owner to close them when nothing is left running.
    let status = 'running';
    if (s.owner === null) {
      const closed = await this.d.sync.finishIfDone(sessionId, this.now());
      if (closed) {
        this.emitSession(closed);
        status = closed.status;
      }
    }
    const running = (await this.d.sync.records(sessionId)).filter((x) => x.status === 'running').length;
    if (r.requested) await this.d.audit.record(actor, { action: 'sync.cancel', targetType: 'sync_session', targetId: sessionId, details: { skipped: r.skipped, running } });
    this.d.logger.info({ session_id: sessionId, skipped: r.skipped, running }, 'sync session cancel requested');
    return { session_id: sessionId, status, skipped: r.skipped, running };
  }

  /**
   * Graceful stop (SIGTERM): take no new work; in sessions this process runs,
   * records not started become `skipped`; running records get `boundMs` to
   * finish, then are aborted (nothing half-saved); sessions close
   * `interrupted`. Returns how many records had to be aborted.
   */
  async stop(boundMs: number): Promise<{ aborted: number }> {
    this.stopping = true;
    for (const id of this.localSessions.keys()) {
      await this.d.sync.skipPending(id, this.now(), MSG.shutdownSkip, 'interrupted').catch((err) => this.d.logger.error({ err, session_id: id }, 'could not skip pending records'));
    }
    const settle = () => Promise.allSettled([...this.inFlight]);
    const bound = new AbortController();
    const inTime = await Promise.race([settle().then(() => true), sleep(boundMs, false, { signal: bound.signal }).catch(() => false)]);
    bound.abort();
    let aborted = 0;
    if (!inTime) {
      aborted = this.inFlight.size;
      this.d.logger.warn({ records: aborted, bound_ms: boundMs }, 'running syncs did not finish in time; aborting them');
      for (const w of this.watchers.values()) if (!w.ctrl.signal.aborted) w.ctrl.abort('shutdown');
      await settle();
    }
    await Promise.allSettled([...this.localSessions.values()]);
    return { aborted };
  }

  /**
   * Collect and save one instance under its record, retrying transient
   * failures (connection, timeout) `p.retries` times with exponential
   * backoff. Never throws for a collection failure: the record says why.
   * `runningSince`: the record was already marked running (first attempt)
   * at that time, together with taking the lock. A completed record releases
   * the lock in the transaction that saves it; otherwise the caller does.
   */
  private async runRecord(
    record: SyncInstanceRecordRow,
    inst: InstanceRow,
    p: RunParams,
    holder: string,
    signal?: AbortSignal,
    runningSince?: Date,
  ): Promise<RecordOutcome> {
    const startedAt = runningSince ?? this.d.clock.now();
    const t0 = performance.now();
    const base = { record_id: record.id, instance_id: inst.id, instance_name: inst.name };
    const log = this.d.logger.child({ instance_id: inst.id, instance_name: inst.name, session_id: record.session_id });
    let password: string | undefined;
    let attempt = record.attempt;
    for (let tries = 1; ; tries++) {
      attempt++;
      const patch = { status: 'running', attempt, holder, ...(tries === 1 ? { started_at: startedAt.toISOString() } : {}) };
      if (tries === 1 && !runningSince) {
        // Compare-and-set: a cancel that skipped the record first wins.
        if (!(await this.d.sync.claimRecord(record.id, patch))) return this.notStarted(record, inst, 'cancelled');
      } else if (tries > 1) {
        await this.d.sync.updateRecord(record.id, patch);
      }
      log.info({ attempt }, 'capacity sync started');
      try {
        const before = abortReason(signal);
        if (before) throw new Aborted(before);
        const target = await this.target(inst, p);
        password = target.password;
        const collection = await this.collect(inst, target, p, signal);
        if (collection.databases.length === 0) throw new SyncError('data', MSG.empty);
        // Stopped between collecting and saving: save nothing.
        const stopped = abortReason(signal);
        if (stopped) throw new Aborted(stopped);
        await yieldToIo();
        try {
          return await this.save(record, inst, collection, startedAt, t0, attempt, log, holder);
        } catch (err) {
          if (err instanceof LeaseLost) {
            log.warn({ attempt }, 'capacity sync not saved: its lease ran out and another process has the record');
            return { ...base, status: 'failed', attempt, error_code: 'lease_lost', error_message: err.message, duration_ms: Math.round(performance.now() - t0), warnings: [] };
          }
          // The store failed, not the instance: the caller hands the record back (queue) or fails it (local).
          throw new StoreFailure(err);
        }
      } catch (err) {
        if (err instanceof StoreFailure && this.d.queue) throw err.storeError;
        if (err instanceof Aborted || abortReason(signal)) {
          const why = err instanceof Aborted ? err.reason : abortReason(signal)!;
          const [code, message] = why === 'shutdown' ? ['interrupted', MSG.shutdownAbort] : ['cancelled', MSG.cancelledAbort];
          const duration = Math.round(performance.now() - t0);
          await this.d.sync.updateRecord(record.id, { status: 'failed', completed_at: this.now(), duration_ms: duration, error_code: code, error_message: message });
          log.warn({ error_code: code, attempt, duration_ms: duration }, 'capacity sync aborted');
          return { ...base, status: 'failed', attempt, error_code: code, error_message: message, duration_ms: duration, warnings: [] };
        }
        const e = err instanceof SyncError ? err : err instanceof AppError ? new SyncError('data', err.message) : new SyncError('internal', errorMessage(err));
        const message = scrubSecrets(e.message, [password]);
        if (e.transient && tries <= p.retries) {
          const wait = backoffMs(p.retryBaseDelayMs, tries);
          log.warn({ error_code: e.code, error: message, attempt, retry_in_ms: wait }, 'capacity sync failed, will retry');
          await (this.d.sleep ?? sleep)(wait);
          continue;
        }
        const duration = Math.round(performance.now() - t0);
        if (!(await this.d.sync.updateHeldRecord(record.id, holder, { status: 'failed', completed_at: this.now(), duration_ms: duration, error_code: e.code, error_message: message }).then(() => true, (x) => (x instanceof LeaseLost ? false : Promise.reject(x))))) {
          return { ...base, status: 'failed', attempt, error_code: 'lease_lost', error_message: 'lease lost', duration_ms: duration, warnings: [] };
        }
        await this.d.instances.setSyncResult(inst.id, { status: 'failed', at: this.now(), error: message });
        log.warn({ error_code: e.code, error: message, attempt, duration_ms: duration }, 'capacity sync failed');
        return { ...base, status: 'failed', attempt, error_code: e.code, error_message: message, duration_ms: duration, warnings: [] };
      }
    }
  }

  /** Save the collection, complete the record and release the instance's lock in the same transaction. */
  private async save(
    record: SyncInstanceRecordRow,
    inst: InstanceRow,
    collection: Collection,
    startedAt: Date,
    t0: number,
    attempt: number,
    log: Logger,
    holder: string,
  ): Promise<RecordOutcome> {
    // The day a collection belongs to is the day it started (documented).
    const day = localDate(startedAt, this.d.config.timeZone);
    const warnings = [...collection.warnings];
    const unmeasured = collection.databases.filter((x) => x.size_bytes === null);
    if (unmeasured.length) {
      warnings.push(`${unmeasured.length} 个数据库无法测量大小 (could not be measured): ${unmeasured.slice(0, 5).map((x) => x.database_name).join(', ')}`);
    }
    const completedAt = this.now();
    const duration = Math.round(performance.now() - t0);
    const counts = await this.d.capacity.saveCollection(
      { instanceId: inst.id, collectedDate: day, collectedAt: completedAt, databases: collection.databases, excludedNames: collection.excluded },
      async (trx, c) => {
        // Only while this process still holds the record: one whose lease ran out (a store outage, a cut link) was
        // handed to another process, and this save rolls back instead of completing it twice.
        await this.d.sync.updateHeldRecord(
          record.id,
          holder,
          {
            status: 'completed',
            completed_at: completedAt,
            duration_ms: duration,
            databases_count: c.database_count,
            saved_count: c.saved,
            created_count: c.created,
            updated_count: c.updated,
            deleted_count: c.deleted,
            restored_count: c.restored,
            total_size_bytes: c.total_size_bytes,
            error_code: null,
            error_message: null,
            details: JSON.stringify({
              collected_date: day,
              server_version: collection.server_version,
              method: collection.databases[0]?.method ?? null,
              new_databases: c.new_databases,
              deleted_databases: c.deleted_names.slice(0, 100),
              restored_databases: c.restored_names.slice(0, 100),
              warnings,
            }),
          },
          trx,
        );
        await this.d.instances.setSyncResult(inst.id, { status: 'completed', at: completedAt, error: warnings.length ? warnings.join('; ') : null }, trx);
        await this.d.sync.releaseLock(inst.id, holder, trx);
      },
    );
    log.info({ attempt, databases: counts.saved, created: counts.created, updated: counts.updated, deleted: counts.deleted, restored: counts.restored, total_size_bytes: counts.total_size_bytes, duration_ms: duration }, 'capacity sync completed');
    return { record_id: record.id, instance_id: inst.id, instance_name: inst.name, status: 'completed', attempt, counts, duration_ms: duration, warnings };
  }
}
