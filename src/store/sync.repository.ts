/**
 * Sync sessions, their per-instance records, and the per-instance lock.
 * The lock is a row: `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at < now
 * RETURNING` takes it atomically in SQLite and PostgreSQL alike, so two
 * processes can never sync the same instance at once; an expired row (its
 * holder crashed) can be taken over.
 */
import { sql, type Kysely, type Transaction, type Updateable, type QueryCreator } from 'kysely';
import { isMsg, msgText, type Msg } from '../client/shared/i18n/index.js';
import type { Database, InstanceRow, SyncInstanceRecordRow, SyncInstanceRecordsTable, SyncSessionRow } from './schema.js';
import { answerBeforeCommit } from './sqlite-driver.js';
import { compiledOnce } from './compiled-once.js';
import { claimRunning, lockAndStart, takeLock, type Running } from './sync-lock.sql.js';

export type SyncType = 'manual_single' | 'manual_batch' | 'scheduled_task';
export type SessionStatus = 'running' | 'completed' | 'partial' | 'failed' | 'interrupted' | 'cancelled';
export type RecordStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

type Db = Kysely<Database> | Transaction<Database>;

/** A record's error columns from a message: the text (zh-CN, the API's own language) and, for a keyed message, its key and parameters as JSON. */
export function errorColumns(m: Msg | string | null): { error_message: string | null; error_msg: string | null } {
  if (m === null) return { error_message: null, error_msg: null };
  return isMsg(m) ? { error_message: msgText(m), error_msg: JSON.stringify(m) } : { error_message: m, error_msg: null };
}

/** The record is no longer held by the holder that tries to write it (its lease ran out and it was handed to another process). */
export class LeaseLost extends Error {
  constructor() {
    super('同步租约已失效，记录已由其他进程接管 (lease lost: another process has this record)');
  }
}

/** Thrown by acquireLock/takeOverLock with `start` when the record is no longer claimable (cancelled first); nothing was taken. */
export class RecordNotClaimable extends Error {
  constructor() {
    super('record no longer claimable');
  }
}

/** What running a record needs of its row. */
export type RecordRef = Pick<SyncInstanceRecordRow, 'id' | 'session_id' | 'instance_id' | 'instance_name' | 'status' | 'attempt'>;

/** A queued record and what its run needs (`instance` undefined: deleted). */
export type QueuedRecord = { record: RecordRef; syncType: SyncType; cancelRequested: boolean; instance: InstanceRow | undefined };

/** The record a lock is taken for, and how it is marked running once the lock is held. */
export interface RecordStart {
  recordId: number;
  patch: Running;
}

/** Why a record that never started ended (`endIfPending`). */
type NotStartedCode = 'cancelled' | 'interrupted' | 'internal';

export class SyncRepository {
  /** Taking a lock: answered before the group's COMMIT on SQLite (`answerBeforeCommit`). */
  private readonly coordination: Kysely<Database>;

  constructor(
    private readonly db: Kysely<Database>,
    /** PostgreSQL takes a lock and starts its record in one statement; SQLite in one transaction. */
    private readonly dialect: 'postgres' | 'sqlite' = 'sqlite',
  ) {
    this.coordination = db.withPlugin(answerBeforeCommit);
  }

  /** The statements every record runs to start, compiled once (sync-lock.sql.ts). */
  private readonly takeLock = compiledOnce(() => this.coordination, takeLock);
  private readonly lockStarted = compiledOnce(() => this.db, lockAndStart);
  private readonly claimRunning = compiledOnce(() => this.coordination, claimRunning);
  /** The same claim answered after the group's COMMIT (`claimRecord`: a record started without its lock's statement). */
  private readonly claimRunningPlain = compiledOnce(() => this.db, claimRunning);

