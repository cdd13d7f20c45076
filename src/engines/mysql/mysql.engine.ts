/**
 * MySQL / MariaDB. Three methods (instance option `method`):
 * - auto (the default for new instances): InnoDB tablespace file sizes
 *   (MySQL 8 INNODB_TABLESPACES, MariaDB INNODB_SYS_TABLESPACES; both need
 *   PROCESS) — what the disk holds — plus the logical size (DATA_LENGTH +
 *   INDEX_LENGTH) of every table without a file of its own: non-InnoDB
 *   engines (MyISAM, Aria…) and InnoDB tables in the system or a general
 *   tablespace. Data, index and free bytes per schema come from the same
 *   information_schema.TABLES rows. Without PROCESS it falls back to logical,
 *   says so in the warnings and notes every database.
 * - logical (what instances registered before auto keep, migrations
 *   0012/0018): schemas from information_schema.SCHEMATA, sizes summed per
 *   schema from information_schema.TABLES (data / index / free): table
 *   statistics, not files. Only tables the login user can see are counted.
 *   Two queries merged here: the seed's SCHEMATA LEFT JOIN TABLES took twice
 *   as long on 2,000 schemas.
 * - physical: the tablespace file sizes alone, schema = the part of NAME
 *   before '/', `@xxxx`-decoded. Fast (no table is opened) but blind to
 *   non-InnoDB tables and to tables in shared/general tablespaces.
 */
import type { Connection as PromiseConnection, RowDataPacket } from 'mysql2/promise';
import { SyncError } from '../../lib/errors.js';
import { withTimeout } from '../../lib/timeout.js';
import type { CollectedDatabase, Collection } from '../../domain/collection.js';
import type { CollectedTableDatabase, TableCollection, TableScope } from '../../domain/tables.js';
import type { Composition } from '../../domain/composition.js';
import type { Closing, ConnectTarget, Engine, EngineSession, PrivilegeCheck } from '../engine.js';
import type { DbType } from '../../domain/db-type.js';
import { bytes, causeMsg, check, classified, classify, closeTelling, driverStream, errorCode, notCollected, outOfTime } from '../common.js';
import { msg } from '../../client/shared/i18n/index.js';
import { CLEARTEXT_OPTION, CLEARTEXT_OPTION_SPEC, tlsCheck } from '../tls.js';
import { fromSums, TABLES_METHOD, TABLES_QUERY, type TableSumRow } from './mysql.tables.js';
import { COMPOSITION_METHOD, mysqlParts } from './mysql.composition.js';
import { CLIENT_TIMEOUT_SLACK_MS, guardedAuthPlugins, mysql, MYSQL_SSL_MODES, mysqlVerdict, rows, sslConfig, sslOption } from './mysql.connect.js';
import { AUTO, DEFAULT_METHOD, decodeFilename, FALLBACK_NOTE, METHOD, METHOD_NOTES, mysqlMethod, PHYSICAL, splitTablespace } from './mysql.methods.js';

export { decodeFilename, splitTablespace } from './mysql.methods.js';
export { MYSQL_SSL_MODES } from './mysql.connect.js';

const SYSTEM_SCHEMAS = new Set(['information_schema', 'performance_schema', 'mysql', 'sys']);

interface SchemaSums extends RowDataPacket {
  name: string;
  data: unknown;
  idx: unknown;
  free: unknown;
  unmeasured: unknown;
}

// Views take no space; a table with a NULL data_length is one the server
// could not open (MariaDB puts the reason in TABLE_COMMENT).
const SUMS = `
  SELECT TABLE_SCHEMA AS name, SUM(DATA_LENGTH) AS data, SUM(INDEX_LENGTH) AS idx, SUM(DATA_FREE) AS free,
         SUM(TABLE_TYPE NOT LIKE '%VIEW' AND DATA_LENGTH IS NULL) AS unmeasured
  FROM information_schema.TABLES
  GROUP BY TABLE_SCHEMA`;

interface Tablespace extends RowDataPacket {
  NAME: string;
  FILE_SIZE: unknown;
}

