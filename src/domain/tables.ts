/**
 * Table-level sizes (issue #9): engines collect them within a budget, the
 * tables service runs the collection, the store saves them (tables.repository).
 */

/**
 * Table-level collection (issue #9). `databases: null` = every database of
 * the instance. The budget is per instance: at most `maxTables` table rows
 * (largest first; the rest of a database summarised as one "other" row) and
 * about `deadline` (ms since epoch, checked between databases: a database
 * not reached in time is reported as cut, not collected).
 */
import { storableName, type KeyedMessage, type Warning } from './collection.js';

export interface TableScope {
  databases: string[] | null;
  maxTables: number;
  deadline: number;
}

export type TableKind = 'table' | 'partitioned' | 'partition' | 'matview' | 'other';

/** One table as collected. Unknown is null, never 0. */
export interface CollectedTable {
  /** '' where the engine has no schema level (MySQL/MariaDB). */
  schema_name: string;
  table_name: string;
  kind: TableKind;
  /** A partition's parent (schema, table) in the same database. */
  parent?: { schema_name: string; table_name: string } | null;
  total_bytes: number | null;
  data_bytes: number | null;
  index_bytes: number | null;
  /** PostgreSQL TOAST, SQL Server LOB + row-overflow, Oracle LOB segments. */
  lob_bytes: number | null;
  /** MySQL data_free, SQL Server reserved − used. */
  free_bytes: number | null;
  row_estimate: number | null;
}

/** What the budget left out of one database: one "other" row. */
export interface TableCut {
  tables: number;
  total_bytes: number;
  data_bytes: number | null;
  index_bytes: number | null;
  lob_bytes: number | null;
  free_bytes: number | null;
}

export interface CollectedTableDatabase {
  database_name: string;
  tables: CollectedTable[];
  /** Set when the table budget cut this database. */
  other?: TableCut;
  /** Not measured at all (no privilege, time budget exhausted…): nothing is saved or marked deleted for it. */
  error?: string;
  /** `error` by key (the reader's language), when the collector gave one. */
  error_msg?: KeyedMessage;
}

export interface TableCollection {
  /** Short method name (e.g. `pg_class`, `information_schema`). */
  method: string;
  databases: CollectedTableDatabase[];
  /** Every database on the server when `scope.databases` was null (to mark the tables of dropped ones deleted). */
  present_databases: string[] | null;
  warnings: Warning[];
}

/** The collection with every name in it storable (`storableName`: U+0000 and lone surrogates become U+FFFD), and how many changed. */
export function storableTables(c: TableCollection): { collection: TableCollection; replaced: number } {
  let replaced = 0;
  const name = (n: string) => {
    const s = storableName(n);
    if (s !== n) replaced++;
    return s;
  };
  const databases = c.databases.map((d) => ({
    ...d,
    database_name: name(d.database_name),
    tables: d.tables.map((t) => ({
      ...t,
      schema_name: name(t.schema_name),
      table_name: name(t.table_name),
      ...(t.parent ? { parent: { schema_name: storableName(t.parent.schema_name), table_name: storableName(t.parent.table_name) } } : {}),
    })),
  }));
  const present = c.present_databases && c.present_databases.map(storableName);
  return replaced ? { collection: { ...c, databases, present_databases: present }, replaced } : { collection: c, replaced };
}