  async createSession(s: {
    sessionId: string;
    syncType: SyncType;
    createdBy: number | null;
    startedAt: string;
    /** The process running it (local mode), or null when a queue runs it. */
    owner: string | null;
    instances: { id: number; name: string }[];
    /** `capacity` (database sizes, the default) or `tables` (table-level sizes). */
    category?: 'capacity' | 'tables';
    /** The records start running at once (first attempt) under this holder, which already holds their instances' locks. */
    runningHolder?: string;
  }): Promise<{ session: SyncSessionRow; records: SyncInstanceRecordRow[] }> {
    return this.db.transaction().execute(async (trx) => {
      const session = await trx
        .insertInto('sync_sessions')
        .values({
          session_id: s.sessionId,
          sync_type: s.syncType,
          sync_category: s.category ?? 'capacity',
          status: 'running',
          started_at: s.startedAt,
          total_instances: s.instances.length,
          successful_instances: 0,
          failed_instances: 0,
          created_by: s.createdBy,
          owner: s.owner,
          heartbeat_at: s.startedAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const records: SyncInstanceRecordRow[] = [];
      const state = s.runningHolder ? { status: 'running', attempt: 1, holder: s.runningHolder, started_at: s.startedAt } : { status: 'pending', attempt: 0 };
      for (let i = 0; i < s.instances.length; i += 1000) {
        const part = s.instances.slice(i, i + 1000);
        records.push(
          ...(await trx
            .insertInto('sync_instance_records')
            .values(part.map((inst) => ({ session_id: s.sessionId, instance_id: inst.id, instance_name: inst.name, ...state })))
            .returningAll()
            .execute()),
        );
      }
      return { session, records };
    });
  }

  async updateRecord(id: number, patch: Updateable<SyncInstanceRecordsTable>, db: Db = this.db): Promise<void> {
    await db.updateTable('sync_instance_records').set(patch).where('id', '=', id).execute();
  }

  /** Update a running record only while `holder` still has it; throws LeaseLost otherwise (rolling back the caller's transaction). */
  async updateHeldRecord(id: number, holder: string, patch: Updateable<SyncInstanceRecordsTable>, db: Db = this.db): Promise<void> {
    const r = await db
      .updateTable('sync_instance_records')
      .set(patch)
      .where('id', '=', id)
      .where('holder', '=', holder)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new LeaseLost();
  }

  /**
   * Queue mode: records whose jobs a process just fetched carry its tag while
   * still pending (one statement per fetch), so when that process dies before
   * starting them, recovery hands their jobs back at once instead of after a
   * lease. Starting a record replaces the tag with the run's holder.
   */
  private markFetched(ids: number[], processTag: string) {
    return this.db.updateTable('sync_instance_records').set({ holder: processTag }).where('id', 'in', ids).where('status', '=', 'pending');
  }

  /** A record stopped by a shutdown (queue mode) is pending again, for another process. */
  async handBackRecord(id: number): Promise<void> {
    await this.db
      .updateTable('sync_instance_records')
      .set({ status: 'pending', holder: null, completed_at: null, duration_ms: null, error_code: null, error_message: null, error_msg: null })
      .where('id', '=', id)
      .where('status', 'in', ['running', 'failed'])
      .execute();
  }

  /**
   * Recovery (queue mode): a record left running by `holder`, whose lock is
   * gone or expired, is pending again — compare-and-set on the holder, so of
   * several processes recovering at once exactly one re-queues it.
   */
  async reclaimRecord(id: number, holder: string | null): Promise<boolean> {
    let q = this.db.updateTable('sync_instance_records').set({ status: 'pending', holder: null }).where('id', '=', id).where('status', '=', 'running');
    q = holder === null ? q.where('holder', 'is', null) : q.where('holder', '=', holder);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  /** Push the expiry of the locks `holders` (work running in one process) hold. */
  async renewLocks(holders: string[], expiresAt: string): Promise<void> {
    if (holders.length === 0) return;
    await this.db.updateTable('sync_locks').set({ expires_at: expiresAt }).where('holder', 'in', holders).execute();
  }

  /** Records by status of each of these sessions (one grouped query): the live counters of running sessions. */
  async statusCounts(sessionIds: string[]): Promise<Map<string, { ok: number; failed: number; running: number }>> {
    const out = new Map<string, { ok: number; failed: number; running: number }>();
    if (!sessionIds.length) return out;
    const rows = await this.db
      .selectFrom('sync_instance_records')
      .select(['session_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('session_id', 'in', sessionIds)
      .groupBy(['session_id', 'status'])
      .execute();
    for (const id of sessionIds) out.set(id, { ok: 0, failed: 0, running: 0 });
    for (const r of rows) {
      const c = out.get(r.session_id)!;
      if (r.status === 'completed') c.ok = Number(r.n);
      else if (r.status === 'failed') c.failed = Number(r.n);
      else if (r.status === 'running') c.running = Number(r.n);
    }
    return out;
  }

  /** Completed and failed records of a session. */
  private async outcomeCounts(db: Db, sessionId: string): Promise<{ ok: number; failed: number }> {
    const counts = await db
      .selectFrom('sync_instance_records')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('session_id', '=', sessionId)
      .groupBy('status')
      .execute();
    const n = (st: RecordStatus) => Number(counts.find((c) => c.status === st)?.n ?? 0);
    return { ok: n('completed'), failed: n('failed') };
  }

  /**
   * Close a session, in one statement: a cancel asked for wins, then `forced` (a shutdown's `interrupted`); else completed
   * when no record failed, failed when none succeeded, partial otherwise. Idempotent: called again (a queued record retried late) it recomputes.
   */
  async finishSession(sessionId: string, completedAt: string, forced?: SessionStatus): Promise<SyncSessionRow> {
    const row = await this.closeSession(sessionId, completedAt, forced);
    return row ?? Promise.reject(new Error(`no sync session ${sessionId}`));
  }

  /** `finishSession`; `onlyRunning`: a session already closed is left as it is (undefined), so of two closers one only closes it. */
  private async closeSession(sessionId: string, completedAt: string, forced?: SessionStatus, onlyRunning = false): Promise<SyncSessionRow | undefined> {
    const { rows } = await sql<SyncSessionRow>`
      WITH c AS (SELECT COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) AS ok, COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed FROM sync_instance_records WHERE session_id = ${sessionId})
      UPDATE sync_sessions SET status = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
        ELSE COALESCE(${forced ?? null}, (SELECT CASE WHEN failed = 0 THEN 'completed' WHEN ok = 0 THEN 'failed' ELSE 'partial' END FROM c)) END,
        completed_at = ${completedAt}, successful_instances = (SELECT ok FROM c), failed_instances = (SELECT failed FROM c)
      WHERE session_id = ${sessionId} ${onlyRunning ? sql`AND status = 'running'` : sql``} RETURNING *`.execute(this.db);
    return rows[0];
  }

  /**
   * Close the session when no record is pending or running any more; returns it when closed now (by this call: when
   * two processes ask at the same moment, or a redelivered job asks again, one only gets it, so it is told once).
   */
  async finishIfDone(sessionId: string, completedAt: string): Promise<SyncSessionRow | undefined> {
    // Asked after every queued record: one open record is enough to know (not a count of all of them).
    const open = await this.db
      .selectFrom('sync_instance_records')
      .select('id')
      .where('session_id', '=', sessionId)
      .where('status', 'in', ['pending', 'running'])
      .limit(1)
      .executeTakeFirst();
    if (open) return undefined;
    return this.closeSession(sessionId, completedAt, undefined, true);
  }

  /**
   * Ask a running session to stop: its records not started yet become
   * `skipped` at once (in the same transaction); the ones running are left to
   * their process, which watches the flag. False when the session is not running.
   */
  async requestCancel(sessionId: string, at: string, by: number | null, message: Msg | string): Promise<{ requested: boolean; skipped: number }> {
    return this.db.transaction().execute(async (trx) => {
      const s = await trx
        .updateTable('sync_sessions')
        .set({ cancel_requested_at: at, cancelled_by: by })
        .where('session_id', '=', sessionId)
        .where('status', '=', 'running')
        .where('cancel_requested_at', 'is', null)
        .executeTakeFirst();
      if (Number(s.numUpdatedRows) === 0) return { requested: false, skipped: 0 };
      const skipped = await this.skipPending(sessionId, at, message, 'cancelled', trx);
      return { requested: true, skipped };
    });
  }

  /** Records of a session not started yet become `skipped` with `message`; returns how many. */
  async skipPending(sessionId: string, at: string, message: Msg | string, code: 'cancelled' | 'interrupted' = 'cancelled', db: Db = this.db): Promise<number> {
    const r = await db
      .updateTable('sync_instance_records')
      .set({ status: 'skipped', completed_at: at, error_code: code, ...errorColumns(message) })
      .where('session_id', '=', sessionId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** One record not started yet ends, `skipped` (cancel, shutdown) or `failed` (no job will run it); false when it had started (or ended) already. */
  async endIfPending(id: number, at: string, message: Msg | string, code: NotStartedCode, status: 'skipped' | 'failed' = 'skipped'): Promise<boolean> {
    const r = await this.db
      .updateTable('sync_instance_records')
      .set({ status, completed_at: at, error_code: code, ...errorColumns(message) })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Start (or retry) a record unless it was skipped or completed meanwhile
   * (a cancel got there first): compare-and-set, so a cancel and a start never
   * both win. False when the record must not run.
   */
  async claimRecord(id: number, patch: Running): Promise<boolean> {
    return Number((await this.claimRunningPlain(this.db, { id, ...patch })).numAffectedRows ?? 0) > 0;
  }

  async heartbeat(sessionId: string, at: string): Promise<void> {
    await this.db.updateTable('sync_sessions').set({ heartbeat_at: at }).where('session_id', '=', sessionId).where('status', '=', 'running').execute();
  }

  /**
   * Queued records with what their run needs of session and instance, by id (one read for a fetch's jobs: the
   * queue's hot path; `instance` undefined: deleted). `markAs`: the pending ones are marked as that process's
   * too (markFetched), on PostgreSQL in the same statement (the read sees the rows as they were before the mark).
   */
  async queuedRecords(ids: number[], markAs?: string): Promise<Map<number, QueuedRecord>> {
    const mark = ids.length && markAs !== undefined ? this.markFetched(ids, markAs) : undefined;
    if (mark && this.dialect !== 'postgres') await mark.execute();
    const db: QueryCreator<Database> =
      mark && this.dialect === 'postgres'
        ? (this.db.with('marked', () => mark.returning('id')) as unknown as QueryCreator<Database>) // the read does not name the CTE; PostgreSQL runs it all the same
        : this.db;
    const rows = ids.length
      ? await db
          .selectFrom('sync_instance_records as r')
          .innerJoin('sync_sessions as s', 's.session_id', 'r.session_id')
          .leftJoin('instances as i', 'i.id', 'r.instance_id')
          .selectAll('i')
          .select(['r.id as r_id', 'r.session_id as r_session', 'r.instance_id as r_instance', 'r.instance_name as r_name', 'r.status as r_status'])
          .select(['r.attempt as r_attempt', 's.sync_type as s_sync_type', 's.cancel_requested_at as s_cancel'])
          .where('r.id', 'in', ids)
          .execute()
      : [];
    return new Map(
      rows.map(({ r_id, r_session, r_instance, r_name, r_status, r_attempt, s_sync_type, s_cancel, ...inst }) => {
        const record = { id: r_id, session_id: r_session, instance_id: r_instance, instance_name: r_name, status: r_status, attempt: r_attempt };
        // The left join's columns are all null when the instance is gone.
        return [
          r_id,
          { record, syncType: s_sync_type as SyncType, cancelRequested: s_cancel !== null, instance: inst.id === null ? undefined : (inst as InstanceRow) },
        ];
      }),
    );
  }

  /** Running sessions (for recovery and "is a scheduled run in progress?"). */
  runningSessions(syncType?: SyncType): Promise<SyncSessionRow[]> {
    let q = this.db.selectFrom('sync_sessions').selectAll().where('status', '=', 'running');
    if (syncType) q = q.where('sync_type', '=', syncType);
    return q.execute();
  }

  /** Records still running, with their holder's lock row (if any) and their session's owner. */
  runningRecords() {
    return this.db
      .selectFrom('sync_instance_records as r')
      .innerJoin('sync_sessions as s', 's.session_id', 'r.session_id')
      .leftJoin('sync_locks as l', (j) => j.onRef('l.instance_id', '=', 'r.instance_id').onRef('l.holder', '=', 'r.holder'))
      .select(['r.id', 'r.session_id', 'r.instance_id', 'r.holder', 'r.started_at', 's.owner as session_owner', 'l.expires_at as lock_expires_at'])
      .where('r.status', '=', 'running')
      .execute();
  }

  /** Mark a session interrupted and its unfinished records failed, in one transaction. */
  async interruptSession(sessionId: string, at: string, message: Msg | string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('sync_instance_records')
        .set({ status: 'failed', completed_at: at, error_code: 'interrupted', ...errorColumns(message) })
        .where('session_id', '=', sessionId)
        .where('status', 'in', ['pending', 'running'])
        .executeTakeFirst();
      const { ok, failed } = await this.outcomeCounts(trx, sessionId);
      await trx
        .updateTable('sync_sessions')
        .set({ status: 'interrupted', completed_at: at, successful_instances: ok, failed_instances: failed })
        .where('session_id', '=', sessionId)
        .execute();
      return Number(r.numUpdatedRows);
    });
  }

  /** Fail one record left running by a dead holder (only if that holder still has it). */
  async failInterruptedRecord(id: number, holder: string | null, at: string, message: Msg | string): Promise<boolean> {
    let q = this.db
      .updateTable('sync_instance_records')
      .set({ status: 'failed', completed_at: at, error_code: 'interrupted', ...errorColumns(message) })
      .where('id', '=', id)
      .where('status', '=', 'running');
    q = holder === null ? q.where('holder', 'is', null) : q.where('holder', '=', holder);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  getSession(sessionId: string): Promise<SyncSessionRow | undefined> {
    return this.db.selectFrom('sync_sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
  }

  /** A session's records in id order; `page`: only the `limit` after id `afterId`. */
  records(sessionId: string, page?: { afterId: number; limit: number }): Promise<SyncInstanceRecordRow[]> {
    const q = this.db.selectFrom('sync_instance_records').selectAll().where('session_id', '=', sessionId);
    return (page ? q.where('id', '>', page.afterId).limit(page.limit) : q).orderBy('id').execute();
  }

  recordsOfInstance(instanceId: number, limit = 50): Promise<(SyncInstanceRecordRow & { sync_type: string })[]> {
    return this.db
      .selectFrom('sync_instance_records as r')
      .innerJoin('sync_sessions as s', 's.session_id', 'r.session_id')
      .selectAll('r')
      .select('s.sync_type')
      .where('r.instance_id', '=', instanceId)
      .orderBy('r.id', 'desc')
      .limit(limit)
      .execute();
  }

  /** Sessions, newest first, filtered; `total` counts all matches. */
  async listSessions(f: { limit: number; offset: number; syncType?: string; status?: string; from?: string; to?: string }) {
    let q = this.db.selectFrom('sync_sessions');
    if (f.syncType) q = q.where('sync_type', '=', f.syncType);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.from) q = q.where('started_at', '>=', f.from);
    if (f.to) q = q.where('started_at', '<', f.to);
    const [items, total] = await Promise.all([
      q.selectAll().orderBy('id', 'desc').limit(f.limit).offset(f.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items, total: Number(total.n) };
  }

  /**
   * Take the instance's sync lock; false when another live holder has it.
   * With `start`, the record is marked running in the same transaction (one
   * commit instead of two: every instance of a batch passes here).
   */
  async acquireLock(instanceId: number, holder: string, now: string, expiresAt: string, start?: RecordStart): Promise<boolean> {
    const take = async (db: Db) => {
      const r = await this.takeLock(db, { id: instanceId, lockHolder: holder, now, expires: expiresAt });
      return r.rows[0]?.holder === holder;
    };
    if (start && this.dialect === 'postgres') return this.lockAndStart(instanceId, holder, now, expiresAt, start);
    return start ? this.coordination.transaction().execute(async (trx) => (await take(trx)) && this.started(trx, start)) : take(this.coordination);
  }

  /**
   * PostgreSQL: take the lock and mark the record running in one statement
   * (the lock's insert and the record's update commit together; every
   * record of a session passes here, and BEGIN/COMMIT were two more round
   * trips). A record a cancel skipped first: the lock just taken is let go
   * and RecordNotClaimable thrown, as the transaction's rollback did.
   */
  private async lockAndStart(instanceId: number, holder: string, now: string, expiresAt: string, start: RecordStart): Promise<boolean> {
    const r = (await this.lockStarted(this.db, { id: instanceId, lockHolder: holder, now, expires: expiresAt, recordId: start.recordId, ...start.patch }))
      .rows[0]!;
    if (Number(r.locked) === 0) return false;
    if (Number(r.started) === 0) {
      await this.releaseLock(instanceId, holder);
      throw new RecordNotClaimable();
    }
    return true;
  }

  /** Take a lock whose holder is known dead (compare-and-swap on the old holder); `start` as in acquireLock. */
  async takeOverLock(instanceId: number, deadHolder: string, holder: string, now: string, expiresAt: string, start?: RecordStart): Promise<boolean> {
    const take = async (db: Db) => {
      const r = await db
        .updateTable('sync_locks')
        .set({ holder, acquired_at: now, expires_at: expiresAt })
        .where('instance_id', '=', instanceId)
        .where('holder', '=', deadHolder)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    };
    return start ? this.coordination.transaction().execute(async (trx) => (await take(trx)) && this.started(trx, start)) : take(this.coordination);
  }

  /** Mark the record running with the lock; a record a cancel already skipped rolls the lock back. */
  private async started(trx: Transaction<Database>, start: RecordStart): Promise<true> {
    const r = await this.claimRunning(trx, { id: start.recordId, ...start.patch });
    if (Number(r.numAffectedRows ?? 0) === 0) throw new RecordNotClaimable();
    return true;
  }

  lockHolder(instanceId: number) {
    return this.db.selectFrom('sync_locks').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
  }

  async releaseLock(instanceId: number, holder: string): Promise<void> {
    await this.db.deleteFrom('sync_locks').where('instance_id', '=', instanceId).where('holder', '=', holder).execute();
  }
}
