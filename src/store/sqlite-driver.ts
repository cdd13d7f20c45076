/**
 * better-sqlite3 behind Kysely, made for many small transactions at once:
 * prepared statements are reused, and the writes of one turn of the event
 * loop share one commit (group commit).
 *
 * Why: a sync record's store work is a handful of statements in two short
 * transactions, and on SQLite each COMMIT writes the pages it touched to the
 * WAL — the same pages (the instances table, the records of the session, the
 * day's totals) again and again at concurrency 128. Committed together, a
 * turn's transactions write each page once (docs/benchmarks-notes.md,
 * session 14).
 *
 * How, on the one connection a SQLite store has:
 * - The first transaction (or write outside one) of a turn opens a group:
 *   `BEGIN IMMEDIATE`. Each Kysely transaction is a SAVEPOINT inside it; its
 *   rollback rolls back to the savepoint, leaving the others' work alone.
 * - The group commits once the loop turn is over (setImmediate), when no
 *   transaction body is running. A transaction's commit, and a write's
 *   result, is answered only then: nobody is told "saved" before the COMMIT
 *   has happened, and a failed COMMIT fails every member of the group.
 *   The exception: coordination rows (a sync's lock, connection slots), run
 *   through `answerBeforeCommit`, are answered at once — waiting a turn for
 *   them cost 10,000 instances at concurrency 128 more wall time than the
 *   group commit saved (docs/benchmarks-notes.md, session 14). Until the
 *   turn ends the group holds SQLite's write lock: another connection to
 *   the same file in the same thread (tests that open two stores) must let
 *   the turn end before it writes, or SQLite's busy wait, which blocks the
 *   thread, waits out its timeout.
 * - A member that finished frees the connection at once (so the next
 *   transaction can join), then waits for the group's COMMIT.
 * - An error after which SQLite rolled back the whole transaction (SQLITE_FULL,
 *   SQLITE_IOERR, …) fails every member that was waiting for it.
 * - Reads outside a transaction run as they come (inside an open group they
 *   see its writes, as the process that made them).
 * - Statements that cannot run in a transaction (VACUUM, PRAGMA, ATTACH…)
 *   commit the open group first.
 * Sequential code sees what it saw before: each await of a write returns
 * after its commit. Only work running at the same time shares a commit.
 * What it costs: a write is answered once the turn's last transaction body
 * has ended (a body that holds the connection across a network read, as the
 * import of an original Whalefall does, holds up the writes of its turn —
 * with one connection it held up all the store's work before); a read
 * outside a transaction may see a write of the turn whose COMMIT then fails
 * (a full disk, an I/O error: the writers are told, the reader is not).
 */
import type SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteDialect,
  SelectQueryNode,
  type DatabaseConnection,
  type Driver,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type RootOperationNode,
  type QueryResult,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

/** A prepared statement as the store uses it: Kysely's, and whether it writes. */
export interface CachedStatement extends SqliteStatement {
  /** better-sqlite3's `readonly`: the statement changes nothing (an INSERT … RETURNING is a reader but not readonly). */
  readonly readonly: boolean;
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint };
}

/** The SQLite database the driver runs on. */
export interface SqliteHandle extends SqliteDatabase {
  prepare(sql: string): CachedStatement;
  /** Whether a transaction is open on the connection (false after SQLite rolled one back by itself). */
  inTransaction(): boolean;
}

/** Prepared statements kept per SQLite store (least recently used dropped first). */
const STATEMENT_CACHE_SIZE = 512;

/**
 * Prepared statements reused: Kysely prepares every query it runs, and
 * preparing (parsing and planning the SQL) costs more than running the short
 * statements the sync and the API issue. Statements are keyed by their SQL
 * text; the cache is bounded (multi-row inserts of different sizes are
 * different SQL). `iterate` (Kysely's `.stream()`) gets a statement of its
 * own, so a half-read cursor never makes the cached one busy. A schema change
 * needs nothing: SQLite re-prepares a stale statement by itself.
 */
