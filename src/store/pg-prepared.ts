/**
 * Server-side prepared statements for the PostgreSQL store and the queue.
 *
 * node-postgres sends every parameterised query as an unnamed statement, so
 * PostgreSQL parses, analyses and plans its text at every call. For the short
 * statements a sync repeats thousands of times that is much of their cost on
 * the server: parsing and analysis were a fifth of the store's CPU in
 * `bench/record-cost.ts` (perf, docs/benchmarks-notes.md session 12), planning
 * a third. A named statement is parsed once per connection.
 *
 * `preparingClient` is a pg `Client` that names each parameterised query
 * after a hash of its text (pg keeps what each connection has parsed, and
 * sends only Bind/Execute the next time). Bounded: at most
 * `MAX_PER_CONNECTION` names per connection (statements built with a
 * variable number of parameters are many texts); past it, queries go
 * unnamed. Queries without parameters (BEGIN, COMMIT, pg-boss's scripts) stay
 * unnamed, on the simple protocol.
 *
 * Plans: after five runs of a named statement PostgreSQL may keep one generic
 * plan for it, chosen from the statistics of that moment and kept until they
 * change. On a store that grows fast (a new estate's first syncs) such a plan
 * went stale: the api-path bench's 10,000-instance batch on a fresh store took
 * 120.6 s with names and 83.2 s without (session 10). So statements are named
 * only on a connection whose `plan_cache_mode` is `force_custom_plan` (each
 * run planned for its values, as an unnamed statement is): Whalefall sets it
 * as its database's default when it may (`ensureCustomPlans`, at every
 * start), and each connection asks once (`SHOW plan_cache_mode`, before its
 * first parameterised query, which waits for the answer). A database whose owner chose
 * otherwise keeps its choice, and its statements go unnamed.
 *
 * Poolers: named only outside a transaction. A pooler that does not keep a
 * connection's prepared statements between transactions (pgbouncer in
 * transaction mode before 1.21, or with `max_prepared_statements = 0`)
 * answers a named statement with "prepared statement … does not exist"
 * (26000) or "… already exists" (42P05); a table changed under a prepared
 * `SELECT *` answers "cached plan must not change result type" (0A000).
 * Nothing ran in either case: naming is switched off (for the whole pool on a
 * pooler's error, for the connection on a changed table), `onOff` is told
 * once, and the query is sent again unnamed — which it can be, outside a
 * transaction, so such a pooler costs a warning and no error.
 *
 * `WHALEFALL_STORE_PREPARE=off` names nothing.
 */
import { createHash } from 'node:crypto';
import type * as Pg from 'pg';

/** Names one connection keeps at most (each holds its parse tree and plan in that server backend). */
export const MAX_PER_CONNECTION = 200;

/** Texts whose name is remembered (hashing a text costs more than looking it up). */
const NAME_CACHE = 2_000;

/** The server's answers to a named statement it cannot use as named; nothing was executed. */
const POOLER_CODES = new Set(['26000', '42P05']);
const CHANGED_RESULT = '0A000';

/** Each run of a named statement planned for its values: the only plan cache mode statements are named under. */
export const CUSTOM_PLANS = 'force_custom_plan';

export interface PrepareOptions {
  /** Name statements at all (`WHALEFALL_STORE_PREPARE`, on by default). */
  enabled: boolean;
  /** Told once per pool when naming is switched off there, with the server's error. */
  onOff?: (reason: string, err: Error & { code?: string }) => void;
}

type Callback = (err: Error | null, res?: Pg.QueryResult) => void;

const names = new Map<string, string>();

/** `wf_` + a hash of the text: the same text gets the same name in every process and on every connection. */
export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `wf_${createHash('sha1').update(text).digest('base64url').slice(0, 22)}`;
    if (names.size >= NAME_CACHE) names.clear();
    names.set(text, name);
  }
  return name;
}

