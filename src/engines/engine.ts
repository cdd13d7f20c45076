/**
 * The collector interface: one engine = one folder + one line in registry.ts.
 *
 * Life of a collection: `connect(target)` (bounded by connectTimeoutMs) →
 * `session.collect()` (each query bounded by queryTimeoutMs) → `session.close()`.
 * Drivers' errors leave an engine only as `SyncError`s, classified by the
 * engine's own `classifyError`, with the password scrubbed from the message.
 */
import type { SyncError } from '../lib/errors.js';

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
  | { kind: 'enum'; values: readonly string[]; description: string };

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
  /** GRANT (or equivalent) statements that fix it. */
  fix?: string[];
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
}

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
  /** The most it can grow to when known (Oracle autoextend MAXBYTES); null/absent = unknown or unlimited. */
  max_bytes?: number | null;
  method: string;
  error?: string;
}

export interface Collection {
  databases: CollectedDatabase[];
  /** Names present on the server but left out by an exclusion rule (set by the sync service). */
  excluded?: string[];
  /** Things the DBA should know (e.g. "2 databases could not be measured"). */
  warnings: string[];
  server_version: string | null;
}

export interface EngineSession {
  serverVersion(): Promise<string>;
  collect(): Promise<Collection>;
  /** Which grants the collector needs are present, for `whalefall doctor`. */
  doctor(): Promise<PrivilegeCheck[]>;
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
  connect(target: ConnectTarget): Promise<EngineSession>;
  /** Turn any driver error into a classified SyncError (password already scrubbed by the caller's target). */
  classifyError(err: unknown, target: ConnectTarget): SyncError;
}
