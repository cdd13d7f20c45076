/**
 * `whalefall.yaml`: every environment variable of src/config.ts as a file
 * key (path by `--config` or WHALEFALL_CONFIG). Precedence, highest first:
 * command-line flags > environment > file > defaults. The file is checked
 * as a whole and every mistake gets its own message (unknown key, wrong
 * type, bad value — cron, time zone, range — each named by its file key).
 * Validation itself is loadConfig's: a file value goes through the same
 * parser as its environment variable, so the two can never disagree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, loadConfig, type Config } from './config.js';
import { redactUrl } from './store/db.js';

type KeyType = 'string' | 'integer' | 'boolean';

interface FileKey {
  /** Key in whalefall.yaml. */
  key: string;
  /** The environment variable it mirrors. */
  env: string;
  /** Its field in Config. */
  field: keyof Config;
  type: KeyType;
  /** Never printed: `config check` shows `***` (a URL loses its password). */
  secret?: boolean;
  /** Relative paths in the file are relative to the file. */
  path?: boolean;
}

/** Every environment variable Whalefall reads, as a file key. A test checks none is missing. */
export const FILE_KEYS: FileKey[] = [
  { key: 'host', env: 'HOST', field: 'host', type: 'string' },
  { key: 'port', env: 'PORT', field: 'port', type: 'integer' },
  { key: 'data_dir', env: 'WHALEFALL_DATA_DIR', field: 'dataDir', type: 'string', path: true },
  { key: 'database_url', env: 'DATABASE_URL', field: 'databaseUrl', type: 'string', secret: true },
  { key: 'secret_key', env: 'WHALEFALL_SECRET_KEY', field: 'secretKey', type: 'string', secret: true },
  { key: 'admin_password', env: 'WHALEFALL_ADMIN_PASSWORD', field: 'adminPassword', type: 'string', secret: true },
  { key: 'time_zone', env: 'WHALEFALL_TZ', field: 'timeZone', type: 'string' },
  { key: 'scheduler', env: 'WHALEFALL_SCHEDULER', field: 'scheduler', type: 'boolean' },
  { key: 'sync_cron', env: 'WHALEFALL_SYNC_CRON', field: 'syncCron', type: 'string' },
  { key: 'aggregation_cron', env: 'WHALEFALL_AGGREGATION_CRON', field: 'aggregationCron', type: 'string' },
  { key: 'sync_retries', env: 'WHALEFALL_SYNC_RETRIES', field: 'syncRetries', type: 'integer' },
  { key: 'retry_base_delay_ms', env: 'WHALEFALL_RETRY_BASE_DELAY_MS', field: 'retryBaseDelayMs', type: 'integer' },
  { key: 'sync_catch_up', env: 'WHALEFALL_SYNC_CATCH_UP', field: 'catchUp', type: 'boolean' },
  { key: 'queue_maintenance_seconds', env: 'WHALEFALL_QUEUE_MAINTENANCE_SECONDS', field: 'queueMaintenanceSeconds', type: 'integer' },
  { key: 'sync_concurrency', env: 'WHALEFALL_SYNC_CONCURRENCY', field: 'syncConcurrency', type: 'integer' },
  { key: 'process_concurrency', env: 'WHALEFALL_PROCESS_CONCURRENCY', field: 'processConcurrency', type: 'integer' },
  { key: 'connections_per_instance', env: 'WHALEFALL_CONNECTIONS_PER_INSTANCE', field: 'connectionsPerInstance', type: 'integer' },
  { key: 'connections_total', env: 'WHALEFALL_CONNECTIONS_TOTAL', field: 'connectionsTotal', type: 'integer' },
  { key: 'connection_wait_ms', env: 'WHALEFALL_CONNECTION_WAIT_MS', field: 'connectionWaitMs', type: 'integer' },
  { key: 'sync_points_days', env: 'WHALEFALL_SYNC_POINTS_DAYS', field: 'syncPointsDays', type: 'integer' },
  { key: 'import_max_rows', env: 'WHALEFALL_IMPORT_MAX_ROWS', field: 'importMaxRows', type: 'integer' },
  { key: 'import_max_bytes', env: 'WHALEFALL_IMPORT_MAX_BYTES', field: 'importMaxBytes', type: 'integer' },
  { key: 'chromium', env: 'WHALEFALL_CHROMIUM', field: 'chromiumPath', type: 'string', path: true },
  { key: 'connect_timeout_ms', env: 'WHALEFALL_CONNECT_TIMEOUT_MS', field: 'connectTimeoutMs', type: 'integer' },
  { key: 'sync_timeout_ms', env: 'WHALEFALL_SYNC_TIMEOUT_MS', field: 'syncTimeoutMs', type: 'integer' },
  { key: 'queue', env: 'WHALEFALL_QUEUE', field: 'queue', type: 'string' },
  { key: 'store_pool_max', env: 'WHALEFALL_STORE_POOL_MAX', field: 'storePoolMax', type: 'integer' },
  { key: 'queue_pool_max', env: 'WHALEFALL_QUEUE_POOL_MAX', field: 'queuePoolMax', type: 'integer' },
  { key: 'store_connect_timeout_ms', env: 'WHALEFALL_STORE_CONNECT_TIMEOUT_MS', field: 'storeConnectTimeoutMs', type: 'integer' },
  { key: 'store_statement_timeout_ms', env: 'WHALEFALL_STORE_STATEMENT_TIMEOUT_MS', field: 'storeStatementTimeoutMs', type: 'integer' },
  { key: 'store_prepare', env: 'WHALEFALL_STORE_PREPARE', field: 'storePrepare', type: 'boolean' },
  { key: 'lease_ms', env: 'WHALEFALL_LEASE_MS', field: 'leaseMs', type: 'integer' },
  { key: 'heartbeat_ms', env: 'WHALEFALL_HEARTBEAT_MS', field: 'heartbeatMs', type: 'integer' },
  { key: 'work', env: 'WHALEFALL_WORK', field: 'work', type: 'boolean' },
  { key: 'log_level', env: 'LOG_LEVEL', field: 'logLevel', type: 'string' },
  { key: 'cookie_secure', env: 'WHALEFALL_COOKIE_SECURE', field: 'cookieSecure', type: 'boolean' },
  { key: 'session_ttl_hours', env: 'WHALEFALL_SESSION_TTL_HOURS', field: 'sessionTtlHours', type: 'integer' },
  { key: 'login_rate_limit', env: 'WHALEFALL_LOGIN_RATE_LIMIT', field: 'loginRateLimit', type: 'integer' },
  { key: 'metrics_token', env: 'WHALEFALL_METRICS_TOKEN', field: 'metricsToken', type: 'string', secret: true },
  { key: 'metrics_database_names', env: 'WHALEFALL_METRICS_DATABASE_NAMES', field: 'metricsDatabaseNames', type: 'string' },
  { key: 'metrics_databases_per_instance', env: 'WHALEFALL_METRICS_DATABASES_PER_INSTANCE', field: 'metricsDatabasesPerInstance', type: 'integer' },
  { key: 'metrics_min_database_bytes', env: 'WHALEFALL_METRICS_MIN_DATABASE_BYTES', field: 'metricsMinDatabaseBytes', type: 'integer' },
  { key: 'login_lockout_attempts', env: 'WHALEFALL_LOGIN_LOCKOUT_ATTEMPTS', field: 'loginLockoutAttempts', type: 'integer' },
  { key: 'login_lockout_minutes', env: 'WHALEFALL_LOGIN_LOCKOUT_MINUTES', field: 'loginLockoutMinutes', type: 'integer' },
  { key: 'webhook_allow_networks', env: 'WHALEFALL_WEBHOOK_ALLOW_NETWORKS', field: 'webhookAllowNetworks', type: 'string' },
  { key: 'webhook_deny_networks', env: 'WHALEFALL_WEBHOOK_DENY_NETWORKS', field: 'webhookDenyNetworks', type: 'string' },
  { key: 'token_default_days', env: 'WHALEFALL_TOKEN_DEFAULT_DAYS', field: 'tokenDefaultDays', type: 'integer' },
  { key: 'http_request_timeout_ms', env: 'WHALEFALL_HTTP_REQUEST_TIMEOUT_MS', field: 'httpRequestTimeoutMs', type: 'integer' },
  { key: 'http_connection_timeout_ms', env: 'WHALEFALL_HTTP_CONNECTION_TIMEOUT_MS', field: 'httpConnectionTimeoutMs', type: 'integer' },
  { key: 'http_keep_alive_timeout_ms', env: 'WHALEFALL_HTTP_KEEP_ALIVE_TIMEOUT_MS', field: 'httpKeepAliveTimeoutMs', type: 'integer' },
  { key: 'http_max_requests_per_socket', env: 'WHALEFALL_HTTP_MAX_REQUESTS_PER_SOCKET', field: 'httpMaxRequestsPerSocket', type: 'integer' },
  { key: 'discovery', env: 'WHALEFALL_DISCOVERY', field: 'discovery', type: 'boolean' },
  { key: 'tables_max_tables', env: 'WHALEFALL_TABLES_MAX_TABLES', field: 'tablesMaxTables', type: 'integer' },
  { key: 'tables_max_seconds', env: 'WHALEFALL_TABLES_MAX_SECONDS', field: 'tablesMaxSeconds', type: 'integer' },
  { key: 'tables_daily', env: 'WHALEFALL_TABLES_DAILY', field: 'tablesDaily', type: 'boolean' },
  { key: 'tables_daily_top', env: 'WHALEFALL_TABLES_DAILY_TOP', field: 'tablesDailyTop', type: 'integer' },
  { key: 'tables_daily_growth', env: 'WHALEFALL_TABLES_DAILY_GROWTH', field: 'tablesDailyGrowth', type: 'integer' },
  { key: 'tables_daily_days', env: 'WHALEFALL_TABLES_DAILY_DAYS', field: 'tablesDailyDays', type: 'integer' },
  { key: 'tables_weekly_days', env: 'WHALEFALL_TABLES_WEEKLY_DAYS', field: 'tablesWeeklyDays', type: 'integer' },
  { key: 'shutdown_timeout_ms', env: 'WHALEFALL_SHUTDOWN_TIMEOUT_MS', field: 'shutdownTimeoutMs', type: 'integer' },
  { key: 'smtp_url', env: 'WHALEFALL_SMTP_URL', field: 'smtpUrl', type: 'string', secret: true },
  { key: 'smtp_from', env: 'WHALEFALL_SMTP_FROM', field: 'smtpFrom', type: 'string' },
  { key: 'digest_recipients', env: 'WHALEFALL_DIGEST_RECIPIENTS', field: 'digestRecipients', type: 'string' },
  { key: 'digest_cron', env: 'WHALEFALL_DIGEST_CRON', field: 'digestCron', type: 'string' },
  { key: 'trust_proxy', env: 'WHALEFALL_TRUST_PROXY', field: 'trustProxy', type: 'string' },
];

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export type Source = 'flag' | 'env' | 'file' | 'default';

