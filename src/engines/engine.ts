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

/** Per-instance options an engine may read (stored as JSON on the instance). */
export interface InstanceOptions {
  /** Overrides WHALEFALL_CONNECT_TIMEOUT_MS for this instance. */
  connect_timeout_ms?: number;
  /** Per-query timeout; defaults to the sync timeout. */
  query_timeout_ms?: number;
  /** MySQL/MariaDB: how sizes are measured. */
  method?: CollectionMethod;
  /** Glob patterns (`*`, `?`, SQL-like `%`, `_`) of database names not to collect. */
  exclude?: string[];
  /** Free-form engine options (ssl, encrypt…) are added per engine as needed. */
  [key: string]: unknown;
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
  method: string;
  error?: string;
}

export interface Collection {
  databases: CollectedDatabase[];
  /** Things the DBA should know (e.g. "2 databases could not be measured"). */
  warnings: string[];
  server_version: string | null;
}

export interface EngineSession {
  serverVersion(): Promise<string>;
  collect(): Promise<Collection>;
  close(): Promise<void>;
}

export interface Engine {
  readonly dbType: DbType;
  readonly label: string;
  readonly defaultPort: number;
  /** True when `database` (service name / maintenance database) must be given. */
  readonly needsDatabaseName: boolean;
  connect(target: ConnectTarget): Promise<EngineSession>;
  /** Turn any driver error into a classified SyncError (password already scrubbed by the caller's target). */
  classifyError(err: unknown, target: ConnectTarget): SyncError;
}
