/**
 * Connection slots (`connection_slots`): the store side of the connection
 * caps and of the estate-wide sync concurrency. A slot is a row keyed by
 * (scope, slot number); the primary key is the semaphore, so two processes
 * can never hold one slot, and every statement here is a single short write
 * (no transaction held while a connection is open). Works the same on both
 * stores.
 */
import { sql, type Kysely, type QueryResult, type RawBuilder } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import type { DialectName } from './db.js';
import type { Database } from './schema.js';
import { answerBeforeCommit } from './sqlite-driver.js';

/** A row `takeOneEach` wrote (or found another holder's, when a number was taken first). */
interface TakenRow {
  scope: string;
  slot: number;
  holder: string;
}

export interface SlotRow {
  slot: number;
  holder: string;
  purpose: string;
  expires_at: string;
}

/** Random numbers tried per slot wanted before the lowest free ones (PostgreSQL; see `freeNumbers`). */
const GUESSES_PER_SLOT = 4;
/** Caps up to this are enumerated (`freeNumbers`). */
const ENUMERATE_UP_TO = 256;

/**
 * PostgreSQL: up to `want` free numbers below `cap` of a scope whose live slots are the CTE `live`, as
 * `SELECT n …`, in random order, so processes asking at the same moment rarely pick the same number. A small
 * cap (the per-instance 2, the estate's default 64) is enumerated: the simplest statement to plan. A larger
 * one reads O(live + want) rows instead: random guesses first, then the lowest free numbers (among the first
 * live + want numbers at least `want` are free). Enumerating a cap of 4,096 (WHALEFALL_CONNECTIONS_TOTAL)
 * cost 1.2 ms of the store's time per connection (docs/benchmarks-notes.md).
 */
export function freeNumbers(live: RawBuilder<unknown>, cap: number, want: number | RawBuilder<unknown>): RawBuilder<{ n: number }> {
  if (cap <= ENUMERATE_UP_TO)
    return sql<{ n: number }>`SELECT n FROM generate_series(0, ${cap}::int - 1) AS n WHERE n NOT IN (SELECT slot FROM ${live}) ORDER BY random() LIMIT ${want}`;
  return sql<{ n: number }>`SELECT n FROM (
      SELECT n, min(pri) AS pri FROM (
        SELECT floor(random() * ${cap}::int)::int AS n, 0 AS pri FROM generate_series(1, ${want}::int * ${GUESSES_PER_SLOT})
        UNION ALL
        SELECT n, 1 FROM generate_series(0, LEAST(${cap}::int, (SELECT count(*)::int FROM ${live}) + ${want}::int) - 1) AS n
      ) c WHERE n NOT IN (SELECT slot FROM ${live}) GROUP BY n
    ) f ORDER BY pri, random() LIMIT ${want}::int`;
}

