/**
 * Opens the store: embedded SQLite (default) or PostgreSQL (`DATABASE_URL`).
 * This is where the two dialects are made to look alike, once:
 * pg's int8/numeric come back as numbers, DATE as 'YYYY-MM-DD', TIMESTAMPTZ as
 * ISO-8601 UTC strings — exactly what the SQLite side stores.
 */
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type * as Pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { lazyModule } from '../lib/lazy-module.js';
import { ensurePrivateDir, ensurePrivateFile, tightenExisting } from '../lib/private-files.js';
import type { Database } from './schema.js';
import type { DialectName } from './migrations/helpers.js';
import { migrateToLatest, type MigrationEnv } from './migrations/index.js';
import { ENSURE_CUSTOM_PLANS, preparingClient, type PrepareOptions } from './pg-prepared.js';
import { GroupCommitSqliteDialect, cachingSqlite } from './sqlite-driver.js';

export type { DialectName };

export interface Store {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Human description without credentials (for logs and `doctor`). */
  describe: string;
  /** `env.seal` encrypts with the key ring (data migrations of secrets, e.g. 0019). */
  migrate(env?: MigrationEnv): Promise<string[]>;
  close(): Promise<void>;
}

export interface StoreOptions {
  databaseUrl?: string;
  /** SQLite file; ':memory:' for throwaway stores. */
  sqliteFile?: string;
  /** PostgreSQL pool size. */
  poolMax?: number;
  /** PostgreSQL: give up opening a connection after this long (default 5 s). */
  connectTimeoutMs?: number;
  /** PostgreSQL statement_timeout (0: none; default 60 s). Also bounds a query on a link that drops packets. */
  statementTimeoutMs?: number;
  /** PostgreSQL: prepare repeated statements by name (default on; see pg-prepared.ts). */
  prepare?: boolean;
  /** Told once when prepared statements are switched off by the server's answers (see pg-prepared.ts). */
  onPrepareOff?: PrepareOptions['onOff'];
}

/**
 * The store refused a statement for the values it carried — a value too long or out of range, a NULL or a check
 * it does not allow: PostgreSQL's SQLSTATE class 22 (data exception) and 23502/23514, SQLite's matching constraint
 * and size errors. Running it again fails the same way, so it is not retried as a store outage is. Left out: a
 * unique or exclusion violation (two processes can race to it, and the next try wins) and a foreign key's (the
 * instance deleted meanwhile: the next try says so).
 */
export function storeRefused(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (/^SQLITE_(CONSTRAINT_(NOTNULL|CHECK)|TOOBIG|MISMATCH|RANGE)$/.test(code)) return true;
  return err instanceof Error && 'severity' in err && (/^22[0-9A-Z]{3}$/.test(code) || code === '23502' || code === '23514');
}

function parseInt8(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer out of JavaScript's exact range: ${v}`);
  return n;
}

/** The driver, loaded when the store is PostgreSQL: a SQLite store never loads it (nor does a serve until it syncs one). */
const pg = lazyModule<typeof Pg>('pg');

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    switch (oid) {
      case 20: // int8
        return parseInt8;
      case 1700: // numeric (SUM of bigint)
        return (v: string) => Number(v);
      case 1082: // date
        return (v: string) => v;
      case 1184: // timestamptz
      case 1114: {
        // timestamp without time zone: we never create these; read as UTC. pg types its parsers `any`: this one
        // reads timestamp text into a Date.
        const toDate = pg.types.getTypeParser(oid) as (v: string) => Date;
        return (v: string) => toDate(v).toISOString();
      }
      default:
        return pg.types.getTypeParser(oid, format) as (v: string) => unknown;
    }
  },
};

/** Query parameters that carry a secret in a connection URL (libpq's `password`, `sslpassword`; an SMTP URL's `pass`). */
const SECRET_PARAM = /pass|secret|token|credential/i;

/** `postgres://user:secret@host/db?password=secret` → `postgres://user@host/db?password=***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

export function openStore(opts: StoreOptions): Store {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
      Client: preparingClient(pg, { enabled: opts.prepare ?? true, onOff: opts.onPrepareOff }),
      connectionString: opts.databaseUrl,
      max: opts.poolMax ?? 6,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
      // Server side: the query is cancelled. Client side (query_timeout): the call returns even when the link
      // is black-holed and the server never answers; a little later, so the server's own error wins when it can.
      ...(opts.statementTimeoutMs !== 0
        ? { statement_timeout: opts.statementTimeoutMs ?? 60_000, query_timeout: (opts.statementTimeoutMs ?? 60_000) + 2_000 }
        : {}),
      keepAlive: true,
      types: pgTypes,
      application_name: 'whalefall',
    });
    // An idle client's error (server restart) must not crash the process.
    pool.on('error', () => {});
    // Nor a checked-out client's: when the server goes away mid-query, pg also emits 'error' on the
    // client, which nobody listens to while a query holds it. The query's own rejection carries the error.
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      dialect: 'postgres',
      describe: redactUrl(opts.databaseUrl),
      migrate: async (env) => {
        // The condition for naming statements (pg-prepared.ts); when it cannot be set, they go unnamed (and the log says why).
        // First: a connection that asks its mode before the database has it would name nothing while it lives.
        if (opts.prepare ?? true)
          await sql
            .raw(ENSURE_CUSTOM_PLANS)
            .execute(db)
            .catch((err: Error & { code?: string }) => {
              // The server's refusal: said, and the start goes on. A store out of reach (or refusing the login, the
              // database, one more client) fails the start as the migrations would, with its own error.
              if (!(err instanceof pg.DatabaseError) || /^(08|28|3D|53|57P)/.test(err.code ?? '')) throw err;
              opts.onPrepareOff?.(
                err.code === '42501'
                  ? 'the store user does not own its database, so each run of a named statement cannot be made to be planned for its values (as its owner: ALTER DATABASE … SET plan_cache_mode = force_custom_plan)'
                  : 'could not set plan_cache_mode on the store database',
                err,
              );
            });
        return migrateToLatest(db, 'postgres', env);
      },
      close: () => db.destroy(),
    };
  }
  const file = opts.sqliteFile ?? ':memory:';
  if (file !== ':memory:') {
    // The store's folder is the data dir: 0700; the store 0600 before SQLite opens it (its -wal/-shm inherit that).
    ensurePrivateDir(path.dirname(file));
    ensurePrivateFile(file);
  }
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  if (file !== ':memory:') tightenExisting([`${file}-wal`, `${file}-shm`]);
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 10000');
  const db = new Kysely<Database>({ dialect: new GroupCommitSqliteDialect(cachingSqlite(sqlite)) });
  return {
    db,
    dialect: 'sqlite',
    describe: `sqlite:${file}`,
    migrate: (env) => migrateToLatest(db, 'sqlite', env),
    close: () => db.destroy(),
  };
}