/** A pg `Client` class (for `new Pool({ Client })`) that prepares parameterised statements by name; one per pool. */
export function preparingClient(pg: typeof Pg, opts: PrepareOptions): typeof Pg.Client {
  const pool = { naming: opts.enabled };
  const off = (reason: string, err: Error & { code?: string }) => {
    if (!pool.naming) return;
    pool.naming = false;
    opts.onOff?.(reason, err);
  };

  class PreparingClient extends pg.Client {
    /** Names this connection has sent (parsed or being parsed). */
    private readonly named = new Set<string>();
    /** Whether this connection names statements: not until its plan cache mode is known to be CUSTOM_PLANS. */
    private naming: boolean | 'asking' | undefined;

    // pg's overloads: (text, values?, callback?) from Kysely and pg-pool; configs and submittables pass through.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- forwards pg's overloaded signature unchanged
    override query(config: any, values?: any, callback?: any): any {
      const text: unknown = config;
      const params: unknown[] | undefined = Array.isArray(values) ? (values as unknown[]) : undefined;
      if (typeof text !== 'string' || !params?.length || !pool.naming) return this.pass(config, values, callback);
      if (this.getTransactionStatus() !== 'I') return this.pass(config, values, callback);
      // The question goes first and the query after its answer, not beside it: a second query sent to a busy
      // client waits in pg's queue, which pg 8.23 warns is deprecated and pg 9 removes.
      if (this.naming === undefined)
        return settle(
          this.askPlans().then(() => this.send(text, params)),
          callback,
        );
      if (this.naming !== true) return this.pass(config, values, callback);
      return settle(this.send(text, params), callback);
    }

    /** Named when this connection names statements, unnamed otherwise (or past MAX_PER_CONNECTION names). */
    private send(text: string, params: unknown[]): Promise<Pg.QueryResult> {
      if (this.naming !== true || !pool.naming) return this.pass(text, params) as Promise<Pg.QueryResult>;
      const name = statementName(text);
      if (!this.named.has(name)) {
        if (this.named.size >= MAX_PER_CONNECTION) return this.pass(text, params) as Promise<Pg.QueryResult>;
        this.named.add(name);
      }
      return (this.pass({ name, text, values: params }) as Promise<Pg.QueryResult>).catch((err: Error & { code?: string }) => {
        if (POOLER_CODES.has(err.code ?? '')) off('the store connection pooler does not keep prepared statements', err);
        else if (err.code === CHANGED_RESULT && /cached plan/.test(err.message)) this.naming = false;
        else throw err;
        return this.pass(text, params) as Promise<Pg.QueryResult>;
      });
    }

    /**
     * Ask the connection's plan cache mode, once (outside a transaction: a failed SHOW must not abort a caller's);
     * its statements are named from the answer on, if it is CUSTOM_PLANS. A server without the setting
     * (PostgreSQL before 12, 42704) names nothing; another error asks again at the next query (the query that
     * waited for it is sent unnamed, and meets the same error if the connection is gone).
     */
    private askPlans(): Promise<void> {
      this.naming = 'asking';
      return (this.pass('SHOW plan_cache_mode') as Promise<Pg.QueryResult<{ plan_cache_mode: string }>>).then(
        (r) => void (this.naming = r.rows[0]?.plan_cache_mode === CUSTOM_PLANS),
        (err: { code?: string }) => void (this.naming = err.code === '42704' ? false : undefined),
      );
    }

    /** pg's own query, whatever the arguments. */
    private pass(...args: unknown[]): unknown {
      return (super.query as (...a: unknown[]) => unknown).apply(this, args);
    }
  }
  return PreparingClient;
}

/** A promise given to pg's caller as pg would: itself, or, with a callback, to the callback (and nothing returned). */
function settle(p: Promise<Pg.QueryResult>, callback: unknown): Promise<Pg.QueryResult> | undefined {
  if (typeof callback !== 'function') return p;
  const cb = callback as Callback;
  p.then(
    (res) => cb(null, res),
    (err: Error) => cb(err),
  );
  return undefined;
}

/**
 * Make `force_custom_plan` the store database's default plan cache mode — the condition for naming statements
 * (above) — unless a mode was chosen already anywhere (postgresql.conf, ALTER SYSTEM, the role, the database: the
 * session's setting does not come from the default), which is kept. New connections get it. Connections opened
 * before keep their mode (a pooler's server connections until it opens new ones). A store user who does not
 * own the database gets the server's error (42501), nothing changes and statements go unnamed.
 *
 * The connection it runs on gets the mode for its own session too, so the start runs it before anything else on
 * the store (`migrate`): on a database that did not have it yet, a connection that had asked its mode before would
 * name nothing for as long as it lived — on a fresh store's first start, the migrations' connection, that is one
 * of the pool's six, for the whole first batch. Two processes starting at once on a new database both set it; the
 * one whose ALTER meets the other's takes the mode for its session all the same.
 */
export const ENSURE_CUSTOM_PLANS = `
  DO $$
  BEGIN
    IF (SELECT source FROM pg_settings WHERE name = 'plan_cache_mode') = 'default' THEN
      BEGIN
        EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = ${CUSTOM_PLANS}', current_database());
      EXCEPTION WHEN unique_violation OR internal_error THEN
        -- Another process starting at the same moment set it first ("tuple concurrently updated").
        NULL;
      END;
      PERFORM set_config('plan_cache_mode', '${CUSTOM_PLANS}', false);
    END IF;
  END $$`;
