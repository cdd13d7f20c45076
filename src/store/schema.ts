/**
 * Table types for Kysely. Both dialects store the same shapes:
 * - booleans as integers 0/1 (SQLite has no boolean; one codebase),
 * - dates as 'YYYY-MM-DD' text / DATE, timestamps as ISO-8601 UTC text / TIMESTAMPTZ;
 *   db.ts makes `pg` hand both back as the same strings SQLite does,
 * - byte counts as BIGINT, returned as JS numbers (db.ts parses int8).
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Id = Generated<number>;
/** ISO timestamp written by the app. */
type Ts = string;
type Flag = number; // 0 | 1

export interface UsersTable {
  id: Id;
  username: string;
  password_hash: string;
  role: string;
  is_active: Flag;
  locale: string | null;
  created_at: Ts;
  updated_at: Ts;
  /** 0008_security: failed logins in a row, and the end of a lockout. */
  failed_logins: ColumnType<number, number | undefined, number>;
  locked_until: Ts | null;
}

export interface ApiTokensTable {
  id: Id;
  user_id: number;
  name: string;
  token_hash: string;
  token_prefix: string;
  created_at: Ts;
  last_used_at: Ts | null;
  expires_at: Ts | null;
  revoked_at: Ts | null;
}

export interface WebSessionsTable {
  id: string; // sha256 of the cookie value
  user_id: number;
  csrf_token: string;
  created_at: Ts;
  expires_at: Ts;
  source_ip: string | null;
}

export interface CredentialsTable {
  id: Id;
  name: string;
  db_type: string | null;
  username: string;
  password_enc: string;
  key_id: string;
  created_at: Ts;
  updated_at: Ts;
}

export interface InstancesTable {
  id: Id;
  name: string;
  db_type: string;
  host: string;
  port: number;
  database_name: string | null;
  credential_id: number | null;
  is_active: Flag;
  description: string | null;
  tags: string; // JSON array
  options: string; // JSON object
  last_connected: Ts | null;
  total_size_bytes: number | null;
  database_count: number | null;
  last_sync_status: string | null;
  last_sync_at: Ts | null;
  last_sync_error: string | null;
  /** `last_sync_error` by key: JSON `{key, params}` (migration 0022); null on older rows. */
  last_sync_error_msg: string | null;
  created_at: Ts;
  updated_at: Ts;
  /** 0011: TLS material (CA, client cert and key, PEM) as JSON, encrypted like credentials; null: none. */
  tls_enc: Generated<string | null>;
  /** 0011: what may be shown of it, JSON (`TlsInfo`: subjects, expiry dates, whether a key is set). */
  tls_info: Generated<string | null>;
}

export interface InstanceDatabasesTable {
  id: Id;
  instance_id: number;
  database_name: string;
  is_system: Flag;
  first_seen_date: string;
  last_seen_date: string;
  is_deleted: Flag;
  deleted_at: Ts | null;
  created_at: Ts;
  updated_at: Ts;
}

export interface DatabaseSizeStatsTable {
  id: Id;
  instance_id: number;
  database_name: string;
  collected_date: string;
  size_bytes: number | null;
  data_bytes: number | null;
  index_bytes: number | null;
  log_bytes: number | null;
  free_bytes: number | null;
  used_bytes: number | null;
  max_bytes: number | null;
  /** A SQL Server database snapshot (bytes on disk); left out of the instance total. Defaults to 0. */
  is_snapshot: ColumnType<Flag, Flag | undefined, Flag>;
  /** Availability-group role of this copy (PRIMARY, SECONDARY, RESOLVING, UNKNOWN); NULL outside a group. SECONDARY is left out of the instance total. */
  replica_role: ColumnType<string | null, string | null | undefined, string | null>;
  /** SQL Server sys.databases.group_database_id: the same availability-group database on every replica. */
  replica_group_id: ColumnType<string | null, string | null | undefined, string | null>;
  method: string;
  error: string | null;
  /** 0012_measurement: a remark that is not an error (e.g. "does not accept connections"). */
  note: string | null;
  /** 0027: `error` / `note` by key, `{"key", "params"}` as JSON; NULL before, or when the text has no key. */
  error_msg: ColumnType<string | null, string | null | undefined, string | null>;
  note_msg: ColumnType<string | null, string | null | undefined, string | null>;
  /** 0018_mysql_auto: bytes of the database's own files (MySQL/MariaDB InnoDB FILE_SIZE); NULL when no file was read. */
  allocated_bytes: ColumnType<number | null, number | null | undefined, number | null>;
  collected_at: Ts;
  is_deleted: Flag;
  deleted_at: Ts | null;
  created_at: Ts;
  updated_at: Ts;
}

export interface InstanceSizeStatsTable {
  id: Id;
  instance_id: number;
  collected_date: string;
  total_size_bytes: number;
  data_bytes: number | null;
  log_bytes: number | null;
  database_count: number;
  collected_at: Ts;
}

