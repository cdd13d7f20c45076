/**
 * What a collection brings back: the databases (or Oracle tablespaces) of one
 * instance and their sizes. Engines produce it, the sync service passes it on,
 * the store saves it (capacity.repository).
 */

/** A message by key and parameters, shown in the reader's language (the i18n catalogue's `Msg`, by shape: the domain imports nothing). */
export interface KeyedMessage {
  key: string;
  params?: Record<string, string | number | KeyedMessage>;
}

/** A line the DBA should know about: by key, or (older code's) plain text. */
export type Warning = string | KeyedMessage;

/** UNKNOWN: in a group, but the role could not be read (counted where it is, like a database outside any group). */
export type ReplicaRole = 'PRIMARY' | 'SECONDARY' | 'RESOLVING' | 'UNKNOWN';

/**
 * One database (or Oracle tablespace) as collected. Unknown is `null`, never 0.
 * A database that exists but could not be measured has `size_bytes: null` and
 * `error` set: it is present (not deleted), its size is unknown.
 */
export interface CollectedDatabase {
  database_name: string;
  is_system: boolean;
  size_bytes: number | null;
  data_bytes: number | null;
  index_bytes: number | null;
  log_bytes: number | null;
  free_bytes: number | null;
  used_bytes: number | null;
  /** Bytes of the database's own files as the server reports them (MySQL/MariaDB InnoDB tablespace FILE_SIZE); null when not read. */
  allocated_bytes?: number | null;
  /** The most it can grow to when known (Oracle autoextend MAXBYTES); null/absent = unknown or unlimited. */
  max_bytes?: number | null;
  /** A SQL Server database snapshot: on-disk bytes of its sparse files, left out of the instance total. */
  is_snapshot?: boolean;
  /** Availability-group role of this replica's copy (SQL Server); absent when not in a group. Secondaries are left out of the instance total. */
  replica_role?: ReplicaRole | null;
  /** The availability-group database this row is a copy of (sys.databases.group_database_id): the same id on every replica. */
  replica_group_id?: string | null;
  method: string;
  error?: string;
  /** `error` by key (its text is the zh-CN rendering), when it has one. */
  error_msg?: KeyedMessage;
  /** A remark on a measured database that is not an error (e.g. it does not accept connections). */
  note?: string;
  note_msg?: KeyedMessage;
}

export interface Collection {
  databases: CollectedDatabase[];
  /** Names present on the server but left out by an exclusion rule (set by the sync service). */
  excluded?: string[];
  /** Things the DBA should know (e.g. "2 databases could not be measured"): by key, or (older engines' lines) as text. */
  warnings: Warning[];
  server_version: string | null;
}

/** The longest database name an engine allows is 128 characters (SQL Server's sysname, Oracle 12.2+): a longer one is not a name. */
export const MAX_NAME_CHARS = 256;

/** U+0000 (PostgreSQL's text refuses it) and a UTF-16 surrogate without its pair (no UTF-8 form at all). */
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A name every store can hold: each character none can (`UNSTORABLE`) becomes U+FFFD, as a UTF-8 encoder writes a lone surrogate. */
export function storableName(name: string): string {
  return name.replace(UNSTORABLE, '\uFFFD');
}

/**
 * What a server's database names need before a collection is saved (a hostile or broken server chooses them): the
 * databases with storable names (`storableName`), the names that changed, and what keeps the collection from being
 * saved at all — names past MAX_NAME_CHARS, and names given more than once (after the change: two rows for one
 * name cannot both be the database's size, and which to keep is not ours to guess).
 */
export function checkNames(databases: CollectedDatabase[]): { databases: CollectedDatabase[]; replaced: string[]; tooLong: string[]; duplicates: string[] } {
  const replaced: string[] = [];
  const tooLong: string[] = [];
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  const out = databases.map((d) => {
    const name = storableName(d.database_name);
    if (name !== d.database_name) replaced.push(name);
    if (name.length > MAX_NAME_CHARS) tooLong.push(name);
    if (seen.has(name)) duplicates.add(name);
    seen.add(name);
    return name === d.database_name ? d : { ...d, database_name: name };
  });
  return { databases: out, replaced, tooLong, duplicates: [...duplicates] };
}

/**
 * The sizes of a collection added up, and its allocated bytes (each at most 2^53 - 1, `toBytes`): past Number.MAX_SAFE_INTEGER
 * (8 PiB) a sum is no longer exact, and past 2^63 no store column holds it. No instance holds that much: a server
 * that says so is not believed.
 */
export function sizesPastSafe(databases: CollectedDatabase[]): boolean {
  let size = 0;
  let allocated = 0;
  for (const d of databases) {
    size += d.size_bytes ?? 0;
    allocated += d.allocated_bytes ?? 0;
  }
  return size > Number.MAX_SAFE_INTEGER || allocated > Number.MAX_SAFE_INTEGER;
}
