/**
 * SQL Server: one server-wide query over sys.master_files joined to
 * sys.databases. `size` counts 8 KB pages; ROWS (type 0) files are data,
 * LOG (1) the log — kept apart, the original dropped the log — and FILESTREAM
 * (2) containers always report 0, so they are only noted. A database that is
 * not ONLINE keeps the size of its files and is reported, never "deleted".
 * Optional used-space mode runs one query inside each ONLINE database.
 *
 * Numbers (checked against mssql 12 / tedious 19): BIGINT arrives as a decimal
 * string (exact), INT as a number, DECIMAL as a JS number that tedious already
 * rounded past 2^53. So pages are summed as BIGINT in SQL, multiplied by 8192
 * in BigInt here, and anything not exact is refused, never rounded.
 */
import { createRequire } from 'node:module';
import type * as Mssql from 'mssql';
import { SyncError } from '../../lib/errors.js';
import { withTimeout } from '../../lib/timeout.js';
import type { CollectedDatabase, CollectedTableDatabase, Collection, ConnectTarget, Engine, EngineSession, PrivilegeCheck, TableCollection, TableScope } from '../engine.js';
import { bytes, classified, classify, closeWithin, cutToBudget, errorCode, outOfTime, type Verdict } from '../common.js';
import { DATABASES_QUERY, TABLES_METHOD, tablesQuery, toTable, type PartitionRow } from './sqlserver.tables.js';
import { exactCount, PAGE_BYTES, quoteName } from './sqlserver.common.js';

const METHOD = 'sys.master_files';
const METHOD_USED = 'sys.master_files+used';

/**
 * tedious answers a request timeout with an ATTENTION and waits this long for
 * the server's acknowledgement before dropping the connection (its default).
 */
const CANCEL_TIMEOUT_MS = 5000;
/** The hard bounds fire this long after tedious's own timers, only for a server that stopped answering. */
const SLACK_MS = 1000;

/** The ERROR token's number decides first: the same driver code (EREQUEST) covers every server error. */
const SERVER_ERRORS: Record<number, Verdict> = {
  18456: ['auth', '登录失败'],
  18452: ['auth', '登录失败 (不受信任的域)'],
  18486: ['auth', '账户已锁定'],
  18487: ['auth', '密码已过期'],
  18488: ['auth', '必须修改密码'],
  229: ['permission', '权限不足'],
  230: ['permission', '权限不足'],
  262: ['permission', '权限不足'],
  297: ['permission', '权限不足'],
  300: ['permission', '权限不足 (缺少服务器级权限，如 VIEW SERVER STATE)'],
  916: ['permission', '无权访问该数据库'],
  4060: ['connection', '无法打开数据库'],
  911: ['connection', '数据库不存在'],
  927: ['connection', '数据库正在还原，不可用'],
  942: ['connection', '数据库已脱机'],
  945: ['connection', '数据库文件不可访问'],
  952: ['connection', '数据库正在切换状态'],
  1222: ['timeout', '锁等待超时'],
};

/** mssql/tedious codes. ESOCKET only when no Node socket error lies underneath (see rootCause). */
const DRIVER_CODES: Record<string, Verdict> = {
  ELOGIN: ['auth', '登录失败'],
  ETIMEOUT: ['timeout', '超时'],
  ECANCEL: ['timeout', '请求已取消'],
  EINSTLOOKUP: ['connection', '无法通过 SQL Server Browser (UDP 1434) 找到命名实例'],
  EENCRYPT: ['connection', '服务器要求加密连接，请启用 encrypt 选项'],
  ESOCKET: ['connection', '网络连接失败'],
  ECLOSE: ['connection', '连接已关闭'],
  ECONNCLOSED: ['connection', '连接已关闭'],
  ENOTOPEN: ['connection', '连接未打开'],
  ETDS: ['unsupported', '不支持的 TDS 版本'],
  EINTERFACENOTSUPP: ['unsupported', '不支持的服务器接口'],
};

function sqlserverVerdict(err: unknown): Verdict | null {
  // mssql copies the ERROR token's number; for its own errors `number` is the code string.
  const number = (err as { number?: unknown } | null)?.number;
  if (typeof number === 'number' && SERVER_ERRORS[number]) return SERVER_ERRORS[number];
  const code = errorCode(err);
  return (code && DRIVER_CODES[code]) || null;
}

