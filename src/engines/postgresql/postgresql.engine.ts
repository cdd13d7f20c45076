/**
 * PostgreSQL: every database but the templates, sized with pg_database_size()
 * (the original excluded only templates). A database with ALLOW_CONNECTIONS
 * false is still measured (pg_database_size reads its directory, it does not
 * connect) and carries a note; it is never reported as deleted. Measuring needs CONNECT on the database or membership
 * of pg_read_all_stats; a database we may not measure, or one left invalid by
 * an interrupted DROP DATABASE, is reported with an error for itself alone.
 */
import net from 'node:net';
import tls from 'node:tls';
import type * as Pg from 'pg';
import { errorMessage, SyncError } from '../../lib/errors.js';
import { lazyModule, loaded } from '../../lib/lazy-module.js';
import { withTimeout } from '../../lib/timeout.js';
import type { CollectedDatabase, Collection } from '../../domain/collection.js';
import type { CollectedTableDatabase, TableCollection, TableScope } from '../../domain/tables.js';
import type { Composition } from '../../domain/composition.js';
import type { Closing, ConnectTarget, Engine, EngineSession, PrivilegeCheck } from '../engine.js';
import {
  bytes,
  causeMsg,
  check,
  classified,
  classify,
  closeTelling,
  closeWithin,
  cutToBudget,
  driverStream,
  errorCode,
  notCollected,
  outOfTime,
  type Verdict,
} from '../common.js';
import { msg, msgText } from '../../client/shared/i18n/index.js';
import { cleartextAllowed, cleartextRefused, CLEARTEXT_OPTION, CLEARTEXT_OPTION_SPEC, tlsCheck } from '../tls.js';
import { TABLES_METHOD, TABLES_QUERY, toTable, type TableRow } from './postgresql.tables.js';
import { COMPOSITION_METHOD, databaseRelations, instanceParts, type DatabaseRelations } from './postgresql.composition.js';

const METHOD = 'pg_database_size';

/**
 * The client-side query_timeout fires this long after the server-side
 * statement_timeout: the server's cancel (57014) leaves the connection usable,
 * whereas pg's client-side timeout leaves the query running on the wire. The
 * client timer is only the backstop for a server that stopped answering.
 */
const CLIENT_TIMEOUT_SLACK_MS = 2000;

const SQLSTATE: Record<string, Verdict> = {
  '28P01': ['auth', 'cause.pg.bad_password'],
  '28000': ['auth', 'cause.pg.auth_other'],
  '42501': ['permission', 'cause.permission'],
  '57014': ['timeout', 'cause.query_timeout'],
  '3D000': ['connection', 'cause.pg.no_database'],
  '53300': ['connection', 'cause.too_many_connections'],
  '57P01': ['connection', 'cause.server_shutting_down'],
  '57P03': ['connection', 'cause.server_not_accepting'],
};

/**
 * SQLSTATE 28000 (invalid_authorization_specification) is both "role … does
 * not exist" and "no pg_hba.conf entry for host …": the server's message
 * (English unless lc_messages says otherwise) is the only thing telling them apart.
 */
function invalidAuthorization(message: string): Verdict {
  if (/no pg_hba\.conf entry|pg_hba\.conf rejects/i.test(message)) return ['auth', 'cause.pg.hba_rejected'];
  if (/^role ".*" does not exist/i.test(message)) return ['auth', 'cause.pg.role_missing'];
  return SQLSTATE['28000']!;
}

function pgVerdict(err: unknown): Verdict | null {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : '';
  if (code === '28000') return invalidAuthorization(message);
  if (code && SQLSTATE[code]) return SQLSTATE[code];
  if (code?.startsWith('08')) return ['connection', 'cause.connection_broken'];
  // pg's own timers and socket-end reports carry no code, only these messages.
  if (message === 'timeout expired' || message === 'Query read timeout') return ['timeout', 'cause.connect_timeout'];
  if (message.startsWith('Connection terminated')) return ['connection', 'cause.connection_lost'];
  return null;
}

