/**
 * SQL Server: one server-wide query, one row per file (sys.master_files ⋈
 * sys.databases, tempdb's own sys.database_files), plus side queries only
 * where a database needs them: type-2 container sizes, snapshots' bytes on
 * disk, availability-group roles. The arithmetic (totals, limits, warnings)
 * is sqlserver.aggregate.ts; the rules are listed in docs/engines.md.
 * Optional used-space mode runs one query inside each readable database.
 * Azure SQL Database (EngineEdition 5) is refused at connect as
 * `unsupported`: it has no sys.master_files and no USE, one database per
 * connection.
 *
 * Numbers (checked against mssql 12 / tedious 19): BIGINT arrives as a decimal
 * string (exact), INT as a number, DECIMAL as a JS number that tedious already
 * rounded past 2^53. So pages are fetched as BIGINT, multiplied by 8192 in
 * BigInt here, and anything not exact is refused, never rounded.
 */
import type * as Mssql from 'mssql';
import { SyncError } from '../../lib/errors.js';
import { withTimeout } from '../../lib/timeout.js';
import type { CollectedTableDatabase, TableCollection, TableScope } from '../../domain/tables.js';
import type { Collection, KeyedMessage } from '../../domain/collection.js';
import { msg, msgText } from '../../client/shared/i18n/index.js';
import type { Composition } from '../../domain/composition.js';
import type { ConnectTarget, Engine, EngineSession, PrivilegeCheck } from '../engine.js';
import { bytes, classified, closeWithin, errorRemark, cutToBudget, majorVersion, notCollected, outOfTime } from '../common.js';
import {
  aggregateDatabases,
  grantViewDefinition,
  isSystemDatabase,
  isUnreadableSecondary,
  METHOD_USED,
  noSideFacts,
  type ContainerRow,
  type FileRow,
  type Measured,
  type RoleRow,
  type SideFacts,
} from './sqlserver.aggregate.js';
import { exactCount, PAGE_BYTES, quoteName } from './sqlserver.common.js';
import {
  causeOf,
  COMPOSITION_METHOD,
  LOG_REUSE_QUERY,
  refused,
  sqlserverComposition,
  usedSpaceTargets,
  VOLUMES_QUERY,
  type ReuseRow,
  type UsedRow,
  type VolumeRow,
} from './sqlserver.composition.js';
import { CANCEL_TIMEOUT_MS, Connections, isOwnFailure, poolConfig, SLACK_MS, sql } from './sqlserver.connection.js';
import { serverChecks, stateCheck, usedSpaceChecks, type DoctorRow } from './sqlserver.doctor.js';
import { classifyError } from './sqlserver.errors.js';
import {
  AZURE_SQL_DATABASE,
  containersQuery,
  doctorQuery,
  FILES_QUERY,
  IDENTITY,
  NO_ACCESS,
  ROLES_QUERY,
  snapshotDiskQuery,
  usedSpaceQuery,
} from './sqlserver.queries.js';
import { DATABASES_QUERY, TABLES_METHOD, tablesQuery, toTables, type PartRow } from './sqlserver.tables.js';

class SqlServerSession implements EngineSession {
  private version = '';
  private major = 0;
  private login = '';

  constructor(
    private readonly pool: Mssql.ConnectionPool,
    private readonly connections: Connections,
    private readonly target: ConnectTarget,
    private readonly toSyncError: (err: unknown) => SyncError,
  ) {}

  /** One request, bounded: tedious's request timeout, then its cancel wait, then the hard bound. */
  private async rows<T>(text: string, extraMs = 0): Promise<T[]> {
    const bound = this.target.queryTimeoutMs + CANCEL_TIMEOUT_MS + SLACK_MS + extraMs;
    const res = await withTimeout(this.pool.request().query<T>(text), bound, 'SQL Server 查询', this.connections.destroyAll);
    return res.recordset ?? [];
  }

  /** A side query whose refusal costs only what it measures: its rows, or the classified reason. A dead connection still ends the collection. */
  private async optional<T>(text: string): Promise<T[] | { error: string; msg?: KeyedMessage }> {
    try {
      return await this.rows<T>(text);
    } catch (err) {
      if (!isOwnFailure(err)) throw err;
      const e = classifyError(err, this.target);
      return { error: e.message, ...(e.msg ? { msg: e.msg } : {}) };
    }
  }

  /** Run at connect: its request is where mssql's second login happens, so it is bounded by the connect timeout too. */
  async identify(): Promise<void> {
    const [row] = await this.rows<{ version: string | null; edition: string | null; engine_edition: number | null; login_name: string | null }>(
      IDENTITY,
      this.target.connectTimeoutMs,
    );
    if (row?.engine_edition === AZURE_SQL_DATABASE) {
      throw new SyncError('unsupported', msg('api.engine.mssql_azure'));
    }
    this.version = [row?.version, row?.edition && `(${row.edition})`].filter(Boolean).join(' ');
    this.major = majorVersion(row?.version ?? '');
    this.login = row?.login_name ?? this.target.username;
  }