/**
 * The error that says what happened. A refused connection arrives as mssql
 * ConnectionError(ESOCKET "Could not connect (sequence)") → tedious
 * ConnectionError → AggregateError → Node's ECONNREFUSED: the innermost
 * error with a code is the one the network table knows.
 */
function rootCause(err: unknown): unknown {
  let found = err;
  let current = err;
  for (let depth = 0; current && depth < 6; depth++) {
    if (errorCode(current) !== undefined) found = current;
    const e = current as { originalError?: unknown; cause?: unknown };
    current = e.originalError ?? e.cause ?? (current instanceof AggregateError ? current.errors[0] : undefined);
  }
  return found;
}

const classifyError = (err: unknown, target: ConnectTarget): SyncError => classify(rootCause(err), target, sqlserverVerdict);

/** An error the server sent for one request (or tedious's cancelled request) leaves the connection usable. */
const require = createRequire(import.meta.url);
let mssql: typeof Mssql | undefined;
/** The driver, loaded on first use: an estate without SQL Server never pays for mssql/tedious (~25 MB resident). */
const sql = new Proxy({} as typeof Mssql, { get: (_t, key) => Reflect.get((mssql ??= require('mssql') as typeof Mssql), key) });

const isRequestError = (err: unknown): boolean => mssql !== undefined && err instanceof sql.RequestError;

/** `[name]` with `]` doubled, as QUOTENAME() does: database names may hold any character. */

const optionString = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);


/** ONE query for the whole server. LEFT JOIN: a database whose files we may not see has files = 0, not size 0. */
const MASTER_FILES = `
  SELECT d.database_id, d.name, d.state_desc,
         COUNT(f.file_id) AS files,
         SUM(CASE WHEN f.type = 2 THEN 1 ELSE 0 END) AS filestream_files,
         SUM(CASE WHEN f.type = 0 THEN CAST(f.size AS bigint) ELSE 0 END) AS data_pages,
         SUM(CASE WHEN f.type = 1 THEN CAST(f.size AS bigint) ELSE 0 END) AS log_pages,
         -- How far the files may grow: max_size -1 = unlimited (so the database has no limit: NULL),
         -- 0 = no growth (the current size is the limit), else a page count.
         CASE WHEN SUM(CASE WHEN f.type IN (0, 1) AND f.max_size = -1 THEN 1 ELSE 0 END) > 0 THEN NULL
              ELSE SUM(CASE WHEN f.type IN (0, 1) THEN CAST(CASE WHEN f.max_size = 0 THEN f.size ELSE f.max_size END AS bigint) ELSE 0 END)
         END AS max_pages
  FROM sys.databases d
  LEFT JOIN sys.master_files f ON f.database_id = d.database_id
  GROUP BY d.database_id, d.name, d.state_desc
  ORDER BY d.name`;

interface FileRow {
  database_id: number;
  name: string;
  state_desc: string;
  files: number;
  filestream_files: number;
  data_pages: unknown;
  log_pages: unknown;
  max_pages?: unknown;
}

/** FILEPROPERTY and the log DMV only speak about the current database: hence USE, scoped to this sp_executesql call. */
const usedSpaceQuery = (name: string): string => `USE ${quoteName(name)};
  SELECT (SELECT SUM(CAST(FILEPROPERTY(name, 'SpaceUsed') AS bigint)) FROM sys.database_files WHERE type = 0) AS data_used_pages,
         (SELECT used_log_space_in_bytes FROM sys.dm_db_log_space_usage) AS log_used_bytes`;

const IDENTITY = `
  SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version,
         CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
         SUSER_SNAME() AS login_name`;

const DOCTOR = `
  SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DATABASE') AS view_any_database,
         HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DEFINITION') AS view_any_definition,
         HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') AS view_server_state,
         (SELECT COUNT(*) FROM sys.databases) AS databases,
         (SELECT COUNT(DISTINCT database_id) FROM sys.master_files) AS databases_with_files`;

const NO_ACCESS = `SELECT name FROM sys.databases WHERE state_desc = 'ONLINE' AND HAS_DBACCESS(name) = 0 ORDER BY name`;

