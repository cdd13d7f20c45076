/**
 * Why it jumped: for a day whose growth lies outside the runway fit's
 * interval (lib/runway.ts `unusualDays`), the databases, the tables (where
 * the table ledger has rows on both sides of the day) and the composition
 * parts that account for most of the change.
 *
 * Attribution (`contributors`): each name's change between the two days
 * (a name present on one side only counts its whole size: created or
 * dropped), keeping the changes with the jump's sign, largest first, until
 * they add up to 80 % of the jump (at most 5 names). `share` is a name's
 * change over the jump's change (1 = all of it).
 */
import { addDays } from '../lib/clock.js';
import type { UnusualDay } from '../lib/runway.js';
import type { RunwayRepository } from '../store/runway.repository.js';

export interface Contributor {
  name: string;
  change_bytes: number;
  share: number;
}

export interface TableContributor extends Contributor {
  database_name: string;
  schema_name: string;
  table_name: string;
}

export interface Jump extends UnusualDay {
  /** Instance scope: the databases behind the change (null: no per-database rows on both days). */
  databases: Contributor[] | null;
  /** The tables behind it, from the table ledger days around the jump (null: no ledger rows on both sides). */
  tables: TableContributor[] | null;
  /** Instance scope: the composition parts behind it (null: no composition on both days). */
  parts: Contributor[] | null;
  /** The table-ledger days compared (they may be wider than the jump: tables are collected less often). */
  tables_from: string | null;
  tables_to: string | null;
}

const COVER = 0.8;
/** How far before a jump a table-ledger day may be to stand for "before". */
export const LEDGER_LOOKBACK_DAYS = 31;
const MAX_NAMES = 5;

/** The names whose change between `before` and `after` makes up most of `change` (see the file comment). */
export function contributors(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, change: number): Contributor[] {
  if (change === 0) return [];
  const sign = Math.sign(change);
  const deltas: Contributor[] = [];
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const d = (after.get(name) ?? 0) - (before.get(name) ?? 0);
    if (Math.sign(d) === sign) deltas.push({ name, change_bytes: d, share: Math.round((d / change) * 1000) / 1000 });
  }
  deltas.sort((a, b) => Math.abs(b.change_bytes) - Math.abs(a.change_bytes) || a.name.localeCompare(b.name));
  const out: Contributor[] = [];
  let covered = 0;
  for (const c of deltas) {
    if (out.length >= MAX_NAMES || covered >= COVER * Math.abs(change)) break;
    out.push(c);
    covered += Math.abs(c.change_bytes);
  }
  return out;
}

function byDay<T>(rows: readonly T[], date: (r: T) => string, name: (r: T) => string, bytes: (r: T) => number, day: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) if (date(r) === day) m.set(name(r), bytes(r));
  return m;
}

/**
 * The attribution of each unusual day of one series: `database` set for a
 * database-scope item (its tables only), unset for an instance (databases,
 * tables, composition parts). A few indexed reads per series.
 */
export async function explainJumps(repo: RunwayRepository, instanceId: number, days: readonly UnusualDay[], database?: string): Promise<Jump[]> {
  if (!days.length) return [];
  const dates = [...new Set(days.flatMap((d) => [d.previous_date, d.date]))];
  const first = dates.reduce((a, b) => (a < b ? a : b));
  const last = dates.reduce((a, b) => (a > b ? a : b));
  const [dbRows, compRows, ledgerDays] = await Promise.all([
    database === undefined ? repo.databaseSizesOn(instanceId, dates) : Promise.resolve([]),
    database === undefined ? repo.compositionOn(instanceId, dates) : Promise.resolve([]),
    // Table sizes are collected less often than database sizes: a ledger day up to a month before the earliest jump counts.
    repo.tableDays(instanceId, addDays(first, -LEDGER_LOOKBACK_DAYS), last),
  ]);
  // For each jump: the latest ledger day ≤ the day before, and the latest ≤ the jump day (after the former).
  const latestAtOrBefore = (d: string) => {
    let found: string | null = null;
    for (const x of ledgerDays) if (x <= d) found = x;
    return found;
  };
  const pairs = days.map((d) => {
    const a = latestAtOrBefore(d.previous_date);
    const b = latestAtOrBefore(d.date);
    return a !== null && b !== null && b > a ? { a, b } : null;
  });
  const tableDates = [...new Set(pairs.flatMap((p) => (p ? [p.a, p.b] : [])))];
  const tableRows = tableDates.length ? await repo.tableSizesOn(instanceId, tableDates, database) : [];
  const parts = (day: string) => {
    const row = compRows.find((r) => r.collected_date === day);
    if (!row) return null;
    const m = new Map<string, number>();
    for (const p of JSON.parse(row.parts) as { kind: string; bytes: number | null }[]) if (p.bytes !== null) m.set(p.kind, p.bytes);
    return m;
  };
  return days.map((d, i) => {
    const dbBefore = byDay(
      dbRows,
      (r) => r.collected_date,
      (r) => r.database_name,
      (r) => r.size_bytes,
      d.previous_date,
    );
    const dbAfter = byDay(
      dbRows,
      (r) => r.collected_date,
      (r) => r.database_name,
      (r) => r.size_bytes,
      d.date,
    );
    const pa = parts(d.previous_date);
    const pb = parts(d.date);
    const pair = pairs[i];
    let tables: TableContributor[] | null = null;
    if (pair) {
      const key = (r: { database_name: string; schema_name: string; table_name: string }) => JSON.stringify([r.database_name, r.schema_name, r.table_name]);
      const ta = byDay(
        tableRows,
        (r) => r.collected_date,
        key,
        (r) => r.total_bytes,
        pair.a,
      );
      const tb = byDay(
        tableRows,
        (r) => r.collected_date,
        key,
        (r) => r.total_bytes,
        pair.b,
      );
      // The tables' own change over the ledger days: its sign is the jump's when the tables explain it.
      tables = contributors(ta, tb, d.change_bytes).map((c) => {
        const [database_name, schema_name, table_name] = JSON.parse(c.name) as [string, string, string];
        return {
          ...c,
          name: schema_name ? `${database_name}.${schema_name}.${table_name}` : `${database_name}.${table_name}`,
          database_name,
          schema_name,
          table_name,
        };
      });
    }
    return {
      ...d,
      databases: database === undefined && dbBefore.size > 0 && dbAfter.size > 0 ? contributors(dbBefore, dbAfter, d.change_bytes) : null,
      tables,
      parts: pa && pb ? contributors(pa, pb, d.change_bytes) : null,
      tables_from: pair?.a ?? null,
      tables_to: pair?.b ?? null,
    };
  });
}
