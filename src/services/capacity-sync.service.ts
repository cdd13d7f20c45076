/**
 * Capacity sync: connect to an instance, collect, save the day, record the run.
 * Knows nothing of HTTP. Every run — manual or batch — is a sync session with
 * one record per instance, and holds the instance's lock row while it runs so
 * that two syncs of one instance never overlap, across processes.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Config } from '../config.js';
import type { Collection, ConnectTarget, DbType, Engine, InstanceOptions } from '../engines/engine.js';
import { localDate, type Clock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { AppError, SyncError, errorMessage, scrubSecrets } from '../lib/errors.js';
import { excludedBy } from '../lib/glob.js';
import type { Logger } from '../lib/logger.js';
import { bytesToMb } from '../lib/sizes.js';
import { withTimeout } from '../lib/timeout.js';
import type { CapacityRepository, SaveCounts } from '../store/capacity.repository.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow, SyncInstanceRecordRow } from '../store/schema.js';
import type { SyncRepository, SyncType } from '../store/sync.repository.js';
import type { Actor, AuditService } from './audit.service.js';
import type { CredentialsService } from './credentials.service.js';

export interface SyncDeps {
  config: Pick<Config, 'timeZone' | 'connectTimeoutMs' | 'syncTimeoutMs' | 'syncConcurrency'>;
  clock: Clock;
  logger: Logger;
  engineFor: (dbType: DbType) => Engine;
  instances: InstancesRepository;
  capacity: CapacityRepository;
  sync: SyncRepository;
  credentials: CredentialsService;
  audit: AuditService;
}

/** The outcome of one instance within a session. */
export interface RecordOutcome {
  record_id: number;
  instance_id: number;
  instance_name: string;
  status: 'completed' | 'failed' | 'skipped';
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

export const MSG = {
  disabled: '实例已禁用，无法同步容量信息',
  noCredential: '实例缺少连接凭据，无法同步容量信息',
  busy: (name: string) => `实例 ${name} 正在同步中，请稍后再试`,
  success: (n: number) => `容量同步成功，采集了 ${n} 条记录`,
  unreachable: (name: string, type: string, cause: string) => `无法连接到实例 ${name} (类型: ${type}): ${cause}`,
  failed: (cause: string) => `同步容量失败: ${cause}`,
  empty: '未采集到任何数据库：实例没有返回数据库列表 (nothing collected: not treated as deleted)',
};

const HOLDER_PREFIX = `${os.hostname()}:${process.pid}`;

export class CapacitySyncService {
  constructor(private readonly d: SyncDeps) {}

  private ms(at: Date): string {
    return at.toISOString();
  }

  /** Turn an instance row into a connect target; fails clearly if the credential is unusable. */
  async target(inst: InstanceRow): Promise<ConnectTarget> {
    if (inst.credential_id === null) throw new AppError('validation', MSG.noCredential);
    const cred = await this.d.credentials.reveal(inst.credential_id);
    if (!cred) throw new AppError('validation', MSG.noCredential);
    const options = JSON.parse(inst.options) as InstanceOptions;
    return {
      host: inst.host,
      port: inst.port,
      database: inst.database_name,
      username: cred.username,
      password: cred.password,
      options,
      connectTimeoutMs: options.connect_timeout_ms ?? this.d.config.connectTimeoutMs,
      queryTimeoutMs: options.query_timeout_ms ?? this.d.config.syncTimeoutMs,
    };
  }

  /**
   * Connect, collect, close — bounded as a whole by the sync timeout. Only
   * classified SyncErrors come out; the connection is always closed.
   */
  async collect(inst: InstanceRow, target: ConnectTarget): Promise<Collection> {
    const engine = this.d.engineFor(inst.db_type as DbType);
    const budget = target.connectTimeoutMs + this.d.config.syncTimeoutMs;
    let session: Awaited<ReturnType<Engine['connect']>> | undefined;
    const work = (async () => {
      session = await engine.connect(target);
      try {
        return await session.collect();
      } finally {
        await session.close().catch(() => {});
      }
    })();
    try {
      const c = await withTimeout(work, budget, '容量采集', () => void session?.close().catch(() => {}));
      return this.applyExclusions(c, target.options.exclude);
    } catch (err) {
      work.catch(() => {}); // the abandoned attempt may still reject later
      throw err instanceof SyncError ? new SyncError(err.code, scrubSecrets(err.message, [target.password])) : engine.classifyError(err, target);
    }
  }