const grantViewDefinition = (login: string) => `GRANT VIEW ANY DEFINITION TO ${quoteName(login)};`;
const NO_FILES = (login: string) =>
  `sys.master_files 中看不到该库的文件，容量未知 (files not visible: ${grantViewDefinition(login)})`;

type TediousConnection = Mssql.Connection;

/**
 * Every tedious connection the pool opens. mssql logs in once to probe the
 * settings, closes that connection and logs in again on the first query, and
 * hides the sockets: a hard timeout destroys them through here. It also
 * notices a login that was not encrypted although `encrypt` asked for it —
 * tedious silently continues in clear text when the server answers PRELOGIN
 * with ENCRYPT_NOT_SUP.
 */
class Connections {
  private readonly open = new Set<TediousConnection>();
  private plaintext = false;

  constructor(private readonly encrypt: boolean) {}

  readonly add = (conn: TediousConnection): void => {
    let secure = false;
    this.open.add(conn);
    conn.on('secure', () => {
      secure = true;
    });
    conn.on('connect', (err) => {
      if (!err && this.encrypt && !secure) this.plaintext = true;
    });
    conn.on('end', () => this.open.delete(conn));
  };

  /** tedious's close() destroys the socket at once: TDS has no goodbye to wait for. */
  readonly destroyAll = (): void => {
    for (const conn of this.open) conn.close();
  };

  assertEncrypted(): void {
    if (this.plaintext) {
      throw new SyncError('connection', '服务器未协商加密，已拒绝以明文继续 (encrypt is set but the server did not negotiate TLS)');
    }
  }
}

interface Measured {
  db: CollectedDatabase;
  allocated: bigint | null;
  online: boolean;
}

function measure(row: FileRow, login: string): Measured {
  const base = {
    database_name: row.name,
    is_system: row.database_id <= 4,
    index_bytes: null,
    free_bytes: null,
    used_bytes: null,
    method: METHOD,
  };
  const online = row.state_desc === 'ONLINE';
  const unknown = (error: string): Measured => ({
    db: { ...base, size_bytes: null, data_bytes: null, log_bytes: null, error },
    allocated: null,
    online,
  });
  if (row.files === 0) return unknown(NO_FILES(login));
  try {
    const data = exactCount(row.data_pages, `${row.name} ROWS pages`);
    const log = exactCount(row.log_pages, `${row.name} LOG pages`);
    // A limit beyond 2^53 bytes is as good as none for a forecast: unknown rather than rounded.
    const maxPages = row.max_pages === null || row.max_pages === undefined ? null : exactCount(row.max_pages, `${row.name} max pages`);
    const max = maxPages !== null && maxPages * PAGE_BYTES <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(maxPages * PAGE_BYTES) : null;
    // bytes() refuses past 2^53 (9 PB allocated): a `data` error for this database alone, never a rounded size.
    return {
      db: {
        ...base,
        max_bytes: max,
        size_bytes: bytes((data + log) * PAGE_BYTES, `${row.name} size_bytes`),
        data_bytes: bytes(data * PAGE_BYTES, `${row.name} data_bytes`),
        log_bytes: bytes(log * PAGE_BYTES, `${row.name} log_bytes`),
      },
      allocated: (data + log) * PAGE_BYTES,
      online,
    };
  } catch (err) {
    if (!(err instanceof SyncError)) throw err;
    return unknown(err.message);
  }
}

class SqlServerSession implements EngineSession {
  private version = '';
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

  /** Run at connect: its request is where mssql's second login happens, so it is bounded by the connect timeout too. */
  async identify(): Promise<void> {
    const [row] = await this.rows<{ version: string | null; edition: string | null; login_name: string | null }>(
      IDENTITY,
      this.target.connectTimeoutMs,
    );
    this.version = [row?.version, row?.edition && `(${row.edition})`].filter(Boolean).join(' ');
    this.login = row?.login_name ?? this.target.username;
  }

  serverVersion(): Promise<string> {
    return Promise.resolve(this.version);
  }