export function cachingSqlite(sqlite: SQLite.Database, max = STATEMENT_CACHE_SIZE): SqliteHandle {
  const cache = new Map<string, CachedStatement>();
  return {
    close() {
      cache.clear();
      sqlite.close();
    },
    inTransaction: () => sqlite.inTransaction,
    prepare(sql: string): CachedStatement {
      let stmt = cache.get(sql);
      if (stmt) {
        // Most recently used last: Map keeps insertion order.
        cache.delete(sql);
        cache.set(sql, stmt);
        return stmt;
      }
      const prepared = sqlite.prepare(sql);
      stmt = {
        reader: prepared.reader,
        readonly: prepared.readonly,
        all: (params) => prepared.all(params),
        run: (params) => prepared.run(params),
        iterate: (params) => sqlite.prepare(sql).iterate(params),
      };
      cache.set(sql, stmt);
      if (cache.size > max) cache.delete(cache.keys().next().value!);
      return stmt;
    },
  };
}

/** Queries run through `answerBeforeCommit` (by their Kysely query id). */
const beforeCommit = new WeakSet<object>();

/**
 * A plugin for the writes of coordination rows — an instance's sync lock, the
 * connection slots — whose answer need not wait for the group's COMMIT:
 * `BEGIN IMMEDIATE` keeps every other process's writer out until then, and
 * this process's own statements see them at once, so the rows keep two syncs
 * apart from the moment they are written. If the COMMIT fails they are gone
 * (with the rest of the group), as after a crash: the sync's save, answered
 * only after its own COMMIT, then finds its lease lost and saves nothing.
 * A transaction is answered early only when every statement in it came
 * through the plugin. On PostgreSQL it changes nothing.
 *
 *   const coordination = db.withPlugin(answerBeforeCommit);
 */
export const answerBeforeCommit: KyselyPlugin = {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    beforeCommit.add(args.queryId);
    return args.node;
  },
  transformResult(args: PluginTransformResultArgs) {
    return Promise.resolve(args.result);
  },
};