export interface ResolvedConfig {
  config: Config;
  /** The file read, if any. */
  file: string | undefined;
  /** Where each environment variable's effective value came from. */
  sources: Record<string, Source>;
}

/** Read and check a whalefall.yaml; returns its values as environment variables. Throws every mistake at once. */
export function readConfigFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read the configuration file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(doc.errors.map((e) => `${file}: not valid YAML: ${e.message.split('\n')[0]}`).join('\n'));
  const data: unknown = doc.toJS() ?? {};
  if (typeof data !== 'object' || Array.isArray(data) || data === null) throw new ConfigError(`${file}: must be a mapping of key: value`);
  const byKey = new Map(FILE_KEYS.map((k) => [k.key, k]));
  const out: Record<string, string> = {};
  const mistakes: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    const spec = byKey.get(key);
    if (!spec) {
      const near = FILE_KEYS.find((k) => k.key.replace(/_/g, '') === key.toLowerCase().replace(/[_-]/g, '') || k.env === key);
      mistakes.push(`${file}: unknown key "${key}"${near ? ` (did you mean "${near.key}"?)` : ''}`);
      continue;
    }
    if (value === null || value === undefined) continue; // `key:` with nothing = not set
    const got = Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
    if (spec.type === 'integer' && !(typeof value === 'number' && Number.isInteger(value))) {
      mistakes.push(`${file}: ${key} must be an integer, got ${got}`);
      continue;
    }
    if (spec.type === 'boolean' && typeof value !== 'boolean') {
      mistakes.push(`${file}: ${key} must be true or false, got ${got}`);
      continue;
    }
    if (spec.type === 'string' && typeof value !== 'string') {
      mistakes.push(`${file}: ${key} must be a string, got ${got}`);
      continue;
    }
    let v = String(value);
    if (spec.path) v = path.resolve(path.dirname(path.resolve(file)), v);
    // The value's own check is loadConfig's, on this one variable alone; its message is renamed to the file key.
    const problem = checkOne(spec, v);
    if (problem) mistakes.push(`${file}: ${problem}`);
    else out[spec.env] = v;
  }
  if (mistakes.length) throw new ConfigError(mistakes.join('\n'));
  return out;
}