/** 0013: the per-sync series: the instance total (database_name '') and each measured database's size at each sync. */
export interface SyncSizePointsTable {
  id: Id;
  instance_id: number;
  database_name: string;
  size_bytes: number;
  collected_at: Ts;
}

export interface SyncSessionsTable {
  id: Id;
  session_id: string;
  sync_type: string;
  sync_category: string;
  status: string;
  started_at: Ts;
  completed_at: Ts | null;
  total_instances: number;
  successful_instances: number;
  failed_instances: number;
  created_by: number | null;
  /** Process running the session (local mode); null when a queue runs it. */
  owner: string | null;
  heartbeat_at: Ts | null;
  /** Set when someone asked to cancel the session (0009). */
  cancel_requested_at: Ts | null;
  cancelled_by: number | null;
}

export interface SyncInstanceRecordsTable {
  id: Id;
  session_id: string;
  instance_id: number;
  instance_name: string;
  status: string;
  started_at: Ts | null;
  completed_at: Ts | null;
  duration_ms: number | null;
  attempt: number;
  databases_count: number | null;
  saved_count: number | null;
  created_count: number | null;
  updated_count: number | null;
  deleted_count: number | null;
  restored_count: number | null;
  total_size_bytes: number | null;
  error_code: string | null;
  error_message: string | null;
  /** `error_message` by key: JSON `{key, params}` (migration 0022); null on older rows and unkeyed errors. */
  error_msg: string | null;
  details: string | null; // JSON
  /** The lock holder (host:pid:uuid) while running. */
  holder: string | null;
}

export interface SyncLocksTable {
  instance_id: number;
  holder: string;
  acquired_at: Ts;
  expires_at: Ts;
}

/** A connection (or a running sync) held by a process, under a cap (migration 0020). */
export interface ConnectionSlotsTable {
  scope: string;
  slot: number;
  holder: string;
  purpose: string;
  acquired_at: Ts;
  expires_at: Ts;
}

export interface AuditLogTable {
  id: Id;
  at: Ts;
  user_id: number | null;
  username: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  source_ip: string | null;
  details: string | null; // JSON, secrets removed
}

export interface SettingsTable {
  key: string;
  value: string; // JSON
  updated_at: Ts;
  updated_by: string | null;
}

export interface SchedulerRunsTable {
  id: Id;
  job: string;
  scheduled_for: Ts;
  started_at: Ts;
  finished_at: Ts | null;
  status: string;
  owner: string;
  session_id: string | null;
  message: string | null;
}

/** Per-period statistics (see the aggregation service); database_name is '' for the instance scope. */
export interface AggregationsTable {
  id: Id;
  scope: 'instance' | 'database';
  instance_id: number;
  database_name: string;
  period: 'daily' | 'weekly' | 'monthly' | 'quarterly';
  period_start: string;
  period_end: string;
  avg_bytes: number;
  max_bytes: number;
  min_bytes: number;
  last_bytes: number;
  days_with_data: number;
  change_bytes: number | null;
  change_pct: number | null;
  trend: 'growing' | 'shrinking' | 'stable' | 'unknown';
  computed_at: Ts;
}

/** One row per running `serve`/`worker` (tag = PROCESS_TAG), beaten every heartbeat. */
export interface ProcessesTable {
  tag: string;
  role: string;
  host: string;
  pid: number;
  version: string;
  started_at: Ts;
  last_seen_at: Ts;
  running_jobs: number;
  /** 1: works queued jobs (a worker, a `serve` without --no-work); 0: API and scheduler only. */
  works: Generated<number>;
}

/** One piece of a scheduler run's nightly extras, run as a queued job (queue mode; see daily-jobs.service.ts). */
export interface DailyTasksTable {
  id: Id;
  run_id: number;
  kind: string;
  subject: string;
  stage: number;
  /** JSON: what the task needs to run the same way twice (the aggregation window, the run's time). */
  params: string;
  /** waiting (stage 2, until stage 1 is over) → pending → running → completed | failed */
  status: string;
  holder: string | null;
  lock_expires_at: Ts | null;
  attempt: Generated<number>;
  queued_at: Ts;
  started_at: Ts | null;
  finished_at: Ts | null;
  message: string | null;
}

/** Facts every process of the estate must agree on (e.g. `time_zone`). */
export interface EstateTable {
  key: string;
  value: string;
  updated_at: Ts;
}

export interface Database {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  web_sessions: WebSessionsTable;
  credentials: CredentialsTable;
  instances: InstancesTable;
  instance_databases: InstanceDatabasesTable;
  database_size_stats: DatabaseSizeStatsTable;
  instance_size_stats: InstanceSizeStatsTable;
  sync_size_points: SyncSizePointsTable;
  sync_sessions: SyncSessionsTable;
  sync_instance_records: SyncInstanceRecordsTable;
  sync_locks: SyncLocksTable;
  /** Table-size syncs, one row per instance (same shape as sync_locks, its own key space). */
  table_sync_locks: SyncLocksTable;
  connection_slots: ConnectionSlotsTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
  scheduler_runs: SchedulerRunsTable;
  alert_rules: AlertRulesTable;
  alert_events: AlertEventsTable;
  alert_deliveries: AlertDeliveriesTable;
  aggregations: AggregationsTable;
  table_names: TableNamesTable;
  table_size_stats: TableSizeStatsTable;
  processes: ProcessesTable;
  estate: EstateTable;
  instance_composition: InstanceCompositionTable;
  daily_tasks: DailyTasksTable;
  runway_fits: RunwayFitsTable;
  runway_fit_instances: RunwayFitInstancesTable;
  runway_fit_runs: RunwayFitRunsTable;
}