interface TableRow extends RowDataPacket {
  s: string;
  t: string;
  engine: string | null;
  d: unknown;
  i: unknown;
  f: unknown;
}

/** Every base table with its engine and statistics, for auto (one scan; each table's statistics are read once). */
const TABLE_ROWS = `
  SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ENGINE AS engine, DATA_LENGTH AS d, INDEX_LENGTH AS i, DATA_FREE AS f
  FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'`;

function empty(name: string, method: string): CollectedDatabase {
  const stats = method === AUTO ? 0 : null;
  return {
    database_name: name,
    is_system: SYSTEM_SCHEMAS.has(name),
    size_bytes: 0,
    data_bytes: stats,
    index_bytes: stats,
    log_bytes: null,
    free_bytes: stats,
    used_bytes: null,
    allocated_bytes: 0,
    method,
  };
}

class MysqlSession implements EngineSession {
  constructor(
    private readonly conn: PromiseConnection,
    private readonly version: string,
    private readonly target: ConnectTarget,
    private readonly toSyncError: (err: unknown) => SyncError,
  ) {}

  serverVersion(): Promise<string> {
    return Promise.resolve(this.version);
  }

  private get isMariadb(): boolean {
    return /mariadb/i.test(this.version);
  }

  private schemas(): Promise<(RowDataPacket & { name: string })[]> {
    return rows(this.conn, 'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME', this.target);
  }

  collect(): Promise<Collection> {
    return classified(async () => {
      const method = mysqlMethod(this.target);
      if (method === 'logical') return this.logical();
      try {
        return await (method === 'physical' ? this.physical(false) : this.physical(true));
      } catch (err) {
        const e = this.toSyncError(err);
        if (method === 'auto' && e.code === 'permission') {
          const c = await this.logical();
          for (const d of c.databases) d.note = FALLBACK_NOTE;
          c.warnings.push(msg('api.sync.warn.mysql_fallback', { cause: e.msg ?? e.message }));
          return c;
        }
        throw e;
      }
    }, this.toSyncError);
  }

  /** information_schema.TABLES sums per schema. */
  private async logical(): Promise<Collection> {
    const schemas = await this.schemas();
    const sums = new Map((await rows<SchemaSums>(this.conn, SUMS, this.target)).map((r) => [r.name, r]));
    const warnings: Collection['warnings'] = [];
    // A schema created between the two queries has no sums yet: it is new and
    // empty as far as this collection knows; one only in TABLES is ignored.
    const databases = schemas.map(({ name }): CollectedDatabase => {
      const s = sums.get(name);
      const data = (s && bytes(s.data, `${name} data_length`)) ?? 0;
      const index = (s && bytes(s.idx, `${name} index_length`)) ?? 0;
      const free = (s && bytes(s.free, `${name} data_free`)) ?? 0;
      const unmeasured = (s && bytes(s.unmeasured, `${name} unmeasured`)) ?? 0;
      if (unmeasured > 0) {
        warnings.push(msg('api.sync.warn.mysql_tables_unmeasured', { name, count: unmeasured }));
      }
      return {
        database_name: name,
        is_system: SYSTEM_SCHEMAS.has(name),
        size_bytes: data + index,
        data_bytes: data,
        index_bytes: index,
        log_bytes: null,
        free_bytes: free,
        used_bytes: null,
        method: METHOD,
      };
    });
    return { databases, warnings, server_version: this.version };
  }