const classifyError = (err: unknown, target: ConnectTarget): SyncError => classify(err, target, pgVerdict);

/** The driver, loaded when a PostgreSQL instance is first connected to (not at start). */
const pg = lazyModule<typeof Pg>('pg');

/** An error the server sent (SQLSTATE) leaves the session usable; a dead socket or client timeout does not. */
const isServerError = (err: unknown): boolean => loaded('pg') && err instanceof pg.DatabaseError;

/** Every database but the templates (not the DBA's data), whether or not it accepts connections. */
const LIST = `
  SELECT oid, datname, datconnlimit = -2 AS invalid, datallowconn AS connectable,
         has_database_privilege(oid, 'CONNECT') OR pg_has_role('pg_read_all_stats', 'MEMBER') AS allowed
  FROM pg_database
  WHERE NOT datistemplate`;

/** CASE keeps pg_database_size() away from databases it would fail on, so one query serves all. */
const LIST_WITH_SIZES = `
  SELECT oid, datname, invalid, connectable, allowed,
         CASE WHEN allowed AND NOT invalid THEN pg_database_size(oid) END AS size,
         current_setting('server_version') AS server_version
  FROM (${LIST}) d
  ORDER BY datname`;

interface DbRow {
  oid: number;
  datname: string;
  invalid: boolean;
  connectable: boolean;
  allowed: boolean;
  size?: unknown;
  server_version?: string;
}

const NO_PRIVILEGE = msgText(msg('db.remark.pg_no_privilege'));
const INVALID = msgText(msg('db.remark.pg_invalid'));
/** pg_database_size(oid) returns NULL when the database's directory is gone. */
const VANISHED = msgText(msg('db.remark.pg_vanished'));
/** ALLOW_CONNECTIONS false: measured all the same, but nobody (us included) can open it for its tables. */
export const NOT_CONNECTABLE = msgText(msg('db.remark.pg_not_connectable'));

/**
 * `postgres` is the maintenance database every cluster is created with (templates are not listed at all):
 * tagged 系统库 like MySQL's mysql/sys and SQL Server's master, so it stays out of top-N by default.
 */
export const SYSTEM_DATABASES: ReadonlySet<string> = new Set(['postgres']);

function database(name: string, size: number | null, error?: string): CollectedDatabase {
  return {
    database_name: name,
    is_system: SYSTEM_DATABASES.has(name),
    size_bytes: size,
    data_bytes: null,
    index_bytes: null,
    log_bytes: null,
    free_bytes: null,
    used_bytes: null,
    method: METHOD,
    ...(error === undefined ? {} : { error }),
  };
}

/** Why a listed database is not measured, or null when it may be. */
const refusal = (row: DbRow): string | null => (row.invalid ? INVALID : row.allowed ? null : NO_PRIVILEGE);

function fromSize(row: DbRow, rawSize: unknown): CollectedDatabase {
  const size = bytes(rawSize, `pg_database_size(${row.datname})`);
  const d = size === null ? database(row.datname, null, VANISHED) : database(row.datname, size);
  return row.connectable ? d : { ...d, note: NOT_CONNECTABLE };
}

class PostgresqlSession implements EngineSession {
  constructor(
    private readonly client: Pg.Client,
    private readonly socket: net.Socket,
    private readonly target: ConnectTarget,
  ) {}

  serverVersion(): Promise<string> {
    return classified(
      async () => {
        const res = await this.client.query<{ server_version: string }>('SHOW server_version');
        return res.rows[0]?.server_version ?? '';
      },
      (err) => classifyError(err, this.target),
    );
  }