/** Statements SQLite refuses inside a transaction, or that must not be part of one. */
const OUTSIDE_TRANSACTION = /^\s*(vacuum|pragma|attach|detach|begin|commit|end|rollback|savepoint|release)\b/i;

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The group's transaction ended without its COMMIT (SQLite rolled it back after an error, or the COMMIT failed). */
export class GroupCommitFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(`the store's transaction was rolled back: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'GroupCommitFailed';
  }
}

interface Group {
  /** Settles when the group's COMMIT has run (or the group was rolled back). */
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A group nobody waits on (only reads joined it) must not be an unhandled rejection.
  done.catch(() => {});
  return { done, resolve, reject };
}

/** First come, first served: the flush waits its turn behind the transactions queued before it, never starved by later ones. */
class Mutex {
  private held = false;
  private readonly waiters: (() => void)[] = [];

  lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  unlock(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

/** One use of the connection (Kysely acquires, runs, releases); it may let go of the connection early to wait for its commit. */
class Lease implements DatabaseConnection {
  released = false;
  /** The group its transaction (or write) joined. */
  group: Group | undefined;
  /** Its transaction ran a statement that is answered after the COMMIT (not only coordination rows). */
  late = false;

  constructor(private readonly driver: GroupCommitDriver) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, compiled);
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiled.query)) throw new Error('Sqlite driver only supports streaming of select queries');
    await this.driver.hold(this);
    for (const row of this.driver.db.prepare(compiled.sql).iterate(compiled.parameters)) yield { rows: [row as R] };
  }

  /** Let the next user of the connection in (once). */
  release(mutex: Mutex): void {
    if (this.released) return;
    this.released = true;
    mutex.unlock();
  }
}

class GroupCommitDriver implements Driver {
  private readonly mutex = new Mutex();
  private group: Group | undefined;

  constructor(readonly db: SqliteHandle) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return new Lease(this);
  }

  async beginTransaction(lease: Lease): Promise<void> {
    await this.hold(lease);
    lease.group = this.join();
    this.run('SAVEPOINT wf_tx');
  }

  async commitTransaction(lease: Lease): Promise<void> {
    const group = lease.group!;
    this.run('RELEASE wf_tx');
    lease.group = undefined;
    lease.release(this.mutex);
    if (lease.late) await group.done;
    lease.late = false;
  }

  rollbackTransaction(lease: Lease): Promise<void> {
    const group = lease.group;
    lease.group = undefined;
    lease.late = false;
    // Nothing left open (its COMMIT failed), or SQLite rolled the whole group back already.
    if (!group || group !== this.group) return Promise.resolve();
    if (this.db.inTransaction()) {
      this.run('ROLLBACK TO wf_tx');
      this.run('RELEASE wf_tx');
    } else this.abandon(new Error('SQLite rolled the transaction back'));
    return Promise.resolve();
  }

  /** Savepoints inside a transaction (Kysely's controlled transactions), nested in its own. */
  async savepoint(lease: Lease, name: string): Promise<void> {
    await this.execute(lease, CompiledQuery.raw(`SAVEPOINT ${quoted(name)}`));
  }

  async rollbackToSavepoint(lease: Lease, name: string): Promise<void> {
    await this.execute(lease, CompiledQuery.raw(`ROLLBACK TO ${quoted(name)}`));
  }

  async releaseSavepoint(lease: Lease, name: string): Promise<void> {
    await this.execute(lease, CompiledQuery.raw(`RELEASE ${quoted(name)}`));
  }

  releaseConnection(lease: Lease): Promise<void> {
    lease.release(this.mutex);
    return Promise.resolve();
  }

  async destroy(): Promise<void> {
    await this.mutex.lock();
    try {
      this.commit();
    } finally {
      this.mutex.unlock();
      this.db.close();
    }
  }

  /** Run a statement for Kysely on a lease that holds the connection. */
  async execute<R>(lease: Lease, compiled: CompiledQuery): Promise<QueryResult<R>> {
    await this.hold(lease);
    const { sql, parameters } = compiled;
    const outside = !lease.group && OUTSIDE_TRANSACTION.test(sql);
    if (outside) this.commit();
    const stmt = this.db.prepare(sql);
    // A write outside a transaction joins the turn's group: answered after its COMMIT.
    const joined = !lease.group && !outside && !stmt.readonly ? this.join() : undefined;
    const soon = beforeCommit.has(compiled.queryId);
    if (lease.group && !soon) lease.late = true;
    let result: QueryResult<R>;
    try {
      if (stmt.reader) result = { rows: stmt.all(parameters) as R[] };
      else {
        const { changes, lastInsertRowid } = stmt.run(parameters);
        result = { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
      }
    } catch (err) {
      // SQLite ends the whole transaction after some errors: every member that finished in it is lost too.
      if (this.group && !this.db.inTransaction()) this.abandon(err);
      throw err;
    }
    if (joined) {
      lease.release(this.mutex);
      if (!soon) await joined.done;
    }
    return result;
  }

  /**
   * A lease that let go of the connection to wait for its COMMIT and runs
   * another statement (`db.connection()` keeps one lease for several) takes
   * the connection again first.
   */
  async hold(lease: Lease): Promise<void> {
    if (!lease.released) return;
    await this.mutex.lock();
    lease.released = false;
  }

  /** The open group, or a new one (BEGIN IMMEDIATE) committed once this turn of the loop is over. */
  private join(): Group {
    if (this.group) return this.group;
    this.run('BEGIN IMMEDIATE');
    const group = newGroup();
    this.group = group;
    setImmediate(() => void this.flush(group));
    return group;
  }

  /** Commit the group when the connection is free (no transaction body half-way). */
  private async flush(group: Group): Promise<void> {
    await this.mutex.lock();
    try {
      if (this.group === group) this.commit();
    } finally {
      this.mutex.unlock();
    }
  }

  /** COMMIT the open group now (the caller holds the connection); a failed COMMIT fails its members. */
  private commit(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    try {
      this.run('COMMIT');
      group.resolve();
    } catch (err) {
      if (this.db.inTransaction()) {
        try {
          this.run('ROLLBACK');
        } catch {
          // The connection is unusable; the next statement says so.
        }
      }
      group.reject(new GroupCommitFailed(err));
    }
  }

  /** The open group's transaction is gone (SQLite rolled it back): its members fail. */
  private abandon(err: unknown): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    group.reject(new GroupCommitFailed(err));
  }

  /** The driver's own statements (BEGIN, SAVEPOINT, …), watched like Kysely's for a transaction SQLite ended. */
  private run(sql: string): void {
    try {
      this.db.prepare(sql).run([]);
    } catch (err) {
      if (this.group && !this.db.inTransaction()) this.abandon(err);
      throw err;
    }
  }
}

/** Kysely's SQLite dialect (its compiler, adapter, introspector) on the group-commit driver. */
export class GroupCommitSqliteDialect extends SqliteDialect {
  constructor(private readonly handle: SqliteHandle) {
    super({ database: handle });
  }

  override createDriver(): Driver {
    return new GroupCommitDriver(this.handle);
  }
}