  /**
   * Tablespace file sizes per schema; with `fillGaps`, plus the logical size
   * of every base table that has no tablespace of its own (non-InnoDB
   * engines, shared/general tablespaces), looked up by name.
   */
  private async physical(fillGaps: boolean): Promise<Collection> {
    const view = this.isMariadb ? 'information_schema.INNODB_SYS_TABLESPACES' : 'information_schema.INNODB_TABLESPACES';
    const spaces = await rows<Tablespace>(this.conn, `SELECT NAME, FILE_SIZE FROM ${view}`, this.target);
    const schemas = await this.schemas();
    const method = fillGaps ? AUTO : PHYSICAL;
    const byName = new Map(schemas.map(({ name }) => [name, empty(name, method)]));
    const warnings: Collection['warnings'] = [];
    const covered = new Set<string>();
    let undecodable = 0;
    // Tens of thousands of rows, a few thousand schemas: each raw schema prefix is decoded and looked up once.
    const bySchemaPrefix = new Map<string, { db: CollectedDatabase | undefined; decodable: boolean }>();
    for (const sp of spaces) {
      const slash = sp.NAME.indexOf('/');
      if (slash < 0) continue; // innodb_system, undo, temporary, general tablespaces
      const prefix = sp.NAME.slice(0, slash);
      let schema = bySchemaPrefix.get(prefix);
      if (!schema) {
        const decoded = decodeFilename(prefix);
        schema = { db: byName.get(decoded.name), decodable: decoded.decodable };
        bySchemaPrefix.set(prefix, schema);
      }
      const parts = fillGaps || sp.NAME.includes('@', slash) ? splitTablespace(sp.NAME)! : undefined;
      if (!schema.decodable || (parts && !parts.decodable)) undecodable++;
      const db = schema.db;
      if (!db) continue; // a schema dropped between the two queries, or one the user cannot see
      const file = bytes(sp.FILE_SIZE, `${sp.NAME} FILE_SIZE`) ?? 0;
      db.size_bytes = (db.size_bytes ?? 0) + file;
      db.allocated_bytes = (db.allocated_bytes ?? 0) + file;
      if (fillGaps) covered.add(`${parts!.schema}\u0000${parts!.table}`);
    }
    if (undecodable) warnings.push(msg('api.sync.warn.mysql_undecodable', { count: undecodable }));
    if (fillGaps) {
      // One scan of the base tables: data / index / free for every table, and
      // the logical size of those without a file of their own added to the files.
      const unmeasured = new Map<string, number>();
      for (const t of await rows<TableRow>(this.conn, TABLE_ROWS, this.target)) {
        const db = byName.get(t.s);
        if (!db) continue; // a schema created after SCHEMATA was read
        const data = bytes(t.d, `${t.s}.${t.t} data_length`);
        if (data === null) {
          unmeasured.set(t.s, (unmeasured.get(t.s) ?? 0) + 1); // could not be opened (MariaDB says why in TABLE_COMMENT)
          continue;
        }
        const index = bytes(t.i, `${t.s}.${t.t} index_length`) ?? 0;
        const innodb = t.engine === 'InnoDB';
        const ownFile = innodb && covered.has(`${t.s}\u0000${t.t}`);
        db.data_bytes! += data;
        db.index_bytes! += index;
        if (!ownFile) db.size_bytes! += data + index;
        // A table in the system or a general tablespace reports that shared space's free bytes: not this schema's.
        if (ownFile || !innodb) db.free_bytes! += bytes(t.f, `${t.s}.${t.t} data_free`) ?? 0;
      }
      for (const [name, n] of unmeasured) warnings.push(msg('api.sync.warn.mysql_tables_unmeasured', { name, count: n }));
    } else {
      warnings.push(msg('api.sync.warn.mysql_physical_scope'));
    }
    return { databases: [...byName.values()], warnings, server_version: this.version };
  }

  /** The connection's encryption, then the grants the configured method relies on. */
  async doctor(): Promise<PrivilegeCheck[]> {
    const stream = driverStream(this.conn);
    return [tlsCheck(stream, sslOption(this.target)), ...(await this.privileges())];
  }