export type UserRow = Selectable<UsersTable>;
export type CredentialRow = Selectable<CredentialsTable>;
export type InstanceRow = Selectable<InstancesTable>;
export type NewInstance = Insertable<InstancesTable>;
export type InstanceUpdate = Updateable<InstancesTable>;
export type InstanceDatabaseRow = Selectable<InstanceDatabasesTable>;
export type DatabaseSizeStatRow = Selectable<DatabaseSizeStatsTable>;
export type InstanceSizeStatRow = Selectable<InstanceSizeStatsTable>;
export type SyncSessionRow = Selectable<SyncSessionsTable>;
export type SyncInstanceRecordRow = Selectable<SyncInstanceRecordsTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type AggregationRow = Selectable<AggregationsTable>;
export type { ColumnType };

/** Table-level capacity (0006): the name dimension and lifecycle of every table seen. */
export interface TableNamesTable {
  id: Id;
  instance_id: number;
  database_name: string;
  /** '' where the engine has no schema level (MySQL) and on "other" rows. */
  schema_name: string;
  /** '' on the "other" row of a database cut by the budget. */
  table_name: string;
  kind: string; // table | partitioned | partition | matview | other
  parent_id: number | null;
  first_seen_date: string;
  last_seen_date: string;
  is_deleted: Flag;
  deleted_at: Ts | null;
}

/** One narrow row per (table, day). */
export interface TableSizeStatsTable {
  table_id: number;
  collected_date: string;
  total_bytes: number | null;
  data_bytes: number | null;
  index_bytes: number | null;
  lob_bytes: number | null;
  free_bytes: number | null;
  row_estimate: number | null;
  table_count: number | null;
  method: number;
  is_deleted: Flag;
}

export interface AlertRulesTable {
  id: Generated<number>;
  name: string;
  kind: string;
  instance_id: number | null;
  db_type: string | null;
  tag: string | null;
  database_pattern: string | null;
  threshold: number | null;
  window: string | null;
  consecutive: number | null;
  limit_bytes: number | null;
  is_active: number;
  channels: string; // JSON array of {type, url}
  created_at: Ts;
  updated_at: Ts;
}

export interface AlertEventsTable {
  id: Generated<number>;
  rule_id: number;
  dedup_key: string;
  /** = dedup_key while firing, NULL once resolved (UNIQUE). */
  open_key: string | null;
  instance_id: number | null;
  instance_name: string | null;
  database_name: string | null;
  state: string;
  value: number | null;
  message: string;
  /** `message` by key: `{"key", "params"}` JSON (migration 0026); null on events stored before. */
  message_msg: string | null;
  fired_at: Ts;
  resolved_at: Ts | null;
  last_evaluated_at: Ts;
}

export interface AlertDeliveriesTable {
  id: Generated<number>;
  event_id: number;
  transition: string;
  channel: string;
  url: string;
  attempt: number;
  status: string;
  http_status: number | null;
  error: string | null;
  log: string; // JSON array of attempts
  next_attempt_at: Ts | null;
  created_at: Ts;
  updated_at: Ts;
}

/** Where an instance's bytes went, one row per (instance, day) (0014). */
export interface InstanceCompositionTable {
  id: Id;
  instance_id: number;
  collected_date: string;
  parts: string; // JSON CompositionPart[]
  ceiling_bytes: number | null;
  ceiling_source: string | null;
  disk_used_bytes: number | null;
  /** 0018: JSON — the ceiling's detail (SQL Server volumes) or why it is unknown; NULL before 0018. */
  ceiling_detail: ColumnType<string | null, string | null | undefined, string | null>;
  method: string;
  collected_at: Ts;
}

/** The runway's fit of one series for the day (0027; services/runway.service.ts). */
export interface RunwayFitsTable {
  scope: string;
  instance_id: number;
  database_name: string;
  fit: string | null; // JSON RunwayFit
  max_bytes: number | null;
}

/** Per scope, each instance fitted and its last_sync_at then ('' when never synced) (0027). */
export interface RunwayFitInstancesTable {
  scope: string;
  instance_id: number;
  stamp: string;
}

/** Per scope: the day `runway_fits` was fitted for and the ledgers' highest ids then (0027). */
export interface RunwayFitRunsTable {
  scope: string;
  day: string;
  instance_stats_id: number;
  database_stats_id: number;
  computed_at: Ts;
}
