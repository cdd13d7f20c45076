/**
 * Table-level capacity (issue #9): collect the size of every table of one
 * database or one instance — on demand, or daily for the databases a rule
 * picks — within a per-instance budget, save it in the table ledger, and
 * answer the views the database detail page needs. Knows nothing of HTTP.
 *
 * Every run is a sync session (`sync_category = 'tables'`) with one record
 * per instance whose `details` say what the budget cut and what could not be
 * collected. Table runs of one instance never overlap (their own lock row,
 * keyed `-instance_id`, so they do not block the database-level sync).
 */
import { errorColumns } from '../store/sync.repository.js';
import { msg, msgText } from '../client/shared/i18n/index.js';
import { dbError, listMsg, TABLES_MSG, type TableDatabaseOutcome, type TableSyncResult } from './tables-result.js';
import crypto from 'node:crypto';
import type { Config } from '../config.js';
import type { ConnectTarget, Engine, EngineSession } from '../engines/engine.js';
import type { DbType } from '../domain/db-type.js';
import { storableTables, type TableCollection } from '../domain/tables.js';
import { addDays, isIsoDate, localDate, type Clock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { AppError, SyncError, errorMessage } from '../lib/errors.js';
import { excludedBy } from '../lib/glob.js';
import type { Logger } from '../lib/logger.js';
import { holderAlive, newHolder, PROCESS_TAG, releaseHolder } from '../lib/process-tag.js';
import { withTimeout } from '../lib/timeout.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow } from '../store/schema.js';
import type { SyncRepository, SyncType } from '../store/sync.repository.js';
import type { TableLocksRepository } from '../store/table-locks.repository.js';
import { methodName, type TableSelectionRepository, type TableSort, type TablesRepository } from '../store/tables.repository.js';
import type { Actor, AuditService } from './audit.service.js';
import { instanceOrThrow, type ConnectionService } from './connection.service.js';
import type { Slot } from './connection-slots.js';
import type { EffectiveSettings } from './settings.service.js';
import { fail } from './validate.js';

export { localizeTableSync, TABLES_MSG, type TableDatabaseOutcome, type TableSyncResult } from './tables-result.js';

type TablesConfig = Pick<
  Config,
  'timeZone' | 'tablesMaxTables' | 'tablesMaxSeconds' | 'tablesDaily' | 'tablesDailyTop' | 'tablesDailyGrowth' | 'tablesDailyDays' | 'tablesWeeklyDays'
>;

export interface TablesDeps {
  config: TablesConfig;
  settings: () => Promise<EffectiveSettings>;
  clock: Clock;
  logger: Logger;
  engineFor: (dbType: DbType) => Engine;
  instances: InstancesRepository;
  tables: TablesRepository;
  selection: TableSelectionRepository;
  sync: SyncRepository;
  tableLocks: TableLocksRepository;
  connections: Pick<ConnectionService, 'target' | 'exclusionsFor' | 'reserve' | 'connect'>;
  audit: AuditService;
}

const SORTS: readonly TableSort[] = ['total', 'data', 'index', 'lob', 'free', 'rows', 'name'];

export class TablesService {
  constructor(private readonly d: TablesDeps) {}

  private now(): string {
    return this.d.clock.now().toISOString();
  }

  /**
   * Collect and save the tables of `databases` (null: every database) of one
   * instance. Refused (400) when disabled or without a credential, 409 when a
   * table run of it is going on; a failed collection throws
   * AppError('sync_failed') with the session id, after recording it.
   */
  async syncTables(instanceId: number, opts: { databases?: string[] | null; actor: Actor; syncType?: SyncType }): Promise<TableSyncResult> {
    const inst = await instanceOrThrow(this.d.instances, instanceId);
    const databases = opts.databases ?? null;
    if (databases !== null) {
      if (databases.length === 0 || databases.length > 10_000) fail('databases', msg('api.v.databases'));
      for (const n of databases) if (typeof n !== 'string' || n.length === 0 || n.length > 512) fail('databases', msg('api.v.database_names'));
    }
    if (inst.is_active !== 1) throw new AppError('validation', TABLES_MSG.disabled);
    if (inst.credential_id === null) throw new AppError('validation', TABLES_MSG.noCredential);
    const engine = this.d.engineFor(inst.db_type as DbType);
    const s = await this.d.settings();
    const target = await this.d.connections.target(inst, { connectTimeoutMs: s.connect_timeout_ms, syncTimeoutMs: s.sync_timeout_ms });
    const maxTables = (target.options.tables_max_tables as number | undefined) ?? this.d.config.tablesMaxTables;
    const maxSeconds = (target.options.tables_max_seconds as number | undefined) ?? this.d.config.tablesMaxSeconds;
    const lease = target.connectTimeoutMs + maxSeconds * 1000 + target.queryTimeoutMs + 60_000;

    const holder = newHolder();
    const startedAt = this.d.clock.now();
    const expires = new Date(startedAt.getTime() + lease).toISOString();
    if (!(await this.d.tableLocks.acquire(inst.id, holder, startedAt.toISOString(), expires))) {
      // A lock left by a dead process on this host is taken over at once (a queued nightly task of a killed worker).
      const current = await this.d.tableLocks.holder(inst.id);
      if (!current || holderAlive(current) !== false || !(await this.d.tableLocks.takeOver(inst.id, current, holder, startedAt.toISOString(), expires))) {
        releaseHolder(holder);
        throw new AppError('conflict', TABLES_MSG.busy(inst.name));
      }
    }
    const t0 = performance.now();
    const syncType = opts.syncType ?? 'manual_single';
    const day = localDate(startedAt, this.d.config.timeZone);
    const budget = { max_tables: maxTables, max_seconds: maxSeconds };
    let sessionId = '';
    try {
      const { session, records } = await this.d.sync.createSession({
        sessionId: crypto.randomUUID(),
        syncType,
        createdBy: opts.actor.userId,
        startedAt: startedAt.toISOString(),
        owner: PROCESS_TAG,
        instances: [{ id: inst.id, name: inst.name }],
        category: 'tables',
      });
      sessionId = session.session_id;
      const record = records[0]!;
      await this.d.sync.updateRecord(record.id, { status: 'running', attempt: 1, holder, started_at: startedAt.toISOString() });
      const log = this.d.logger.child({ instance_id: inst.id, instance_name: inst.name, session_id: sessionId });
      try {
        // A connection slot first (the caps): waiting for it does not eat the table budget.
        const slot = await this.d.connections.reserve(inst, { purpose: 'tables' });
        const deadline = Date.now() + maxSeconds * 1000;
        const { collection: raw, replaced } = storableTables(await this.collect(inst, engine, target, slot, { databases, maxTables, deadline }));
        const patterns = this.d.connections.exclusionsFor(inst, target, s);
        // Exclusion rules apply to tables too; an excluded database is neither saved nor marked gone.
        const excluded = raw.databases.filter((x) => databases === null && excludedBy(x.database_name, patterns));
        const collection: TableCollection = { ...raw, databases: raw.databases.filter((x) => !excluded.includes(x)) };
        const measured = collection.databases.filter((x) => x.error === undefined);
        const failed = collection.databases.filter((x) => x.error !== undefined);
        if (measured.length === 0 && (failed.length > 0 || databases !== null)) {
          throw new SyncError('data', listMsg(failed.slice(0, 5).map((x) => dbError(x))) ?? msg('api.tables.nothing_collected'));
        }
        const counts = await this.d.tables.saveTables({
          instanceId: inst.id,
          collectedDate: day,
          collectedAt: this.now(),
          method: collection.method,
          databases: measured,
          presentDatabases: collection.present_databases,
        });
        const outcomes: TableDatabaseOutcome[] = collection.databases.map((x) => ({
          database_name: x.database_name,
          tables: x.tables.length,
          ...(x.other ? { other_tables: x.other.tables, other_bytes: x.other.total_bytes } : {}),
          ...(x.error !== undefined ? { error: x.error } : {}),
          ...(x.error_msg ? { error_msg: x.error_msg } : {}),
        }));
        const cutMsgs = [
          ...collection.databases
            .filter((x) => x.other)
            .map((x) =>
              msg('api.tables.warn.budget_cut', {
                name: x.database_name,
                max: maxTables,
                kept: x.tables.length,
                other: x.other!.tables,
                bytes: x.other!.total_bytes,
              }),
            ),
          ...failed.map((x) => dbError(x)),
        ];
        const notes = [
          ...(excluded.length ? [msg('api.tables.warn.excluded', { count: excluded.length })] : []),
          ...(replaced ? [msg('api.tables.warn.names_replaced', { count: replaced })] : []),
        ];
        const warningMsgs = [...collection.warnings, ...notes].map((w) => (typeof w === 'string' ? msg('api.sync.warning_text', { text: w }) : w));
        const cut = cutMsgs.map((m) => msgText(m));
        const warnings = warningMsgs.map((m) => msgText(m));
        const duration = Math.round(performance.now() - t0);
        await this.d.sync.updateRecord(record.id, {
          status: 'completed',
          completed_at: this.now(),
          duration_ms: duration,
          databases_count: measured.length,
          saved_count: counts.saved,
          created_count: counts.created,
          updated_count: counts.saved - counts.created,
          deleted_count: counts.deleted,
          restored_count: counts.restored,
          total_size_bytes: counts.total_bytes,
          details: JSON.stringify({
            category: 'tables',
            collected_date: day,
            method: collection.method,
            budget,
            databases: outcomes.slice(0, 1000),
            cut: cut.slice(0, 200),
            warnings,
            warning_msgs: warningMsgs,
          }),
        });
        log.info({ tables: counts.saved, databases: measured.length, cut: cut.length, duration_ms: duration }, 'table sync completed');
        return {
          session_id: sessionId,
          instance_id: inst.id,
          instance_name: inst.name,
          collected_date: day,
          method: collection.method,
          budget,
          saved_count: counts.saved,
          created_count: counts.created,
          deleted_count: counts.deleted,
          restored_count: counts.restored,
          databases: outcomes,
          cut,
          cut_msgs: cutMsgs,
          warnings,
          warning_msgs: warningMsgs,
          duration_ms: duration,
        };
      } catch (err) {
        const e = (
          err instanceof SyncError
            ? err
            : err instanceof AppError
              ? new SyncError('data', err.msg ?? err.message)
              : new SyncError('internal', errorMessage(err))
        ).scrubbed([target.password]);
        const message = e.message;
        await this.d.sync.updateRecord(record.id, {
          status: 'failed',
          completed_at: this.now(),
          duration_ms: Math.round(performance.now() - t0),
          error_code: e.code,
          ...errorColumns(e.msg ?? message),
          details: JSON.stringify({ category: 'tables', collected_date: day, budget }),
        });
        log.warn({ error_code: e.code, error: message }, 'table sync failed');
        // No connection slot came free: the caller is told to come back (429), the record says why.
        if (err instanceof AppError && err.kind === 'rate_limited') throw err;
        throw new AppError('sync_failed', TABLES_MSG.failed(e.msg ?? message), e.code, { session_id: sessionId });
      }
    } finally {
      if (sessionId) await this.d.sync.finishSession(sessionId, this.now());
      await this.d.tableLocks.release(inst.id, holder).finally(() => releaseHolder(holder));
      await this.d.audit.record(opts.actor, {
        action: 'instance.sync_tables',
        targetType: 'instance',
        targetId: inst.id,
        details: { session_id: sessionId, databases: databases?.slice(0, 20) ?? 'all' },
      });
    }
  }

  /** Connect, collect tables, close — bounded as a whole (budget + one query + connect). */
  private async collect(
    inst: InstanceRow,
    engine: Engine,
    target: ConnectTarget,
    slot: Slot,
    scope: { databases: string[] | null; maxTables: number; deadline: number },
  ): Promise<TableCollection> {
    let session: EngineSession | undefined;
    const work = (async () => {
      session = await this.d.connections.connect(inst, target, slot);
      try {
        if (!session.collectTables) throw new SyncError('unsupported', TABLES_MSG.unsupported(engine.label));
        return await session.collectTables(scope);
      } finally {
        void session.close().catch(() => {});
      }
    })();
    try {
      return await withTimeout(
        work,
        target.connectTimeoutMs + (scope.deadline - Date.now()) + target.queryTimeoutMs,
        '表容量采集',
        () => void session?.close().catch(() => {}),
      );
    } catch (err) {
      work.catch(() => {});
      throw (err instanceof SyncError ? err : engine.classifyError(err, target)).scrubbed([target.password]);
    }
  }

  /**
   * The daily rule: on each active instance, the `tablesDailyTop` largest
   * databases and the `tablesDailyGrowth` that grew most over 7 days (from
   * the database ledger), or every database when the instance is tagged
   * `tables`. Largest first, so the table budget favours them. Null = all.
   */
  async dailySelection(inst: InstanceRow, day: string): Promise<string[] | null> {
    const tags = JSON.parse(inst.tags) as string[];
    if (tags.includes('tables')) return null;
    const rows = (await this.d.selection.databaseSizes(inst.id, addDays(day, -7), day)).filter((r) => r.is_system === 0 && r.size_bytes !== null);
    const bySize = [...rows].sort((a, b) => b.size_bytes! - a.size_bytes! || a.database_name.localeCompare(b.database_name));
    const picked = new Set(bySize.slice(0, this.d.config.tablesDailyTop).map((r) => r.database_name));
    const growth = rows
      .filter((r) => r.then_bytes !== null && r.size_bytes! > r.then_bytes)
      .sort((a, b) => b.size_bytes! - b.then_bytes! - (a.size_bytes! - a.then_bytes!) || a.database_name.localeCompare(b.database_name));
    for (const r of growth.slice(0, this.d.config.tablesDailyGrowth)) picked.add(r.database_name);
    return bySize.filter((r) => picked.has(r.database_name)).map((r) => r.database_name);
  }

  /** The daily run (after aggregation): the rule's databases on every active instance, then retention. */
  async runDaily(actor: Actor): Promise<string> {
    if (!this.d.config.tablesDaily) return 'table sync off';
    const day = localDate(this.d.clock.now(), this.d.config.timeZone);
    const s = await this.d.settings();
    const instances = (await this.d.instances.list({ active: true })).filter((i) => i.credential_id !== null);
    let ok = 0;
    let failed = 0;
    let tables = 0;
    await mapLimit(instances, s.sync_concurrency, async (inst) => {
      try {
        const saved = await this.runDailyInstance(inst, day, actor);
        if (saved === null) return;
        tables += saved;
        ok++;
      } catch (err) {
        failed++;
        this.d.logger.warn({ instance_id: inst.id, err: errorMessage(err) }, 'daily table sync failed');
      }
    });
    const thinned = await this.thin();
    return `tables: ${ok} instance(s), ${tables} table row(s)${failed ? `, ${failed} failed` : ''}; ${thinned} old table row(s) thinned`;
  }

  /** The daily rule's table sync of one instance (a queued nightly task runs this): table rows saved, null when the rule picks nothing. */
  async runDailyInstance(inst: InstanceRow, day: string, actor: Actor): Promise<number | null> {
    const pick = await this.dailySelection(inst, day);
    if (pick !== null && pick.length === 0) return null;
    return (await this.syncTables(inst.id, { databases: pick, actor, syncType: 'scheduled_task' })).saved_count;
  }

  /**
   * Retention of the table ledger: every row for `tablesDailyDays`, then the
   * first row of each table in each ISO week, after `tablesWeeklyDays` the
   * first of each month (kept for good).
   */
  async thin(): Promise<number> {
    const today = localDate(this.d.clock.now(), this.d.config.timeZone);
    const dailyCutoff = addDays(today, -this.d.config.tablesDailyDays);
    const weeklyCutoff = addDays(today, -this.d.config.tablesWeeklyDays);
    const dates = await this.d.tables.datesBefore(dailyCutoff);
    const buckets = new Map<string, [string, string]>();
    for (const d of dates) {
      const key = d < weeklyCutoff ? d.slice(0, 7) : weekStart(d);
      const b = buckets.get(key);
      buckets.set(key, b ? [b[0], d] : [d, d]);
    }
    let deleted = 0;
    for (const [from, to] of buckets.values()) if (from !== to) deleted += await this.d.tables.keepFirstPerTable(from, to);
    return deleted;
  }

  /** Tables of one database (latest collected day unless `day`): sortable, searchable, with totals for the split bar. */
  async listTables(
    instanceId: number,
    database: string,
    q: { day?: string; search?: string; sort?: string; order?: string; limit?: number; offset?: number; include_deleted?: boolean },
  ) {
    const inst = await instanceOrThrow(this.d.instances, instanceId);
    if (q.day !== undefined && !isIsoDate(q.day)) fail('day', msg('api.v.bad_date', { value: q.day }));
    const sort = (q.sort ?? 'total') as TableSort;
    if (!SORTS.includes(sort)) fail('sort', msg('api.v.one_of', { values: SORTS.join(' | '), list: SORTS.join(', ') }));
    const order = q.order === 'asc' ? 'asc' : 'desc';
    const day = q.day ?? (await this.d.tables.latestDay(inst.id, database));
    const empty = { instance_id: inst.id, instance_name: inst.name, database_name: database, collected_date: day, total: 0, totals: null, items: [] };
    if (!day) return empty;
    const page = await this.d.tables.listTables(inst.id, database, day, {
      search: q.search,
      sort,
      order,
      limit: q.limit ?? 100,
      offset: q.offset ?? 0,
      includeDeleted: q.include_deleted ?? false,
    });
    const t = await this.d.tables.databaseTotals(inst.id, database, day);
    return {
      ...empty,
      total: page.total,
      totals: {
        total_bytes: t.total_bytes === null ? 0 : Number(t.total_bytes),
        data_bytes: nul(t.data_bytes),
        index_bytes: nul(t.index_bytes),
        lob_bytes: nul(t.lob_bytes),
        free_bytes: nul(t.free_bytes),
      },
      items: page.items.map((r) => ({
        table_id: r.table_id,
        schema_name: r.schema_name,
        table_name: r.table_name,
        kind: r.kind,
        parent: r.parent_table === null ? null : { schema_name: r.parent_schema ?? '', table_name: r.parent_table },
        total_bytes: r.total_bytes,
        data_bytes: r.data_bytes,
        index_bytes: r.index_bytes,
        lob_bytes: r.lob_bytes,
        free_bytes: r.free_bytes,
        row_estimate: r.row_estimate,
        table_count: r.table_count,
        method: methodName(r.method),
        is_deleted: r.is_deleted === 1,
        first_seen_date: r.first_seen_date,
        last_seen_date: r.last_seen_date,
      })),
    };
  }

  /** One table's daily series in [from, to] (default: the last 90 days). */
  async series(tableId: number, q: { from?: string; to?: string }) {
    const name = await this.d.tables.tableName(tableId);
    if (!name) throw new AppError('not_found', msg('api.table_not_found', { id: tableId }));
    const to = q.to ?? localDate(this.d.clock.now(), this.d.config.timeZone);
    const from = q.from ?? addDays(to, -89);
    if (from > to) fail('from', msg('api.v.from_after_to'));
    const points = await this.d.tables.series(tableId, from, to);
    return {
      table_id: name.id,
      instance_id: name.instance_id,
      database_name: name.database_name,
      schema_name: name.schema_name,
      table_name: name.table_name,
      kind: name.kind,
      is_deleted: name.is_deleted === 1,
      from,
      to,
      points: points.map((p) => ({ ...p, is_deleted: p.is_deleted === 1 })),
    };
  }

  /** Tables that grew most across the estate (or one instance) over the last `days` days. */
  async topGrowing(q: { days?: number; limit?: number; to?: string; instance_id?: number }) {
    const to = q.to ?? localDate(this.d.clock.now(), this.d.config.timeZone);
    const days = q.days ?? 7;
    const b = await this.d.tables.dayBounds(addDays(to, -days), to);
    const base = { days, from: b.first, to: b.last };
    if (!b.first || !b.last || b.first === b.last) return { ...base, items: [] };
    const rows = await this.d.tables.topGrowing(b.first, b.last, q.limit ?? 50, q.instance_id);
    return {
      ...base,
      items: rows.map((r) => ({
        ...r,
        change_bytes: Number(r.change_bytes),
        change_pct: r.first_bytes ? Math.round((Number(r.change_bytes) / r.first_bytes) * 10_000) / 100 : null,
      })),
    };
  }

  /** Databases of an instance that have table rows, with their latest day. */
  async databases(instanceId: number) {
    const inst = await instanceOrThrow(this.d.instances, instanceId);
    return (await this.d.tables.databasesWithTables(inst.id)).map((r) => ({
      database_name: r.database_name,
      last_collected_date: r.last_collected_date,
      tables: Number(r.tables),
    }));
  }
}

const nul = (v: number | null): number | null => (v === null ? null : Number(v));

/** Monday of the ISO week of a 'YYYY-MM-DD' date. */
export function weekStart(day: string): string {
  const wd = new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(day, -((wd + 6) % 7));
}