  collect(): Promise<Collection> {
    return classified(async () => {
      const rows = await this.rows<FileRow>(MASTER_FILES);
      if (rows.length > 0 && rows.every((r) => r.files === 0)) {
        throw new SyncError(
          'permission',
          `权限不足: sys.master_files 中看不到任何数据库文件 (no file visible in sys.master_files), 请执行 ${grantViewDefinition(this.login)}`,
        );
      }
      const measured = rows.map((r) => measure(r, this.login));
      const warnings: string[] = [];
      for (const r of rows) {
        if (r.state_desc !== 'ONLINE') {
          warnings.push(`${r.name}: 状态为 ${r.state_desc}，容量取自 sys.master_files，不视为删除 (database is ${r.state_desc}; allocated size kept, not deleted)`);
        }
        if (r.filestream_files > 0) {
          warnings.push(`${r.name}: ${r.filestream_files} 个 FILESTREAM 容器未计入容量 (FILESTREAM reports 0 in sys.master_files)`);
        }
      }
      if (this.target.options.used_space === true) await this.addUsedSpace(measured);
      return { databases: measured.map((m) => m.db), warnings, server_version: this.version };
    }, this.toSyncError);
  }

  /**
   * Used space, one query per ONLINE database that has an allocated size. A
   * database refusing us (no user, 916) or failing otherwise keeps its
   * allocated size and gets its own error; a dead connection ends the collection.
   */
  private async addUsedSpace(measured: Measured[]): Promise<void> {
    for (const m of measured) {
      if (!m.online || m.allocated === null) continue;
      const name = m.db.database_name;
      try {
        const [row] = await this.rows<{ data_used_pages: unknown; log_used_bytes: unknown }>(usedSpaceQuery(name));
        if (row?.data_used_pages == null || row.log_used_bytes == null) {
          m.db.error = '已用空间未知: FILEPROPERTY 或 sys.dm_db_log_space_usage 返回 NULL (used space unavailable)';
          continue;
        }
        const used = exactCount(row.data_used_pages, `${name} used pages`) * PAGE_BYTES + exactCount(row.log_used_bytes, `${name} used log bytes`);
        m.db.used_bytes = bytes(used, `${name} used_bytes`);
        // The two queries are not one snapshot: a file shrunk in between would make free space negative.
        m.db.free_bytes = used <= m.allocated ? bytes(m.allocated - used, `${name} free_bytes`) : null;
        m.db.method = METHOD_USED;
      } catch (err) {
        // A hard timeout (SyncError 'timeout') means the server stopped answering: that ends the collection.
        const ownFailure = isRequestError(err) || (err instanceof SyncError && err.code === 'data');
        if (!ownFailure) throw err;
        m.db.error = `已用空间: ${classifyError(err, this.target).message}`;
      }
    }
  }

  /**
   * Table sizes, one query inside each database (see sqlserver.tables.ts).
   * Every ONLINE user database (database_id > 4) when `scope.databases` is
   * null; a database refusing us, offline or failing is reported for itself.
   */
  collectTables(scope: TableScope): Promise<TableCollection> {
    return classified(async () => {
      const list = await this.rows<{ name: string; state_desc: string; database_id: number }>(DATABASES_QUERY);
      const byName = new Map(list.map((r) => [r.name, r]));
      const names = scope.databases ?? list.filter((r) => r.database_id > 4).map((r) => r.name);
      const out: CollectedTableDatabase[] = [];
      let allowance = scope.maxTables;
      for (const name of names) {
        const row = byName.get(name);
        if (!row) {
          out.push({ database_name: name, tables: [], error: '数据库不存在 (database not found)' });
          continue;
        }
        if (row.state_desc !== 'ONLINE') {
          out.push({ database_name: name, tables: [], error: `数据库状态为 ${row.state_desc}，无法读取表 (database is ${row.state_desc})` });
          continue;
        }
        if (Date.now() >= scope.deadline) {
          out.push(outOfTime(name));
          continue;
        }
        try {
          const rows = await this.rows<PartitionRow>(tablesQuery(name));
          const { kept, other } = cutToBudget(rows.map(toTable), allowance);
          allowance -= kept.length;
          out.push({ database_name: name, tables: kept, ...(other ? { other } : {}) });
        } catch (err) {
          const ownFailure = isRequestError(err) || (err instanceof SyncError && err.code === 'data');
          if (!ownFailure) throw err;
          out.push({ database_name: name, tables: [], error: classifyError(err, this.target).message });
        }
      }
      return { method: TABLES_METHOD, databases: out, present_databases: scope.databases ? null : list.map((r) => r.name), warnings: [] };
    }, this.toSyncError);
  }