  private privileges(): Promise<PrivilegeCheck[]> {
    return classified(async () => {
      const [who] = await rows<RowDataPacket & { u: string }>(this.conn, 'SELECT CURRENT_USER() AS u', this.target);
      const current = String(who?.u ?? '');
      const at = current.lastIndexOf('@');
      const grantee = `'${current.slice(0, at)}'@'${current.slice(at + 1)}'`;
      const privs = new Set(
        (
          await rows<RowDataPacket & { p: string }>(
            this.conn,
            `SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ${this.conn.escape(grantee)}`,
            this.target,
          )
        ).map((r) => r.p),
      );
      const checks: PrivilegeCheck[] = [];
      const seesAll = privs.has('SELECT');
      checks.push(
        check(
          'SELECT ON *.*',
          seesAll,
          msg(seesAll ? 'doctor.mysql.select_all' : 'doctor.mysql.select_missing', { grantee }),
          seesAll
            ? {}
            : {
                undercounts: msg('doctor.mysql.select_undercounts'),
                fix: [`GRANT SELECT, SHOW VIEW ON *.* TO ${grantee};`],
              },
        ),
      );
      const method = mysqlMethod(this.target);
      if (method !== 'logical') {
        const ok = privs.has('PROCESS');
        const view = this.isMariadb ? 'INNODB_SYS_TABLESPACES' : 'INNODB_TABLESPACES';
        checks.push(
          check(
            'PROCESS',
            ok,
            ok ? msg('doctor.mysql.process_ok', { view }) : msg('doctor.mysql.process_missing', { method: String(method), view }),
            ok
              ? {}
              : {
                  undercounts: msg(method === 'auto' ? 'doctor.mysql.process_auto' : 'doctor.mysql.process_physical'),
                  fix: [`GRANT PROCESS ON *.* TO ${grantee};`],
                },
          ),
        );
      }
      return checks;
    }, this.toSyncError);
  }

  /**
   * Table sizes schema by schema (see mysql.tables.ts). Every schema but the
   * system ones when `scope.databases` is null; a named schema that does not
   * exist is reported for itself.
   */
  collectTables(scope: TableScope): Promise<TableCollection> {
    return classified(async () => {
      const all = (await this.schemas()).map((r) => r.name);
      const present = new Set(all);
      const names = scope.databases ?? all.filter((n) => !SYSTEM_SCHEMAS.has(n));
      const out: CollectedTableDatabase[] = [];
      const warnings: TableCollection['warnings'] = [];
      let allowance = scope.maxTables;
      for (const name of names) {
        if (!present.has(name)) {
          out.push(notCollected(name, msg('api.tables.db_not_found')));
          continue;
        }
        if (Date.now() >= scope.deadline) {
          out.push(outOfTime(name));
          continue;
        }
        let res: (TableSumRow & RowDataPacket)[];
        try {
          [res] = await this.conn.query<(TableSumRow & RowDataPacket)[]>({
            sql: TABLES_QUERY,
            values: [allowance, allowance, name, allowance],
            timeout: this.target.queryTimeoutMs + CLIENT_TIMEOUT_SLACK_MS,
          });
        } catch (err) {
          // An error the server sent (statement timeout, privilege) leaves the connection usable: it is this schema's alone.
          if (typeof (err as { errno?: unknown }).errno !== 'number' || errorCode(err) === 'PROTOCOL_CONNECTION_LOST') throw err;
          out.push(notCollected(name, this.toSyncError(err)));
          continue;
        }
        const { tables, other, unmeasured } = fromSums(name, res);
        allowance -= tables.length;
        if (unmeasured > 0) warnings.push(msg('api.tables.warn.tables_unmeasured', { name, count: unmeasured }));
        out.push({ database_name: name, tables, ...(other ? { other } : {}) });
      }
      return { method: TABLES_METHOD, databases: out, present_databases: scope.databases ? null : all, warnings };
    }, this.toSyncError);
  }

  /** Where the bytes went (mysql.composition.ts); each statement bounded by the query timeout. */
  composition(): Promise<Composition> {
    return classified(async () => {
      const q = <T>(sql: string) => rows<T & RowDataPacket>(this.conn, sql, this.target) as Promise<T[]>;
      const parts = await mysqlParts(q, this.isMariadb, (err) => causeMsg(this.toSyncError(err)));
      return { parts, ceiling_bytes: null, ceiling_source: null, disk_used_bytes: null, method: COMPOSITION_METHOD };
    }, this.toSyncError);
  }

  close(): Closing {
    return closeTelling(
      this.target.connectTimeoutMs,
      () => this.conn.end(),
      () => this.conn.destroy(),
      driverStream(this.conn),
    );
  }
}