  serverVersion(): Promise<string> {
    return Promise.resolve(this.version);
  }

  collect(): Promise<Collection> {
    return classified(async () => {
      const rows = await this.rows<FileRow>(FILES_QUERY);
      if (rows.length > 0 && rows.every((r) => r.file_id === null)) {
        throw new SyncError('permission', msg('api.engine.mssql_no_files', { grant: grantViewDefinition(this.login) }));
      }
      const facts = await this.sideFacts(rows);
      const { measured, warnings } = aggregateDatabases(rows, facts, this.login);
      if (this.target.options.used_space === true) await this.addUsedSpace(measured);
      return { databases: measured.map((m) => m.db), warnings, server_version: this.version };
    }, this.toSyncError);
  }

  /** Only what the file rows call for: no snapshot, no group, no container → no side query. */
  private async sideFacts(rows: FileRow[]): Promise<SideFacts> {
    const facts = noSideFacts();
    if (rows.some((r) => r.in_ag === 1)) {
      const roles = await this.optional<RoleRow>(ROLES_QUERY);
      facts.roles = 'error' in roles ? roles : new Map(roles.map((r) => [r.database_id, r]));
    }
    const snapshots = [...new Set(rows.filter((r) => r.source_database_id != null && r.file_id !== null).map((r) => r.database_id))];
    if (snapshots.length > 0) {
      const disk = await this.optional<{ database_id: number; file_id: number; size_on_disk_bytes: unknown }>(snapshotDiskQuery(snapshots));
      facts.snapshotDisk = 'error' in disk ? disk : new Map(disk.map((r) => [`${r.database_id}/${r.file_id}`, r.size_on_disk_bytes]));
    }
    const withContainers = new Map(rows.filter((r) => r.type === 2 && r.state_desc === 'ONLINE').map((r) => [r.database_id, r.name]));
    for (const [id, name] of withContainers) {
      if (facts.roles instanceof Map && isUnreadableSecondary(facts.roles.get(id))) {
        facts.containers.set(id, { error: '可用性组次要副本不可读 (secondary not readable)', msg: msg('api.sync.warn.mssql_secondary_containers') });
        continue;
      }
      facts.containers.set(id, await this.optional<ContainerRow>(containersQuery(name)));
    }
    return facts;
  }

  /**
   * Used space, one query per readable database that has an allocated size. A
   * database refusing us (no user, 916) or failing otherwise keeps its
   * allocated size and gets its own error; a dead connection ends the collection.
   */
  private async addUsedSpace(measured: Measured[]): Promise<void> {
    for (const m of measured) {
      if (!m.readable || m.allocated === null) continue;
      const name = m.db.database_name;
      try {
        const [row] = await this.rows<{ data_used_pages: unknown; log_used_bytes: unknown }>(usedSpaceQuery(name));
        if (row?.data_used_pages == null || row.log_used_bytes == null) {
          m.db.error = msgText(msg('db.remark.mssql_used_null'));
          continue;
        }
        const used = exactCount(row.data_used_pages, `${name} used pages`) * PAGE_BYTES + exactCount(row.log_used_bytes, `${name} used log bytes`);
        m.db.used_bytes = bytes(used, `${name} used_bytes`);
        // The two queries are not one snapshot: a file shrunk in between would make free space negative.
        m.db.free_bytes = used <= m.allocated ? bytes(m.allocated - used, `${name} free_bytes`) : null;
        m.db.method = METHOD_USED;
      } catch (err) {
        // A hard timeout (SyncError 'timeout') means the server stopped answering: that ends the collection.
        if (!isOwnFailure(err)) throw err;
        const e = classifyError(err, this.target);
        Object.assign(m.db, errorRemark(msg('db.remark.mssql_used_space', { cause: e.msg ?? e.message })));
      }
    }
  }

  /**
   * Table sizes, one query inside each database (see sqlserver.tables.ts).
   * Every ONLINE user database (not master/tempdb/model/msdb, distribution or
   * SSISDB) when `scope.databases` is null; a database refusing us, offline
   * or failing is reported for itself.
   */
  collectTables(scope: TableScope): Promise<TableCollection> {
    return classified(async () => {
      const list = await this.rows<{ name: string; state_desc: string; database_id: number; is_distributor: boolean | null }>(DATABASES_QUERY);
      const byName = new Map(list.map((r) => [r.name, r]));
      const names = scope.databases ?? list.filter((r) => !isSystemDatabase(r)).map((r) => r.name);
      const out: CollectedTableDatabase[] = [];
      let allowance = scope.maxTables;
      for (const name of names) {
        const row = byName.get(name);
        if (!row) {
          out.push(notCollected(name, msg('api.tables.db_not_found')));
          continue;
        }
        if (row.state_desc !== 'ONLINE') {
          out.push(notCollected(name, msg('api.tables.db_state', { state: String(row.state_desc) })));
          continue;
        }
        if (Date.now() >= scope.deadline) {
          out.push(outOfTime(name));
          continue;
        }
        try {
          const rows = await this.rows<PartRow>(tablesQuery(name, { memoryOptimized: this.major >= 12 }));
          const { kept, other } = cutToBudget(toTables(rows), allowance);
          allowance -= kept.length;
          out.push({ database_name: name, tables: kept, ...(other ? { other } : {}) });
        } catch (err) {
          if (!isOwnFailure(err)) throw err;
          out.push(notCollected(name, classifyError(err, this.target)));
        }
      }
      return { method: TABLES_METHOD, databases: out, present_databases: scope.databases ? null : list.map((r) => r.name), warnings: [] };
    }, this.toSyncError);
  }

