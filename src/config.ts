/**
 * Every environment variable Whalefall reads, typed, with its default.
 * The README's configuration table mirrors this file; keep them together.
 */
import path from 'node:path';
import { Cron } from 'croner';
import { parseCidr } from './lib/net-policy.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** unset → SQLite file `${dataDir}/whalefall.db`; `postgres://…` → PostgreSQL store. */
  databaseUrl: string | undefined;
  secretKey: string | undefined;
  adminPassword: string | undefined;
  timeZone: string;
  scheduler: boolean;
  syncCron: string;
  aggregationCron: string;
  syncRetries: number;
  retryBaseDelayMs: number;
  catchUp: boolean;
  /** Days the per-sync series (sync_size_points) is kept (a setting overrides it). */
  syncPointsDays: number;
  /** pg-boss maintenance (expiry of jobs whose worker died) interval. */
  queueMaintenanceSeconds: number;
  syncConcurrency: number;
  /** The most syncs this process runs at once (0: the sync_concurrency setting, which bounds the whole estate). */
  processConcurrency: number;
  /** Connections at once to one monitored instance, from every process on the store (a setting overrides it). */
  connectionsPerInstance: number;
  /** Connections at once to all monitored instances, from every process on the store (a setting overrides it). */
  connectionsTotal: number;
  /** How long a test connection, doctor, table or composition request waits for a connection slot before 429. */
  connectionWaitMs: number;
  connectTimeoutMs: number;
  syncTimeoutMs: number;
  queue: 'local' | 'pg-boss';
  /** PostgreSQL store pool size per process (the queue has its own, queuePoolMax). */
  storePoolMax: number;
  /** pg-boss pool size per process. */
  queuePoolMax: number;
  /** Giving up on opening a store connection (PostgreSQL). */
  storeConnectTimeoutMs: number;
  /** PostgreSQL statement_timeout of store connections (0: none). */
  storeStatementTimeoutMs: number;
  /** Prepare repeated store and queue statements by name (opt-in: see docs/operations.md, "Prepared statements"). */
  storePrepare: boolean;
  /** A sync lock expires this long after its last renewal; running work renews it every heartbeat. */
  leaseMs: number;
  /** How often a process beats (processes table, lock renewal) and checks for dead processes' work. */
  heartbeatMs: number;
  /** This process works queued jobs (WHALEFALL_WORK=off / `serve --no-work`: an API and scheduler replica). */
  work: boolean;
  logLevel: string;
  /** Set the Secure flag on the session cookie (put Whalefall behind HTTPS). */
  cookieSecure: boolean;
  /** Web session lifetime. */
  sessionTtlHours: number;
  /** Login attempts per IP per minute. */
  loginRateLimit: number;
  /** Bearer token required on /metrics when set. */
  metricsToken: string | undefined;
  /** Database names on /metrics: `token` (only with WHALEFALL_METRICS_TOKEN), `hashed` (keyed hash) or `public`. */
  metricsDatabaseNames: 'token' | 'hashed' | 'public';
  /** Cap of whalefall_database_size_bytes series per instance (largest first). */
  metricsDatabasesPerInstance: number;
  /** Databases below this size get no series. */
  metricsMinDatabaseBytes: number;
  /** Failed logins in a row, per (account, client address), before each further attempt is delayed (0: never). */
  loginLockoutAttempts: number;
  /** The longest delay between two attempts of one (account, address) pair (delays double from 1 s). */
  loginLockoutMinutes: number;
  /** Webhook destinations: only these networks (empty: any), and these refused on top of link-local and metadata addresses. */
  webhookAllowNetworks: string[];
  webhookDenyNetworks: string[];
  /** Days until a new API token expires when none is asked for (`expires_in_days: null`, never, is admin-only). */
  tokenDefaultDays: number;
  /**
   * HTTP server limits in ms (0 turns one off): receiving a whole request (headers and body), a socket with no
   * traffic either way (default: the sync timeout + 60 s, since a request may await a sync), keep-alive idle time.
   */
  httpRequestTimeoutMs: number;
  httpConnectionTimeoutMs: number;
  httpKeepAliveTimeoutMs: number;
  /** Requests served on one keep-alive connection before it is closed (0: no limit). */
  httpMaxRequestsPerSocket: number;
  /** Most rows one instance import (CSV/YAML) may have; the import body limit is `importMaxBytes`. */
  importMaxRows: number;
  importMaxBytes: number;
  /** Network discovery over the API (`POST /api/instances/discover`): off unless asked for. */
  discovery: boolean;
  /** On SIGTERM, how long running syncs may take to finish before they are aborted. */
  shutdownTimeoutMs: number;
  /** SMTP server for email alerts and the digest: smtp://user:pass@host:587 or smtps://…:465; unset = no email. */
  smtpUrl: string | undefined;
  /** The From: of every email. */
  smtpFrom: string;
  /** Daily digest recipients: `a@x.com:en, b@y.cn:zh-CN` (language defaults to zh-CN). */
  digestRecipients: string | undefined;
  /** When the daily digest goes out (WHALEFALL_TZ); on the 1st of a month the same tick also mails the monthly capacity report. */
  digestCron: string;
  /** The chromium executable that prints the monthly report as PDF (`--print-to-pdf`); absent = no PDF. */
  chromiumPath: string;
  /** Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (e.g. 127.0.0.1); unset = none. */
  trustProxy: string[] | undefined;
  /** Table-level sync budget per instance: most table rows kept (largest first; the rest as "other"). */
  tablesMaxTables: number;
  /** Table-level sync budget per instance: seconds (checked between databases). */
  tablesMaxSeconds: number;
  /** Daily table sync after the aggregation job (off: on demand only). */
  tablesDaily: boolean;
  /** Daily rule: the N largest databases of each instance. */
  tablesDailyTop: number;
  /** Daily rule: the N databases of each instance that grew most over 7 days. */
  tablesDailyGrowth: number;
  /** Table rows kept daily for this many days, then one a week. */
  tablesDailyDays: number;
  /** Weekly table rows kept this many days, then one a month (kept forever). */
  tablesWeeklyDays: number;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(on|true|1|yes)$/i.test(raw)) return true;
  if (/^(off|false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be on or off, got "${raw}"`);
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], def: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
}

/** A comma-separated list of CIDR networks (`10.0.0.0/8, fd00::/8`). */
function networks(env: NodeJS.ProcessEnv, name: string): string[] {
  const list = (env[name] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const c of list) {
    try {
      parseCidr(c);
    } catch (err) {
      throw new ConfigError(`${name}: ${(err as Error).message}`);
    }
  }
  return list;
}

function cron(env: NodeJS.ProcessEnv, name: string, def: string): string {
  const v = env[name] || def;
  try {
    new Cron(v, { paused: true });
  } catch (err) {
    throw new ConfigError(`${name} is not a valid cron expression: "${v}" (${(err as Error).message})`);
  }
  return v;
}

export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const timeZone = env.WHALEFALL_TZ || systemTimeZone();
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new ConfigError(`WHALEFALL_TZ is not a known time zone: "${timeZone}"`);
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// (unset it to use the embedded SQLite store)');
  }
  const queue = (env.WHALEFALL_QUEUE || 'local') as Config['queue'];
  if (queue !== 'local' && queue !== 'pg-boss') {
    throw new ConfigError(`WHALEFALL_QUEUE must be local or pg-boss, got "${String(queue)}"`);
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 3000, 0, 65535),
    dataDir: path.resolve(env.WHALEFALL_DATA_DIR || './data'),
    databaseUrl,
    secretKey: env.WHALEFALL_SECRET_KEY || undefined,
    adminPassword: env.WHALEFALL_ADMIN_PASSWORD || undefined,
    timeZone,
    scheduler: bool(env, 'WHALEFALL_SCHEDULER', true),
    syncCron: cron(env, 'WHALEFALL_SYNC_CRON', '0 3 * * *'),
    aggregationCron: cron(env, 'WHALEFALL_AGGREGATION_CRON', '0 4 * * *'),
    syncRetries: int(env, 'WHALEFALL_SYNC_RETRIES', 2, 0, 10),
    retryBaseDelayMs: int(env, 'WHALEFALL_RETRY_BASE_DELAY_MS', 2_000, 0, 600_000),
    catchUp: bool(env, 'WHALEFALL_SYNC_CATCH_UP', true),
    syncPointsDays: int(env, 'WHALEFALL_SYNC_POINTS_DAYS', 35, 1, 3650),
    queueMaintenanceSeconds: int(env, 'WHALEFALL_QUEUE_MAINTENANCE_SECONDS', 30, 1, 3600),
    syncConcurrency: int(env, 'WHALEFALL_SYNC_CONCURRENCY', 8, 1, 256),
    processConcurrency: int(env, 'WHALEFALL_PROCESS_CONCURRENCY', 0, 0, 256),
    connectionsPerInstance: int(env, 'WHALEFALL_CONNECTIONS_PER_INSTANCE', 2, 1, 64),
    connectionsTotal: int(env, 'WHALEFALL_CONNECTIONS_TOTAL', 64, 1, 4096),
    connectionWaitMs: int(env, 'WHALEFALL_CONNECTION_WAIT_MS', 10_000, 0, 600_000),
    connectTimeoutMs: int(env, 'WHALEFALL_CONNECT_TIMEOUT_MS', 10_000, 100, 600_000),
    syncTimeoutMs: int(env, 'WHALEFALL_SYNC_TIMEOUT_MS', 300_000, 1_000, 86_400_000),
    queue,
    storePoolMax: int(env, 'WHALEFALL_STORE_POOL_MAX', 6, 1, 1000),
    queuePoolMax: int(env, 'WHALEFALL_QUEUE_POOL_MAX', 2, 1, 100),
    storeConnectTimeoutMs: int(env, 'WHALEFALL_STORE_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    storeStatementTimeoutMs: int(env, 'WHALEFALL_STORE_STATEMENT_TIMEOUT_MS', 60_000, 0, 86_400_000),
    storePrepare: bool(env, 'WHALEFALL_STORE_PREPARE', true),
    leaseMs: int(env, 'WHALEFALL_LEASE_MS', 45_000, 1_000, 86_400_000),
    heartbeatMs: int(env, 'WHALEFALL_HEARTBEAT_MS', 15_000, 200, 3_600_000),
    work: bool(env, 'WHALEFALL_WORK', true),
    logLevel: env.LOG_LEVEL || 'info',
    cookieSecure: bool(env, 'WHALEFALL_COOKIE_SECURE', false),
    sessionTtlHours: int(env, 'WHALEFALL_SESSION_TTL_HOURS', 12, 1, 24 * 90),
    loginRateLimit: int(env, 'WHALEFALL_LOGIN_RATE_LIMIT', 10, 1, 10_000),
    metricsToken: env.WHALEFALL_METRICS_TOKEN || undefined,
    metricsDatabaseNames: oneOf(env, 'WHALEFALL_METRICS_DATABASE_NAMES', ['token', 'hashed', 'public'] as const, 'token'),
    metricsDatabasesPerInstance: int(env, 'WHALEFALL_METRICS_DATABASES_PER_INSTANCE', 50, 0, 10_000),
    metricsMinDatabaseBytes: int(env, 'WHALEFALL_METRICS_MIN_DATABASE_BYTES', 0, 0, Number.MAX_SAFE_INTEGER),
    loginLockoutAttempts: int(env, 'WHALEFALL_LOGIN_LOCKOUT_ATTEMPTS', 10, 0, 1000),
    loginLockoutMinutes: int(env, 'WHALEFALL_LOGIN_LOCKOUT_MINUTES', 15, 1, 24 * 60),
    webhookAllowNetworks: networks(env, 'WHALEFALL_WEBHOOK_ALLOW_NETWORKS'),
    webhookDenyNetworks: networks(env, 'WHALEFALL_WEBHOOK_DENY_NETWORKS'),
    tokenDefaultDays: int(env, 'WHALEFALL_TOKEN_DEFAULT_DAYS', 90, 1, 3650),
    httpRequestTimeoutMs: int(env, 'WHALEFALL_HTTP_REQUEST_TIMEOUT_MS', 30_000, 0, 3_600_000),
    // A silent socket, also while a request waits for its answer: longer than the longest sync a request may await.
    httpConnectionTimeoutMs: int(
      env,
      'WHALEFALL_HTTP_CONNECTION_TIMEOUT_MS',
      int(env, 'WHALEFALL_SYNC_TIMEOUT_MS', 300_000, 1_000, 86_400_000) + 60_000,
      0,
      86_400_000,
    ),
    httpKeepAliveTimeoutMs: int(env, 'WHALEFALL_HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 0, 3_600_000),
    httpMaxRequestsPerSocket: int(env, 'WHALEFALL_HTTP_MAX_REQUESTS_PER_SOCKET', 1_000, 0, 1_000_000),
    importMaxRows: int(env, 'WHALEFALL_IMPORT_MAX_ROWS', 20_000, 1, 1_000_000),
    // ~500 bytes a row at the default row cap: a file past it is refused before it is read.
    importMaxBytes: int(env, 'WHALEFALL_IMPORT_MAX_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    discovery: bool(env, 'WHALEFALL_DISCOVERY', false),
    shutdownTimeoutMs: int(env, 'WHALEFALL_SHUTDOWN_TIMEOUT_MS', 30_000, 0, 3_600_000),
    smtpUrl: smtpUrl(env),
    smtpFrom: env.WHALEFALL_SMTP_FROM || 'Whalefall <whalefall@localhost>',
    digestRecipients: env.WHALEFALL_DIGEST_RECIPIENTS || undefined,
    digestCron: cron(env, 'WHALEFALL_DIGEST_CRON', '0 8 * * *'),
    chromiumPath: env.WHALEFALL_CHROMIUM || '/usr/bin/chromium',
    trustProxy: env.WHALEFALL_TRUST_PROXY
      ? env.WHALEFALL_TRUST_PROXY.split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : undefined,
    tablesMaxTables: int(env, 'WHALEFALL_TABLES_MAX_TABLES', 20_000, 1, 10_000_000),
    tablesMaxSeconds: int(env, 'WHALEFALL_TABLES_MAX_SECONDS', 300, 1, 86_400),
    tablesDaily: bool(env, 'WHALEFALL_TABLES_DAILY', true),
    tablesDailyTop: int(env, 'WHALEFALL_TABLES_DAILY_TOP', 5, 0, 10_000),
    tablesDailyGrowth: int(env, 'WHALEFALL_TABLES_DAILY_GROWTH', 5, 0, 10_000),
    tablesDailyDays: int(env, 'WHALEFALL_TABLES_DAILY_DAYS', 90, 7, 36_500),
    tablesWeeklyDays: int(env, 'WHALEFALL_TABLES_WEEKLY_DAYS', 730, 7, 36_500),
  };
}

function smtpUrl(env: NodeJS.ProcessEnv): string | undefined {
  const v = env.WHALEFALL_SMTP_URL || undefined;
  if (v && !/^smtps?:\/\/[^/]+/.test(v)) throw new ConfigError('WHALEFALL_SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465');
  return v;
}