function makeEngine(dbType: Extract<DbType, 'mysql' | 'mariadb'>, label: string): Engine {
  const classifyError = (err: unknown, target: ConnectTarget): SyncError => classify(err, target, mysqlVerdict);

  return {
    dbType,
    label,
    defaultPort: 3306,
    needsDatabaseName: false,
    options: {
      ssl: {
        kind: 'enum',
        values: MYSQL_SSL_MODES,
        description:
          'TLS: off (default) | required (encrypted, certificate not checked) | verify-ca (chains to the CA) | verify-identity (and the host name matches)',
      },
      [CLEARTEXT_OPTION]: CLEARTEXT_OPTION_SPEC,
      method: {
        kind: 'enum',
        values: ['auto', 'physical', 'logical'],
        default: DEFAULT_METHOD,
        choices: {
          auto: 'InnoDB tablespace files (what the disk holds) + table statistics for MyISAM/Aria and shared tablespaces; needs PROCESS, else falls back to logical with a warning',
          physical: 'InnoDB tablespace files only (fastest); needs PROCESS; non-InnoDB tables are not counted',
          logical: 'table statistics (information_schema.TABLES DATA_LENGTH + INDEX_LENGTH): what rows use, not what files hold',
        },
        description: 'size method: auto (default) | physical | logical — see docs/engines.md',
      },
      information_schema_stats_expiry: {
        kind: 'integer',
        min: 0,
        max: 31_536_000,
        description: 'MySQL 8: seconds TABLES statistics may be cached (0 = always fresh); ignored on MariaDB',
      },
    },
    methodNotes: METHOD_NOTES,
    classifyError,

    async connect(target) {
      const toSyncError = (err: unknown) => classifyError(err, target);
      // The core (callback) connection exists before the handshake ends, so the
      // hard bound can destroy its socket; mysql2/promise hands it out only after.
      const core = mysql.createConnection({
        host: target.host,
        port: target.port,
        user: target.username,
        password: target.password,
        ssl: sslConfig(target),
        authPlugins: guardedAuthPlugins(target),
        database: target.database ?? undefined,
        connectTimeout: target.connectTimeoutMs,
        charset: 'utf8mb4',
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
      // A fatal error with no command pending is emitted as 'error'; unheard, it
      // would crash the process. The next query fails and is classified instead.
      core.on('error', () => {});
      const conn = core.promise();
      try {
        const handshake = new Promise<void>((resolve, reject) => {
          core.once('connect', () => resolve());
          core.once('error', reject);
        });
        await withTimeout(handshake, target.connectTimeoutMs, `${label} 连接`, () => core.destroy());
        const [row] = await rows(conn, 'SELECT VERSION() AS v', target);
        const version = String(row?.v ?? '');
        // Bound each statement on the server too, so a client-side timeout does
        // not leave an information_schema scan opening every table.
        const limit = /mariadb/i.test(version)
          ? `SET SESSION max_statement_time = ${target.queryTimeoutMs / 1000}`
          : `SET SESSION max_execution_time = ${Math.round(target.queryTimeoutMs)}`;
        await conn.query({ sql: limit, timeout: target.queryTimeoutMs + CLIENT_TIMEOUT_SLACK_MS });
        const expiry = target.options.information_schema_stats_expiry;
        if (typeof expiry === 'number' && !/mariadb/i.test(version)) {
          // MySQL 8 caches TABLES statistics (default 24 h); 0 reads them fresh, at a cost.
          await conn.query({
            sql: `SET SESSION information_schema_stats_expiry = ${Math.trunc(expiry)}`,
            timeout: target.queryTimeoutMs + CLIENT_TIMEOUT_SLACK_MS,
          });
        }
        return new MysqlSession(conn, version, target, toSyncError);
      } catch (err) {
        core.destroy();
        throw toSyncError(err);
      }
    },
  };
}

export const mysqlEngine = makeEngine('mysql', 'MySQL');
export const mariadbEngine = makeEngine('mariadb', 'MariaDB');