  /**
   * Where the bytes went (sqlserver.composition.ts): the per-file rows, each
   * ONLINE database's used space (one USE'd query each, as used_space mode),
   * the log reuse waits and the volumes. A refused query leaves only its part
   * unknown, with the reason and the grant.
   */
  composition(): Promise<Composition> {
    return classified(async () => {
      const files = await this.rows<FileRow>(FILES_QUERY);
      const used = new Map<string, UsedRow | { error: string; msg?: KeyedMessage }>();
      const serverState = this.major >= 16 ? 'VIEW SERVER PERFORMANCE STATE' : 'VIEW SERVER STATE';
      for (const name of usedSpaceTargets(files)) {
        const r = await this.optional<UsedRow>(usedSpaceQuery(name));
        used.set(
          name,
          'error' in r
            ? refused(msg('composition.reason.mssql_used_space', { cause: causeOf(r), state: serverState, login: quoteName(this.login) }))
            : (r[0] ?? refused(msg('composition.reason.mssql_no_row'))),
        );
      }
      const reuse = await this.optional<ReuseRow>(LOG_REUSE_QUERY);
      const volumes = await this.optional<VolumeRow>(VOLUMES_QUERY);
      const v =
        'error' in volumes
          ? refused(msg('composition.reason.mssql_volumes', { cause: causeOf(volumes), state: serverState, login: quoteName(this.login) }))
          : volumes;
      return { ...sqlserverComposition({ files, used, reuse, volumes: v, login: this.login }), method: COMPOSITION_METHOD };
    }, this.toSyncError);
  }

  doctor(): Promise<PrivilegeCheck[]> {
    return classified(async () => {
      const [p] = await this.rows<DoctorRow>(doctorQuery(this.major));
      if (!p) throw new SyncError('data', msg('api.engine.mssql_no_privilege_row'));
      const usedSpace = this.target.options.used_space === true;
      const checks = serverChecks(p, this.login);
      checks.push(stateCheck(p, this.major, this.login, usedSpace));
      if (usedSpace) {
        const denied = (await this.rows<{ name: string }>(NO_ACCESS)).map((r) => r.name);
        checks.push(...usedSpaceChecks(this.major, this.login, denied));
      }
      return checks;
    }, this.toSyncError);
  }

  close(): Promise<void> {
    return closeWithin(this.target.connectTimeoutMs, () => this.pool.close(), this.connections.destroyAll);
  }
}

export const sqlserverEngine: Engine = {
  dbType: 'sqlserver',
  label: 'SQL Server',
  defaultPort: 1433,
  needsDatabaseName: false,
  options: {
    instance_name: { kind: 'string', maxLength: 128, description: '命名实例名 (经 SQL Server Browser UDP 1434 查找端口，忽略端口设置)' },
    encrypt: { kind: 'boolean', description: '加密连接 (TLS)；服务器未协商加密时拒绝连接。默认关闭' },
    trust_server_certificate: { kind: 'boolean', description: '信任服务器证书 (自签名证书时使用)' },
    domain: { kind: 'string', maxLength: 255, description: 'Windows 域：设置后以 NTLM 方式登录 (DOMAIN\\user)' },
    used_space: { kind: 'boolean', description: '已用空间模式：逐库查询 FILEPROPERTY 与 sys.dm_db_log_space_usage (需 CONNECT 与 VIEW SERVER STATE)' },
  },
  classifyError,

  async connect(target) {
    const encrypt = target.options.encrypt === true;
    const connections = new Connections(encrypt);
    const pool = new sql.ConnectionPool(poolConfig(target, connections, encrypt));
    // A pooled connection's fatal error is re-emitted on the pool; unheard, it
    // would crash the process. The next request fails and is classified instead.
    pool.on('error', () => {});
    try {
      await withTimeout(pool.connect(), target.connectTimeoutMs + SLACK_MS, 'SQL Server 连接', connections.destroyAll);
      const session = new SqlServerSession(pool, connections, target, (err) => classifyError(err, target));
      await session.identify();
      connections.assertEncrypted();
      return session;
    } catch (err) {
      await closeWithin(target.connectTimeoutMs, () => pool.close(), connections.destroyAll);
      throw classifyError(err, target);
    }
  },
};
