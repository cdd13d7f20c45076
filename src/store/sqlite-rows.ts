/**
 * SQLite: many rows into one table through prepared multi-row statements whose SQL does not depend on the data.
 * Rows go `ROWS_PER_STATEMENT` at a time, the rest by powers of two down to `EXACT_BELOW`, and what is left then
 * (fewer than `EXACT_BELOW` rows: most instances' whole collection) in one statement of exactly that many rows: at
 * most 5 more statements, and a table at most 36 statement texts, each prepared once (the store caches statements
 * by their SQL, sqlite-driver.ts) and
 * run with plain bound values: no syntax-tree node per value (the query goes to the driver as compiled SQL) and
 * no JSON to encode and decode per row (what the json_each form cost at 2,000 rows: about a third of the save).
 */
import { CompiledQuery } from 'kysely';

/** Rows per full statement: 512 rows of up to 63 values stay under SQLite's 32,766 bound values. */
const ROWS_PER_STATEMENT = 512;
/**
 * Fewer rows than this go in one statement of their exact number: a 5-database instance's save is one statement a
 * table, not two (4 + 1), for 32 more statement texts a table.
 */
const EXACT_BELOW = 32;

const texts = new Map<string, string>();

/** `head VALUES row, row, … tail` for `n` rows, built once per shape and size. */
function statement(head: string, row: string, tail: string, n: number): string {
  const key = `${n}\u0000${head}\u0000${row}\u0000${tail}`;
  let text = texts.get(key);
  if (!text) {
    text = `${head} VALUES ${Array.from({ length: n }, () => row).join(', ')} ${tail}`;
    texts.set(key, text);
  }
  return text;
}

/**
 * Insert `rows` (each the values of `row`'s placeholders, in order) with `head VALUES row, … tail` statements
 * (`tail`: an ON CONFLICT clause, or ''). `undefined` is stored as NULL.
 */
export async function insertRows(
  db: { executeQuery(query: CompiledQuery): Promise<unknown> },
  head: string,
  row: string,
  tail: string,
  rows: readonly (readonly unknown[])[],
): Promise<void> {
  let i = 0;
  const run = async (n: number) => {
    const values: unknown[] = [];
    for (const r of rows.slice(i, i + n)) for (const v of r) values.push(v === undefined ? null : v);
    await db.executeQuery(CompiledQuery.raw(statement(head, row, tail, n), values));
    i += n;
  };
  while (rows.length - i >= ROWS_PER_STATEMENT) await run(ROWS_PER_STATEMENT);
  for (let n = ROWS_PER_STATEMENT >> 1; n >= EXACT_BELOW; n >>= 1) if (rows.length - i >= n) await run(n);
  if (rows.length > i) await run(rows.length - i);
}