  collect(): Promise<Collection> {
    return classified(
      async () => {
        const warnings: Collection['warnings'] = [];
        let databases: CollectedDatabase[];
        let server_version: string;
        try {
          // One round trip for the version and every size: on a far-away server each round trip counts.
          const res = await this.client.query<DbRow>(LIST_WITH_SIZES);
          server_version = res.rows[0]?.server_version ?? (await this.serverVersion());
          databases = res.rows.map((row) => {
            const why = refusal(row);
            return why ? database(row.datname, null, why) : fromSize(row, row.size);
          });
        } catch (err) {
          if (!isServerError(err)) throw err;
          const cause = classifyError(err, this.target);
          warnings.push(msg('api.sync.warn.pg_bulk_failed', { cause: cause.msg ?? cause.message }));
          server_version = await this.serverVersion();
          databases = await this.oneByOne();
        }
        const closed = databases.filter((d) => d.note === NOT_CONNECTABLE);
        if (closed.length)
          warnings.push(
            msg('api.sync.warn.pg_not_connectable', {
              count: closed.length,
              names: closed
                .slice(0, 5)
                .map((d) => d.database_name)
                .join(', '),
            }),
          );
        // The sync service reports databases that could not be measured, for every engine alike.
        return { databases, warnings, server_version };
      },
      (err) => classifyError(err, this.target),
    );
  }

  /** Fallback: one query per database, each failure kept on its own database. */
  private async oneByOne(): Promise<CollectedDatabase[]> {
    const list = await this.client.query<DbRow>(`${LIST} ORDER BY datname`);
    const out: CollectedDatabase[] = [];
    for (const row of list.rows) {
      const why = refusal(row);
      if (why) {
        out.push(database(row.datname, null, why));
        continue;
      }
      try {
        const res = await this.client.query<{ size: unknown }>('SELECT pg_database_size($1::oid) AS size', [row.oid]);
        out.push(fromSize(row, res.rows[0]?.size));
      } catch (err) {
        if (!isServerError(err)) throw err;
        out.push(database(row.datname, null, classifyError(err, this.target).message));
      }
    }
    return out;
  }

  /**
   * Superuser or pg_read_all_stats measures every database; otherwise each
   * database without CONNECT is reported with the GRANT that fixes it.
   */
  async doctor(): Promise<PrivilegeCheck[]> {
    const stream = driverStream(this.client);
    return [tlsCheck(stream, sslMode(this.target)), ...(await this.privileges())];
  }

  private privileges(): Promise<PrivilegeCheck[]> {
    return classified(
      async () => {
        const who = await this.client.query<{ u: string; su: boolean; stats: boolean }>(
          "SELECT current_user AS u, rolsuper AS su, pg_has_role('pg_read_all_stats', 'MEMBER') AS stats FROM pg_roles WHERE rolname = current_user",
        );
        const me = who.rows[0];
        const role = this.client.escapeIdentifier(me?.u ?? this.target.username);
        const user = me?.u ?? this.target.username;
        if (me?.su || me?.stats) return [check('pg_read_all_stats', true, msg(me.su ? 'doctor.pg.superuser' : 'doctor.pg.stats_member', { user }))];
        const res = await this.client.query<DbRow>(`${LIST} ORDER BY datname`);
        const locked = res.rows.filter((r) => !r.allowed);
        if (locked.length === 0) return [check('CONNECT', true, msg('doctor.pg.connect_all', { role }))];
        return [
          check('pg_read_all_stats', false, msg('doctor.pg.locked', { user, count: locked.length }), {
            undercounts: msg('doctor.pg.locked_undercounts', { count: locked.length }),
            fix: [`GRANT pg_read_all_stats TO ${role};`],
          }),
          ...locked.map((r) =>
            check(`CONNECT ON DATABASE ${r.datname}`, false, msg('doctor.pg.no_connect', { database: r.datname }), {
              undercounts: msg('doctor.pg.no_connect_undercounts', { database: r.datname }),
              fix: [`GRANT CONNECT ON DATABASE ${this.client.escapeIdentifier(r.datname)} TO ${role};`],
            }),
          ),
        ];
      },
      (err) => classifyError(err, this.target),
    );
  }