/** loadConfig's verdict on one variable, in the file's words (else the variable's); undefined when fine. */
function checkOne(spec: FileKey, value: string, words: 'file' | 'env' = 'file'): string | undefined {
  if (spec.env === 'LOG_LEVEL' && !LOG_LEVELS.includes(value))
    return `${words === 'file' ? 'log_level' : 'LOG_LEVEL'} must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`;
  try {
    loadConfig({ [spec.env]: value });
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (words === 'env') return err.message;
    return err.message
      .split(spec.env)
      .join(spec.key)
      .replace(/\bon or off\b/, 'true or false');
  }
}

/**
 * The effective configuration: `flags` (environment-variable names → values
 * from the command line) over `env` over the file (`--config`, else
 * WHALEFALL_CONFIG) over defaults.
 */
export function resolveConfig(opts: { env?: NodeJS.ProcessEnv; flags?: Record<string, string | undefined>; configFile?: string } = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const file = opts.configFile ?? (env.WHALEFALL_CONFIG || undefined);
  const fromFile = file ? readConfigFile(file) : {};
  const merged: Record<string, string> = {};
  const sources: Record<string, Source> = {};
  const set = (src: Record<string, string | undefined>, source: Source) => {
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined || v === '') continue;
      merged[k] = v;
      sources[k] = source;
    }
  };
  set(fromFile, 'file');
  set(Object.fromEntries(FILE_KEYS.map((k) => [k.env, env[k.env]])), 'env');
  set(opts.flags ?? {}, 'flag');
  // Every variable's own check first, so a start or `config check` names every mistake, not the first one.
  const mistakes = FILE_KEYS.flatMap((k) => (merged[k.env] === undefined ? [] : (checkOne(k, merged[k.env]!, 'env') ?? [])));
  if (mistakes.length) throw new ConfigError(mistakes.join('\n'));
  const config = loadConfig(merged);
  for (const k of FILE_KEYS) sources[k.env] ??= 'default';
  return { config, file, sources };
}

/** A setting's value as `config check --json` gives it: numbers, booleans and lists as such, null when unset. */
export type ConfigValue = string | number | boolean | string[] | null;

/**
 * `whalefall config check`: one line per key — file key, effective value (secrets masked; null when unset,
 * numbers, booleans and lists as such), source.
 */
export function describeConfig(r: ResolvedConfig): { key: string; env: string; value: ConfigValue; source: Source }[] {
  return FILE_KEYS.map((k) => {
    const raw = r.config[k.field];
    let value: ConfigValue;
    if (raw === undefined || raw === null || raw === '') value = null;
    else if (k.secret) value = k.env === 'DATABASE_URL' || k.env === 'WHALEFALL_SMTP_URL' ? redactUrl(String(raw)) : '***';
    else value = typeof raw === 'number' || typeof raw === 'boolean' || Array.isArray(raw) ? raw : String(raw);
    return { key: k.key, env: k.env, value, source: r.sources[k.env] ?? 'default' };
  });
}
