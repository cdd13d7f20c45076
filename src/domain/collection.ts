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