  /**
   * Table sizes, one database at a time over a connection of its own (see
   * postgresql.tables.ts). A database that cannot be opened is reported for
   * itself alone; the rest go on.
   */
  collectTables(scope: TableScope): Promise<TableCollection> {
    return classified(
      async () => {
        const list = (await this.client.query<DbRow>(`${LIST} ORDER BY datname`)).rows;
        const byName = new Map(list.map((r) => [r.datname, r]));
        const names = scope.databases ?? list.map((r) => r.datname);
        const out: CollectedTableDatabase[] = [];
        let allowance = scope.maxTables;
        for (const name of names) {
          const row = byName.get(name);
          if (!row) {
            out.push(notCollected(name, msg('api.tables.db_not_found')));
            continue;
          }
          const why = refusal(row) ?? (row.connectable ? null : NOT_CONNECTABLE);
          if (why) {
            out.push({ database_name: name, tables: [], error: why });
            continue;
          }
          if (Date.now() >= scope.deadline) {
            out.push(outOfTime(name));
            continue;
          }
          let conn: { client: Pg.Client; socket: net.Socket } | undefined;
          try {
            conn = await openClient(this.target, name);
            const res = await conn.client.query<TableRow>(TABLES_QUERY);
            const { kept, other } = cutToBudget(res.rows.map(toTable), allowance);
            allowance -= kept.length;
            out.push({ database_name: name, tables: kept, ...(other ? { other } : {}) });
          } catch (err) {
            // One database's failure (dropped meanwhile, no privilege, timeout) stays its own.
            out.push(notCollected(name, classifyError(err, this.target)));
          } finally {
            if (conn) {
              const c = conn;
              // Closed before the next database's opens: the connection caps count two connections for this session.
              await closeWithin(
                this.target.connectTimeoutMs,
                () => c.client.end(),
                () => c.socket.destroy(),
              );
            }
          }
        }
        return { method: TABLES_METHOD, databases: out, present_databases: scope.databases ? null : list.map((r) => r.datname), warnings: [] };
      },
      (err) => classifyError(err, this.target),
    );
  }

  /** Where the bytes went (postgresql.composition.ts): each database over its own connection, each part bounded by the query timeout. */
  composition(): Promise<Composition> {
    return classified(
      async () => {
        const reason = (err: unknown) => causeMsg(classifyError(err, this.target));
        const list = (await this.client.query<DbRow>(`${LIST} ORDER BY datname`)).rows;
        const dbs: DatabaseRelations[] = [];
        for (const row of list) {
          const why = refusal(row);
          if (why) {
            dbs.push({ database: row.datname, error: why, error_msg: msg(row.invalid ? 'db.remark.pg_invalid' : 'db.remark.pg_no_privilege') });
            continue;
          }
          let conn: { client: Pg.Client; socket: net.Socket } | undefined;
          try {
            conn = await openClient(this.target, row.datname);
            dbs.push(await databaseRelations(row.datname, conn.client, reason));
          } catch (err) {
            const m = reason(err);
            dbs.push({ database: row.datname, error: msgText(m), error_msg: m });
          } finally {
            if (conn) {
              const c = conn;
              // Closed before the next database's opens: the connection caps count two connections for this session.
              await closeWithin(
                this.target.connectTimeoutMs,
                () => c.client.end(),
                () => c.socket.destroy(),
              );
            }
          }
        }
        const parts = await instanceParts(this.client, dbs, reason);
        return { parts, ceiling_bytes: null, ceiling_source: null, disk_used_bytes: null, method: COMPOSITION_METHOD };
      },
      (err) => classifyError(err, this.target),
    );
  }

  close(): Closing {
    return closeTelling(
      this.target.connectTimeoutMs,
      () => this.client.end(),
      () => this.socket.destroy(),
      driverStream(this.client),
    );
  }
}

export const PG_SSLMODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
type SslMode = (typeof PG_SSLMODES)[number];

/** The instance's sslmode (libpq's words); `disable` when unset, as before TLS options existed. */
function sslMode(target: ConnectTarget): SslMode {
  const v = target.options.sslmode;
  return (PG_SSLMODES as readonly unknown[]).includes(v) ? (v as SslMode) : 'disable';
}

/**
 * pg's `ssl` for a mode: `require` encrypts without checking the certificate; `verify-ca` checks it chains
 * to the instance's CA (or the system's); `verify-full` also checks the host name.
 */
