/**
 * Statements of a fixed shape that a sync record runs every time, built and
 * compiled by Kysely once per store and then run with new values.
 *
 * Why: Kysely builds a syntax tree for every query (frozen objects, one
 * node per column and value) and compiles it to SQL again at every call. For
 * the few short statements every record of a batch runs (its lock, its
 * record's start and end, its instance's totals) that was about a tenth of
 * the service thread's CPU a record at concurrency 128
 * (`bench/record-cost.ts sqlite 4000 128 --prof`, docs/benchmarks-notes.md
 * session 19) — the thread that bounds a large batch on a SQLite store.
 *
 * How: the builder is called once with a stand-in (`Hole`) for each named
 * value; the compiled query's parameters are then a list of holes and
 * constants, and each run replaces the holes with the values given. The
 * same compiled query object (and so the same SQL text and query id) is
 * reused: a plugin's `transformQuery` ran at the compile, so what it marked
 * by query id (`answerBeforeCommit`) still holds, the SQLite driver finds
 * its prepared statement by the same text, and the PostgreSQL store's named
 * statement by the same name.
 *
 * Only for statements whose SQL does not depend on the values: no lists of
 * varying length (`in`), no keys left out when undefined. A value given as
 * `undefined` is refused (Kysely would have left its column out; here the
 * shape is fixed), so a caller's mistake is an error, not a changed row.
 *
 *   const started = compiledOnce(() => db, (db, v: { id: number; holder: string }) =>
 *     db.updateTable('t').set({ holder: v.holder }).where('id', '=', v.id));
 *   await started(trx, { id: 7, holder: 'h' });
 */
import type { CompiledQuery, QueryExecutorProvider, QueryResult } from 'kysely';

/** Stands in for the value named `key` while the statement is compiled. */
class Hole {
  constructor(readonly key: string) {}
}

/** What runs a compiled query: a Kysely instance or transaction. */
interface Runner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** What `build` returns: a query builder (`compile()`) or a sql`` template (`compile(db)`). */
interface Compiles<R, D> {
  compile(db: D): CompiledQuery<R>;
}

/**
 * `build` run once (at the first call) with holes for `V`'s values, on `db()` (its plugins apply; a function, so
 * that a class field can name a constructor's parameter); the function returned runs the compiled statement on
 * `on` (the same store: `db` itself, or a transaction of it) with `values`.
 */
export function compiledOnce<V extends object, R, D extends QueryExecutorProvider>(
  db: () => D,
  build: (db: D, v: V) => Compiles<R, D>,
): (on: Runner, values: V) => Promise<QueryResult<R>> {
  let compiled: CompiledQuery<R> | undefined;
  return async (on, values) => {
    if (!compiled) {
      const stand = new Proxy({}, { get: (_, key) => new Hole(String(key)) }) as V;
      const q = build(db(), stand).compile(db());
      if (!q.parameters.some((p) => p instanceof Hole)) throw new Error(`compiledOnce: no value of the statement is given (${q.sql})`);
      compiled = q;
    }
    const { sql } = compiled;
    const given = values as Record<string, unknown>;
    const parameters = compiled.parameters.map((p) => {
      if (!(p instanceof Hole)) return p;
      const v = Object.hasOwn(given, p.key) ? given[p.key] : undefined;
      if (v === undefined) throw new Error(`compiledOnce: no value for "${p.key}" (${sql})`);
      return v;
    });
    return on.executeQuery({ ...compiled, parameters });
  };
}
