/**
 * The collector interface: one engine = one folder + one line in registry.ts.
 *
 * Life of a collection: `connect(target)` (bounded by connectTimeoutMs) →
 * `session.collect()` (each query bounded by queryTimeoutMs) → `session.close()`.
 * Drivers' errors leave an engine only as `SyncError`s, classified by the
 * engine's own `classifyError`, with the password scrubbed from the message.
 */
import type { SyncError } from '../lib/errors.js';
import type { Msg, Params } from '../web/i18n/index.js';

export const DB_TYPES = ['mysql', 'mariadb', 'postgresql', 'sqlserver', 'oracle'] as const;
export type DbType = (typeof DB_TYPES)[number];

export type CollectionMethod = 'logical' | 'physical' | 'auto';

/**
 * Per-instance options (stored as JSON on the instance). The common ones are
 * below; an engine declares its own in `Engine.options` and they are
 * validated against that spec (unknown keys are refused).
 */
export interface InstanceOptions {
  /** Overrides the connect timeout setting for this instance. */
  connect_timeout_ms?: number;
  /** Per-query timeout; defaults to the sync timeout. */
  query_timeout_ms?: number;
  /** Glob patterns (`*` or `%` any run, `?` one character) of database names not to collect. */
  exclude?: string[];
  /** Engine-specific options (MySQL `method`, SQL Server `encrypt`…), per `Engine.options`. */
  [key: string]: unknown;
}

/** The shape of one engine-specific option, for validation and the instance form. */
export type OptionSpec =
  | { kind: 'boolean'; description: string }
  | { kind: 'string'; maxLength: number; description: string }
  | { kind: 'integer'; min: number; max: number; description: string }
  | {
      kind: 'enum';
      values: readonly string[];
      description: string;
      /** The value used when the option is absent (MySQL `method`: auto). */
      default?: string;
      /** One line per value: what choosing it means. */
      choices?: Readonly<Record<string, string>>;
    };

/**
 * One privilege the collector relies on, as `doctor` reports it. `ok: false`
 * says what would be under-counted and the exact statement that fixes it.
 */
export interface PrivilegeCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What is missed or under-counted without it. */
  undercounts?: string;
  /** `detail` and `undercounts` by message key, with their `params` (common.ts `check`); absent on older lines. */
  detail_key?: string;
  undercounts_key?: string;
  params?: Params;
  /** GRANT (or equivalent) statements that fix it. */
  fix?: string[];
}

/** PEM material for a TLS connection, decrypted in memory only for the connection (never logged). */
export interface TlsMaterial {
  /** CA certificate(s) the server's certificate must chain to (verify modes). */
  ca?: string;
  /** Client certificate and its private key (optional, PostgreSQL `sslcert`/`sslkey`). */
  cert?: string;
  key?: string;
}

/** Where and as whom to connect. The password lives only in memory, never logged. */
export interface ConnectTarget {
  host: string;
  port: number;
  /** Database / service name where the engine needs one (PostgreSQL maintenance db, Oracle service). */
  database: string | null;
  username: string;
  password: string;
  options: InstanceOptions;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  /** CA / client certificate and key (PEM) for TLS, decrypted from the instance; never logged. */
  tls?: TlsMaterial;
}

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
  /** A remark on a measured database that is not an error (e.g. it does not accept connections). */
  note?: string;
}

export interface Collection {
  databases: CollectedDatabase[];
  /** Names present on the server but left out by an exclusion rule (set by the sync service). */
  excluded?: string[];
  /** Things the DBA should know (e.g. "2 databases could not be measured"): by key, or (older engines' lines) as text. */
  warnings: (string | Msg)[];
  server_version: string | null;
}

export interface EngineSession {
  serverVersion(): Promise<string>;
  collect(): Promise<Collection>;
  /** Which grants the collector needs are present, for `whalefall doctor`. */
  doctor(): Promise<PrivilegeCheck[]>;
  /** Table-level sizes (see TableScope); absent on an engine that cannot collect them. */
  collectTables?(scope: TableScope): Promise<TableCollection>;
  /** Where the instance's bytes went (see Composition); absent on an engine that cannot tell. */
  composition?(): Promise<Composition>;
  close(): Promise<void>;
}

export interface Engine {
  readonly dbType: DbType;
  readonly label: string;
  readonly defaultPort: number;
  /** True when `database` (service name / maintenance database) must be given. */
  readonly needsDatabaseName: boolean;
  /** Engine-specific instance options this engine understands. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /**
   * One line per recorded method name (CollectedDatabase.method): what the
   * number means, and why it differs from the engine's other figures. Shown
   * with each database on the instance page and in the API.
   */
  readonly methodNotes?: Readonly<Record<string, string>>;
  connect(target: ConnectTarget): Promise<EngineSession>;
  /**
   * Connections a session of this kind holds at once, when more than one (the
   * connection caps count them): PostgreSQL's table and composition
   * collections open each database over a second connection.
   */
  readonly sessionConnections?: Partial<Record<'tables' | 'composition', number>>;
  /** Turn any driver error into a classified SyncError (password already scrubbed by the caller's target). */
  classifyError(err: unknown, target: ConnectTarget): SyncError;
}

/**
 * Table-level collection (issue #9). `databases: null` = every database of
 * the instance. The budget is per instance: at most `maxTables` table rows
 * (largest first; the rest of a database summarised as one "other" row) and
 * about `deadline` (ms since epoch, checked between databases: a database
 * not reached in time is reported as cut, not collected).
 */
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
}

export interface TableCollection {
  /** Short method name (e.g. `pg_class`, `information_schema`). */
  method: string;
  databases: CollectedTableDatabase[];
  /** Every database on the server when `scope.databases` was null (to mark the tables of dropped ones deleted). */
  present_databases: string[] | null;
  warnings: string[];
}

/**
 * One part of an instance's space. Parts are disjoint (a byte is in one part
 * only), so they stack. `bytes` null: not measured, with `reason` (a missing
 * grant names it) — never 0 for "unknown".
 */
export interface CompositionPart {
  kind: string;
  bytes: number | null;
  /** Per-kind facts: per database, per slot, per file… */
  detail: Record<string, unknown> | null;
  reason?: string;
}

export interface Composition {
  parts: CompositionPart[];
  /** The most the instance can grow to, as the engine reports it (volume size, autoextend max). */
  ceiling_bytes: number | null;
  ceiling_source: string | null;
  /** Bytes in use on the volumes the engine reports (SQL Server dm_os_volume_stats): what the parts should add up to. */
  disk_used_bytes: number | null;
  /** Where the ceiling came from in detail (SQL Server: each volume's total and free), or `reason` when it could not be read. */
  ceiling_detail?: Record<string, unknown> | null;
  method: string;
}