function sslConfig(mode: SslMode, target: ConnectTarget): Pg.ClientConfig['ssl'] {
  if (mode === 'disable') return false;
  const material = {
    ...(target.tls?.ca ? { ca: target.tls.ca } : {}),
    ...(target.tls?.cert ? { cert: target.tls.cert } : {}),
    ...(target.tls?.key ? { key: target.tls.key } : {}),
  };
  if (mode === 'prefer' || mode === 'require') return { ...material, rejectUnauthorized: false };
  if (mode === 'verify-ca') return { ...material, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  return { ...material, rejectUnauthorized: true };
}

/**
 * A connection to one database, bounded by the connect timeout. Our own
 * socket, so the hard bound can destroy it: pg's client.end() during the
 * handshake only half-closes, and a black hole never answers.
 * `prefer`: TLS first; a server that answers "no TLS" gets a second, plain connection.
 */
async function openClient(target: ConnectTarget, database: string): Promise<{ client: Pg.Client; socket: net.Socket }> {
  const mode = sslMode(target);
  try {
    return await openClientWith(target, database, mode);
  } catch (err) {
    if (mode === 'prefer' && /does not support SSL/.test(errorMessage(err))) return openClientWith(target, database, 'disable');
    throw err;
  }
}

async function openClientWith(target: ConnectTarget, database: string, mode: SslMode): Promise<{ client: Pg.Client; socket: net.Socket }> {
  const socket = new net.Socket();
  let askedCleartext = false;
  const client: Pg.Client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.username,
    // A function: pg calls it once the server has said how it wants the password, so a clear-text request
    // (AuthenticationCleartextPassword, code 3) over a plain socket is refused before anything is sent.
    // Async with nothing to await: pg awaits the answer, and the refusal must reach it as a rejection, not a throw.
    // eslint-disable-next-line @typescript-eslint/require-await
    password: async () => {
      const stream = driverStream(client);
      if (askedCleartext && !cleartextAllowed(target, stream instanceof tls.TLSSocket)) {
        socket.destroy();
        throw cleartextRefused('PostgreSQL AuthenticationCleartextPassword', 'sslmode');
      }
      return target.password;
    },
    database,
    application_name: 'whalefall',
    connectionTimeoutMillis: target.connectTimeoutMs,
    statement_timeout: target.queryTimeoutMs,
    query_timeout: target.queryTimeoutMs + CLIENT_TIMEOUT_SLACK_MS,
    ssl: sslConfig(mode, target),
    stream: () => socket,
  });
  // Before pg's own listener: note which kind of password the server asked for.
  (client as unknown as { connection: NodeJS.EventEmitter }).connection.prependListener('authenticationCleartextPassword', () => {
    askedCleartext = true;
  });
  // A connection lost while idle is emitted as 'error'; unheard, it would
  // crash the process. The next query fails and is classified instead.
  client.on('error', () => {});
  try {
    await withTimeout(client.connect(), target.connectTimeoutMs, 'PostgreSQL 连接', () => socket.destroy());
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return { client, socket };
}

export const postgresqlEngine: Engine = {
  dbType: 'postgresql',
  label: 'PostgreSQL',
  defaultPort: 5432,
  needsDatabaseName: false,
  options: {
    sslmode: {
      kind: 'enum',
      values: PG_SSLMODES,
      description:
        "TLS (libpq's sslmode): disable (default) | prefer | require (encrypted, certificate not checked) | verify-ca (chains to the CA) | verify-full (and the host name matches)",
    },
    [CLEARTEXT_OPTION]: CLEARTEXT_OPTION_SPEC,
  },

  async connect(target) {
    let conn: { client: Pg.Client; socket: net.Socket };
    try {
      conn = await openClient(target, target.database || 'postgres');
    } catch (err) {
      throw classifyError(err, target);
    }
    return new PostgresqlSession(conn.client, conn.socket, target);
  },

  classifyError,
  // Tables and composition: the session's connection plus one database's at a time (closed before the next opens).
  sessionConnections: { tables: 2, composition: 2 },
};