  private applyExclusions(c: Collection, patterns: string[] | undefined): Collection {
    if (!patterns?.length) return c;
    const kept = c.databases.filter((d) => !excludedBy(d.database_name, patterns));
    const dropped = c.databases.length - kept.length;
    return dropped ? { ...c, databases: kept, warnings: [...c.warnings, `${dropped} 个数据库被排除规则排除 (excluded by rules)`] } : c;
  }

  /** Connect and report the server version, without saving anything. */
  async testConnection(instanceId: number): Promise<{ server_version: string; latency_ms: number }> {
    const inst = await this.instanceRow(instanceId);
    const target = await this.target(inst);
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

  private async instanceRow(id: number): Promise<InstanceRow> {
    const inst = await this.d.instances.get(id);
    if (!inst) throw new AppError('not_found', `实例 ${id} 不存在 (instance not found)`);
    return inst;
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
    const holder = `${HOLDER_PREFIX}:${crypto.randomUUID()}`;
    if (!(await this.lock(inst.id, holder))) throw new AppError('conflict', MSG.busy(inst.name));
    let sessionId: string;
    let outcome: RecordOutcome;
    try {
      const { session, records } = await this.d.sync.createSession({
        sessionId: crypto.randomUUID(),
        syncType: 'manual_single',
        createdBy: actor.userId,
        startedAt: this.ms(this.d.clock.now()),
        instances: [{ id: inst.id, name: inst.name }],
      });
      sessionId = session.session_id;
      outcome = await this.runRecord(records[0]!, inst);
    } finally {
      await this.d.sync.releaseLock(inst.id, holder);
    }
    await this.d.sync.finishSession(sessionId, this.ms(this.d.clock.now()));
    await this.d.audit.record(actor, { action: 'instance.sync_capacity', targetType: 'instance', targetId: inst.id, details: { session_id: sessionId, status: outcome.status } });
    if (outcome.status !== 'completed') {
      const msg = outcome.error_code === 'connection' || outcome.error_code === 'timeout' || outcome.error_code === 'auth'
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
   * settles when every record is terminal. Bounded concurrency; an instance
   * whose lock is held elsewhere is `skipped`, never run twice. `onRecord`
   * reports each finished record (CLI progress).
   */
  async startMany(
    instanceIds: number[] | 'all-active',
    opts: { syncType: SyncType; actor: Actor; onRecord?: (o: RecordOutcome, done: number, total: number) => void },
  ): Promise<{ session_id: string; total: number; done: Promise<{ session_id: string; status: string; outcomes: RecordOutcome[] }> }> {
    const rows =
      instanceIds === 'all-active'
        ? await this.d.instances.list({ active: true })
        : await Promise.all([...new Set(instanceIds)].map((id) => this.instanceRow(id)));
    const { session, records } = await this.d.sync.createSession({
      sessionId: crypto.randomUUID(),
      syncType: opts.syncType,
      createdBy: opts.actor.userId,
      startedAt: this.ms(this.d.clock.now()),
      instances: rows.map((r) => ({ id: r.id, name: r.name })),
    });
    await this.d.audit.record(opts.actor, { action: 'sync.batch', targetType: 'sync_session', targetId: session.session_id, details: { instances: rows.length, sync_type: opts.syncType } });
    const done = (async () => {
      let finished = 0;
      const outcomes = await mapLimit(records, this.d.config.syncConcurrency, async (record, i) => {
        const o = await this.runLocked(record, rows[i]!);
        opts.onRecord?.(o, ++finished, records.length);
        return o;
      });
      const closed = await this.d.sync.finishSession(session.session_id, this.ms(this.d.clock.now()));
      this.d.logger.info({ session_id: session.session_id, status: closed.status, ok: closed.successful_instances, failed: closed.failed_instances }, 'sync session finished');
      return { session_id: session.session_id, status: closed.status, outcomes };
    })();
    return { session_id: session.session_id, total: records.length, done };
  }

  /** `startMany` and wait for the end. */
  async syncMany(...args: Parameters<CapacitySyncService['startMany']>) {
    return (await this.startMany(...args)).done;
  }

  private async lock(instanceId: number, holder: string): Promise<boolean> {
    const now = this.d.clock.now();
    const ttl = this.d.config.connectTimeoutMs + this.d.config.syncTimeoutMs + 60_000;
    return this.d.sync.acquireLock(instanceId, holder, this.ms(now), this.ms(new Date(now.getTime() + ttl)));
  }

  private async runLocked(record: SyncInstanceRecordRow, inst: InstanceRow): Promise<RecordOutcome> {
    const skip = async (why: string): Promise<RecordOutcome> => {
      const at = this.ms(this.d.clock.now());
      await this.d.sync.updateRecord(record.id, { status: 'skipped', completed_at: at, error_message: why });
      return { record_id: record.id, instance_id: inst.id, instance_name: inst.name, status: 'skipped', error_message: why, duration_ms: 0, warnings: [] };
    };
    if (inst.is_active !== 1) return skip(MSG.disabled);
    const holder = `${HOLDER_PREFIX}:${crypto.randomUUID()}`;
    if (!(await this.lock(inst.id, holder))) return skip(MSG.busy(inst.name));
    try {
      return await this.runRecord(record, inst);
    } finally {
      await this.d.sync.releaseLock(inst.id, holder);
    }
  }

  /** Collect and save one instance under its record. Never throws for a collection failure. */
  private async runRecord(record: SyncInstanceRecordRow, inst: InstanceRow): Promise<RecordOutcome> {
    const startedAt = this.d.clock.now();
    const t0 = performance.now();
    const base = { record_id: record.id, instance_id: inst.id, instance_name: inst.name };
    await this.d.sync.updateRecord(record.id, { status: 'running', started_at: this.ms(startedAt), attempt: record.attempt + 1 });
    const log = this.d.logger.child({ instance_id: inst.id, instance_name: inst.name, session_id: record.session_id });
    log.info('capacity sync started');
    let password: string | undefined;
    try {
      const target = await this.target(inst);
      password = target.password;
      const collection = await this.collect(inst, target);
      if (collection.databases.length === 0) throw new SyncError('data', MSG.empty);
      const day = localDate(startedAt, this.d.config.timeZone);
      const warnings = [...collection.warnings];
      const unmeasured = collection.databases.filter((x) => x.size_bytes === null);
      if (unmeasured.length) {
        warnings.push(`${unmeasured.length} 个数据库无法测量大小 (could not be measured): ${unmeasured.slice(0, 5).map((x) => x.database_name).join(', ')}`);
      }
      const completedAt = this.d.clock.now();
      const duration = Math.round(performance.now() - t0);
      const counts = await this.d.capacity.saveCollection(
        { instanceId: inst.id, collectedDate: day, collectedAt: this.ms(completedAt), databases: collection.databases },
        async (trx, c) => {
          await this.d.sync.updateRecord(
            record.id,
            {
              status: 'completed',
              completed_at: this.ms(completedAt),
              duration_ms: duration,
              databases_count: c.database_count,
              saved_count: c.saved,
              created_count: c.created,
              updated_count: c.updated,
              deleted_count: c.deleted,
              restored_count: c.restored,
              total_size_bytes: c.total_size_bytes,
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
          await this.d.instances.setSyncResult(
            inst.id,
            { status: 'completed', at: this.ms(completedAt), error: warnings.length ? warnings.join('; ') : null },
            trx,
          );
        },
      );
      log.info({ databases: counts.saved, created: counts.created, updated: counts.updated, deleted: counts.deleted, restored: counts.restored, total_size_bytes: counts.total_size_bytes, duration_ms: duration }, 'capacity sync completed');
      return { ...base, status: 'completed', counts, duration_ms: duration, warnings };
    } catch (err) {
      const e = err instanceof SyncError ? err : err instanceof AppError ? new SyncError('data', err.message) : new SyncError('internal', errorMessage(err));
      const message = scrubSecrets(e.message, [password]);
      const at = this.d.clock.now();
      const duration = Math.round(performance.now() - t0);
      await this.d.sync.updateRecord(record.id, { status: 'failed', completed_at: this.ms(at), duration_ms: duration, error_code: e.code, error_message: message });
      await this.d.instances.setSyncResult(inst.id, { status: 'failed', at: this.ms(at), error: message });
      log.warn({ error_code: e.code, error: message, duration_ms: duration }, 'capacity sync failed');
      return { ...base, status: 'failed', error_code: e.code, error_message: message, duration_ms: duration, warnings: [] };
    }
  }
}