  doctor(): Promise<PrivilegeCheck[]> {
    return classified(async () => {
      const [p] = await this.rows<{
        view_any_database: number | null;
        view_any_definition: number | null;
        view_server_state: number | null;
        databases: number;
        databases_with_files: number;
      }>(DOCTOR);
      if (!p) throw new SyncError('data', '权限检查查询没有返回结果 (privilege query returned no row)');
      const login = quoteName(this.login);
      const hidden = p.databases - p.databases_with_files;
      const checks: PrivilegeCheck[] = [
        {
          name: 'VIEW ANY DATABASE',
          ok: p.view_any_database === 1,
          detail: `sys.databases 可见 ${p.databases} 个数据库 (databases listed)`,
          ...(p.view_any_database === 1
            ? {}
            : {
                undercounts: '只列出 master、tempdb 和本登录拥有的数据库；其余数据库会被当作已删除 (unlisted databases would be marked deleted)',
                fix: [`GRANT VIEW ANY DATABASE TO ${login};`],
              }),
        },
        {
          // CREATE/ALTER ANY DATABASE also reveal sys.master_files: what counts is that every database's files are visible.
          name: 'VIEW ANY DEFINITION',
          ok: p.view_any_definition === 1 || hidden <= 0,
          detail: `sys.master_files 中可见 ${p.databases_with_files}/${p.databases} 个数据库的文件 (databases with visible files)`,
          ...(p.view_any_definition === 1 || hidden <= 0
            ? {}
            : {
                undercounts: `${hidden} 个数据库的容量未知 (size unknown for ${hidden} database(s))`,
                fix: [grantViewDefinition(this.login)],
              }),
        },
      ];
      if (this.target.options.used_space === true) {
        const denied = (await this.rows<{ name: string }>(NO_ACCESS)).map((r) => r.name);
        checks.push(
          {
            name: 'VIEW SERVER STATE',
            ok: p.view_server_state === 1,
            detail: '已用空间模式读取 sys.dm_db_log_space_usage (used-space mode reads the log DMV)',
            ...(p.view_server_state === 1
              ? {}
              : { undercounts: '所有数据库的已用空间未知 (used space unknown everywhere)', fix: [`GRANT VIEW SERVER STATE TO ${login};`] }),
          },
          {
            name: 'CONNECT (each database)',
            ok: denied.length === 0,
            detail: denied.length === 0 ? '可访问所有 ONLINE 数据库 (all online databases accessible)' : `无法访问: ${denied.join(', ')}`,
            ...(denied.length === 0
              ? {}
              : { undercounts: `${denied.length} 个数据库的已用空间未知 (used space unknown)`, fix: [`GRANT CONNECT ANY DATABASE TO ${login};`] }),
          },
        );
      }
      return checks;
    }, this.toSyncError);
  }

  close(): Promise<void> {
    return closeWithin(this.target.connectTimeoutMs, () => this.pool.close(), this.connections.destroyAll);
  }
}

function poolConfig(target: ConnectTarget, connections: Connections, encrypt: boolean): Mssql.config {
  const instanceName = optionString(target.options.instance_name);
  const domain = optionString(target.options.domain);
  return {
    server: target.host,
    // A named instance is found through SQL Server Browser (UDP 1434); mssql then drops the port.
    port: target.port,
    user: target.username,
    password: target.password,
    // master, not the login's default database: an offline default database would fail the login (4060).
    database: target.database || 'master',
    // Set → mssql switches tedious to its `ntlm` authentication (Windows login, DOMAIN\user).
    ...(domain ? { domain } : {}),
    connectionTimeout: target.connectTimeoutMs,
    requestTimeout: target.queryTimeoutMs,
    pool: { max: 1, min: 0 },
    // Check the socket, not a `SELECT 1;` round trip, each time the one connection is borrowed.
    validateConnection: 'socket',
    beforeConnect: connections.add,
    options: {
      encrypt,
      trustServerCertificate: target.options.trust_server_certificate === true,
      ...(instanceName ? { instanceName } : {}),
      appName: 'whalefall',
      cancelTimeout: CANCEL_TIMEOUT_MS,
    },
  };
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