export class SlotsRepository {
  /** Taking slots: answered before the group's COMMIT on SQLite (`answerBeforeCommit`). */
  private readonly coordination: Kysely<Database>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName = 'postgres',
  ) {
    this.coordination = db.withPlugin(answerBeforeCommit);
  }

  /**
   * Take up to `want` free slots of `scope` for `holder` at once, never more
   * than `cap` live in the scope: one statement on PostgreSQL (free numbers
   * picked at random first, so processes asking at the same moment rarely
   * collide, `freeNumbers`; a number another process took first is skipped,
   * not waited for), so a process filling 16 free places pays one round trip, not 32.
   * Returns the slot numbers taken (fewer than `want` when the scope is
   * nearly full or others won some numbers).
   */
  async takeSome(scope: string, cap: number, want: number, holder: string, purpose: string, now: string, expiresAt: string): Promise<number[]> {
    if (want <= 0 || cap <= 0) return [];
    if (this.dialect === 'sqlite') return this.takeSomeSqlite(scope, cap, want, holder, purpose, now, expiresAt);
    const r = await sql<{ slot: number }>`
      WITH live AS (SELECT slot FROM connection_slots WHERE scope = ${scope} AND expires_at >= ${now}::timestamptz),
      pick AS (${freeNumbers(sql`live`, cap, sql`GREATEST(0, LEAST(${want}::int, ${cap}::int - (SELECT count(*)::int FROM live)))`)})
      INSERT INTO connection_slots (scope, slot, holder, purpose, acquired_at, expires_at)
      SELECT ${scope}, n, ${holder}, ${purpose}, ${now}::timestamptz, ${expiresAt}::timestamptz FROM pick
      ON CONFLICT (scope, slot) DO UPDATE SET holder = excluded.holder, purpose = excluded.purpose, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
        WHERE connection_slots.expires_at < excluded.acquired_at
      RETURNING slot, holder`.execute(this.coordination);
    return r.rows.filter((x) => (x as { holder?: string }).holder === holder).map((x) => Number(x.slot));
  }

  /**
   * SQLite (one writer at a time): one slot — what every connection and admission asks for — in one statement:
   * the lowest free number (0, or one past a live slot) when the scope has room, a row whose lease ended taken over.
   * More than one: read the live rows, then take free numbers one by one (each a compare-and-set).
   */
  private async takeSomeSqlite(scope: string, cap: number, want: number, holder: string, purpose: string, now: string, expiresAt: string): Promise<number[]> {
    if (want === 1) {
      const r = await sql<{ slot: number; holder: string }>`
        WITH live AS MATERIALIZED (SELECT slot FROM connection_slots WHERE scope = ${scope} AND expires_at >= ${now}),
        pick AS (SELECT min(n) AS n FROM (SELECT 0 AS n UNION ALL SELECT slot + 1 FROM live) WHERE n < ${cap} AND n NOT IN (SELECT slot FROM live))
        INSERT INTO connection_slots (scope, slot, holder, purpose, acquired_at, expires_at)
        SELECT ${scope}, n, ${holder}, ${purpose}, ${now}, ${expiresAt} FROM pick WHERE n IS NOT NULL AND (SELECT count(*) FROM live) < ${cap}
        ON CONFLICT (scope, slot) DO UPDATE SET holder = excluded.holder, purpose = excluded.purpose, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
          WHERE connection_slots.expires_at < excluded.acquired_at
        RETURNING slot, holder`.execute(this.coordination);
      return r.rows.filter((x) => x.holder === holder).map((x) => Number(x.slot));
    }
    const live = (await this.held(scope)).filter((x) => x.expires_at >= now);
    const taken = new Set(live.map((x) => x.slot));
    const got: number[] = [];
    for (let n = 0; n < cap && got.length < Math.min(want, cap - live.length); n++) {
      if (!taken.has(n) && (await this.take(scope, n, holder, purpose, now, expiresAt))) got.push(n);
    }
    return got;
  }

  /**
   * One slot in each of several scopes (a connection's instance and global caps) in one statement: rows are
   * written only when every scope has a free number, and a number another holder took first is skipped, so the
   * caller checks that every scope came back and frees the rest (`release`) when not. Returns the slots taken.
   * SQLite reads a scope's live slots once (MATERIALIZED), not at each of their three uses: 0.23 → 0.18 ms a
   * connection at 128 at once (`bench/record-cost.ts sqlite 2000 128`). A `guess` for every scope (a number the
   * caller believes free) is tried first, by index lookups alone (`guessStatement`); the full statement follows
   * when it misses.
   */
  async takeOneEach(
    reqs: { scope: string; cap: number; guess?: number }[],
    holder: string,
    purpose: string,
    now: string,
    expiresAt: string,
  ): Promise<{ scope: string; slot: number }[]> {
    const values: Record<string, unknown> = { holder, purpose, now, expiresAt };
    reqs.forEach((r, i) => {
      values[`scope${i}`] = r.scope;
      values[`cap${i}`] = r.cap;
      values[`n${i}`] = r.guess;
    });
    if (reqs.every((r) => r.guess !== undefined && r.guess >= 0 && r.guess < r.cap)) {
      const r = await this.compiledFor('guess', reqs.length)(this.coordination, values);
      const got = r.rows.filter((x) => x.holder === holder).map((x) => ({ scope: x.scope, slot: Number(x.slot) }));
      // All or none on SQLite (one writer: nothing changes between the checks and the insert). On PostgreSQL
      // another process's row can land between them: a short answer is given back and the full statement asked.
      if (got.length === reqs.length) return got;
      if (got.length) await this.release(holder);
    }
    // SQLite: compiled once per number of scopes (every connection runs it). PostgreSQL's text depends on each cap (freeNumbers).
    const r =
      this.dialect === 'sqlite'
        ? await this.compiledFor('take', reqs.length)(this.coordination, values)
        : await this.takeEachStatement(
            reqs.length,
            (k) => values[k],
            reqs.map((x) => x.cap),
          ).execute(this.coordination);
    return r.rows.filter((x) => x.holder === holder).map((x) => ({ scope: x.scope, slot: Number(x.slot) }));
  }

  /** Compiled statements by name and number of scopes (`takeEachStatement`, `guessStatement`). */
  private readonly compiled = new Map<string, (on: Kysely<Database>, v: Record<string, unknown>) => Promise<QueryResult<TakenRow>>>();

  /** The statement for `n` scopes, compiled once (its text depends on nothing else): SQLite's `takeEachStatement`, both stores' `guessStatement`. */
  private compiledFor(name: 'take' | 'guess', n: number) {
    let run = this.compiled.get(`${name}:${n}`);
    if (!run) {
      run = compiledOnce(
        () => this.coordination,
        (db, v: Record<string, unknown>) => ({
          compile: () => (name === 'take' ? this.takeEachStatement(n, (k) => v[k]) : this.guessStatement(n, (k) => v[k])).compile(db),
        }),
      );
      this.compiled.set(`${name}:${n}`, run);
    }
    return run;
  }

  /**
   * The numbers the caller guessed free (`n0`, `n1`, …; each below its scope's cap), taken when every one is
   * free or its lease ended and no scope has a live slot at or past its cap (a lowered cap whose extra holders
   * have not finished). The primary key keeps the numbers below a cap distinct, so a free one below it means
   * fewer than `cap` live: the same rule as `takeEachStatement`, checked with two index lookups a scope instead
   * of reading every live slot of the estate's scope (at 128 connections at once on SQLite, ~40 µs against
   * ~200 µs a connection; docs/benchmarks-notes.md, session 22).
   */
  private guessStatement(n: number, val: (k: string) => unknown): RawBuilder<TakenRow> {
    const pg = this.dialect === 'postgres';
    const ts = (v: unknown) => (pg ? sql`${v}::timestamptz` : sql`${v}`);
    const idx = Array.from({ length: n }, (_, i) => i);
    const rows = sql.join(
      idx.map((i) =>
        pg ? sql`SELECT ${val(`scope${i}`)}::text AS scope, ${val(`n${i}`)}::int AS n` : sql`SELECT ${val(`scope${i}`)} AS scope, ${val(`n${i}`)} AS n`,
      ),
      sql` UNION ALL `,
    );
    const free = sql.join(
      idx.map(
        (i) => sql`NOT EXISTS (SELECT 1 FROM connection_slots WHERE scope = ${val(`scope${i}`)} AND slot = ${val(`n${i}`)} AND expires_at >= ${ts(val('now'))})
          AND NOT EXISTS (SELECT 1 FROM connection_slots WHERE scope = ${val(`scope${i}`)} AND slot >= ${val(`cap${i}`)} AND expires_at >= ${ts(val('now'))})`,
      ),
      sql` AND `,
    );
    return sql<TakenRow>`
      INSERT INTO connection_slots (scope, slot, holder, purpose, acquired_at, expires_at)
      SELECT scope, n, ${val('holder')}, ${val('purpose')}, ${ts(val('now'))}, ${ts(val('expiresAt'))} FROM (${rows}) g WHERE ${free}
      ON CONFLICT (scope, slot) DO UPDATE SET holder = excluded.holder, purpose = excluded.purpose, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
        WHERE connection_slots.expires_at < excluded.acquired_at
      RETURNING scope, slot, holder`;
  }

  /** The statement of `takeOneEach` for `n` scopes; values by name (`scope0`, `cap0`, … `holder`, `purpose`, `now`, `expiresAt`). */
  private takeEachStatement(n: number, val: (k: string) => unknown, pgCaps: number[] = []): RawBuilder<TakenRow> {
    const pg = this.dialect === 'postgres';
    const ts = (v: unknown) => (pg ? sql`${v}::timestamptz` : sql`${v}`);
    const name = (kind: string, i: number) => sql.raw(`${kind}${i}`);
    const idx = Array.from({ length: n }, (_, i) => i);
    const ctes = idx.map((i) => {
      const live = name('live', i);
      const [scope, cap] = [val(`scope${i}`), val(`cap${i}`)];
      const room = sql`(SELECT count(*) FROM ${live}) < ${cap}`;
      return pg
        ? sql`${live} AS (SELECT slot FROM connection_slots WHERE scope = ${scope} AND expires_at >= ${ts(val('now'))}),
            ${name('pick', i)} AS (SELECT ${scope}::text AS scope, n FROM (${freeNumbers(live, pgCaps[i]!, 1)}) f WHERE ${room})`
        : sql`${live} AS MATERIALIZED (SELECT slot FROM connection_slots WHERE scope = ${scope} AND expires_at >= ${val('now')}),
            ${name('pick', i)} AS (SELECT ${scope} AS scope, min(n) AS n FROM (SELECT 0 AS n UNION ALL SELECT slot + 1 FROM ${live})
              WHERE n < ${cap} AND n NOT IN (SELECT slot FROM ${live}) AND ${room})`;
    });
    const picks = sql.join(
      idx.map((i) => sql`SELECT scope, n FROM ${name('pick', i)} WHERE n IS NOT NULL`),
      sql` UNION ALL `,
    );
    const every = sql.join(
      idx.map((i) => sql`EXISTS (SELECT 1 FROM ${name('pick', i)} WHERE n IS NOT NULL)`),
      sql` AND `,
    );
    return sql<TakenRow>`
      WITH ${sql.join(ctes)}, pick AS (${picks})
      INSERT INTO connection_slots (scope, slot, holder, purpose, acquired_at, expires_at)
      SELECT scope, n, ${val('holder')}, ${val('purpose')}, ${ts(val('now'))}, ${ts(val('expiresAt'))} FROM pick WHERE ${every}
      ON CONFLICT (scope, slot) DO UPDATE SET holder = excluded.holder, purpose = excluded.purpose, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
        WHERE connection_slots.expires_at < excluded.acquired_at
      RETURNING scope, slot, holder`;
  }

  /** Free some of `holder`'s slots of `scope` (one statement). */
  async dropSome(scope: string, slots: number[], holder: string): Promise<void> {
    if (!slots.length) return;
    await this.db.deleteFrom('connection_slots').where('scope', '=', scope).where('slot', 'in', slots).where('holder', '=', holder).execute();
  }

  /** The rows of a scope, live and expired. */
  held(scope: string): Promise<SlotRow[]> {
    return this.db.selectFrom('connection_slots').select(['slot', 'holder', 'purpose', 'expires_at']).where('scope', '=', scope).execute();
  }

  /** Take slot `slot` of `scope` if it is free or its lease ended before `now`; true when `holder` has it. */
  async take(scope: string, slot: number, holder: string, purpose: string, now: string, expiresAt: string): Promise<boolean> {
    const row = await this.coordination
      .insertInto('connection_slots')
      .values({ scope, slot, holder, purpose, acquired_at: now, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.columns(['scope', 'slot']).doUpdateSet({ holder, purpose, acquired_at: now, expires_at: expiresAt }).where('connection_slots.expires_at', '<', now),
      )
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder;
  }

  /** Free a slot whose holder is known dead (compare-and-delete: only that holder's row goes). */
  async drop(scope: string, slot: number, holder: string): Promise<boolean> {
    const r = await this.db.deleteFrom('connection_slots').where('scope', '=', scope).where('slot', '=', slot).where('holder', '=', holder).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Free every slot of `holder`. */
  async release(holder: string): Promise<void> {
    await this.db.deleteFrom('connection_slots').where('holder', '=', holder).execute();
  }

  /** Free every slot of these holders, in one statement (PostgreSQL: one text whatever their number). */
  async releaseMany(holders: string[]): Promise<void> {
    if (!holders.length) return;
    for (let i = 0; i < holders.length; i += 500) {
      const part = holders.slice(i, i + 500);
      await this.db
        .deleteFrom('connection_slots')
        .where('holder', this.dialect === 'postgres' ? '=' : 'in', this.dialect === 'postgres' ? sql<string>`ANY(${part}::text[])` : part)
        .execute();
    }
  }

  /** Push the lease of these holders' slots (their process is alive). */
  async renew(holders: string[], expiresAt: string): Promise<void> {
    for (let i = 0; i < holders.length; i += 500) {
      await this.db
        .updateTable('connection_slots')
        .set({ expires_at: expiresAt })
        .where('holder', 'in', holders.slice(i, i + 500))
        .execute();
    }
  }
}
