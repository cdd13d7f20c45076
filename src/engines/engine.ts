/**
 * The collector interface: one engine = one folder + one line in registry.ts.
 *
 * Life of a collection: `connect(target)` (bounded by connectTimeoutMs) →
 * `session.collect()` (each query bounded by queryTimeoutMs) → `session.close()`.
 * Drivers' errors leave an engine only as `SyncError`s, classified by the
 * engine's own `classifyError`, with the password scrubbed from the message.
 */
import type { SyncError } from '../lib/errors.js';
import type { Msg, Params } from '../client/shared/i18n/index.js';
import type { DbType } from '../domain/db-type.js';
import type { Collection } from '../domain/collection.js';
import type { Composition } from '../domain/composition.js';
import type { TableCollection, TableScope } from '../domain/tables.js';

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

export interface EngineSession {
  serverVersion(): Promise<string>;
  collect(): Promise<Collection>;
  /** Which grants the collector needs are present, for `whalefall doctor`. */
  doctor(): Promise<PrivilegeCheck[]>;
  /** Table-level sizes (see TableScope); absent on an engine that cannot collect them. */
  collectTables?(scope: TableScope): Promise<TableCollection>;
  /** Where the instance's bytes went (see Composition); absent on an engine that cannot tell. */
  composition?(): Promise<Composition>;
  /**
   * Says goodbye and closes. `sent`, when present, settles once the goodbye has left (a session in the collector
   * thread says it there, a message later); without it, it left within the call.
   */
  close(): Closing;
}

/** What `EngineSession.close` returns. */
export type Closing = Promise<void> & { sent?: Promise<void> };

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
   * with each database on the instance page and in the API, by key (the
   * reader's language).
   */
  readonly methodNotes?: Readonly<Record<string, Msg>>;
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
