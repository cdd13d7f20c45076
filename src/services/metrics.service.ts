/**
 * Prometheus metrics (prom-client) on a dedicated Registry, so tests and
 * several contexts in one process never share or double-register series.
 *
 * - Size and sync-state gauges are computed at scrape time from the store
 *   (one query each for the whole estate), so every replica reports the same
 *   truth and nothing is lost on restart.
 * - Counters and the duration histogram are fed by the sync service's events:
 *   they count what THIS process ran (Prometheus sums replicas).
 *
 * The instance's name is the label `instance_name`, never `instance`: Prometheus
 * sets `instance` to the scrape target and would rename ours `exported_instance`,
 * breaking every `on(instance_name)` join.
 *
 * Label cardinality is bounded on purpose:
 *   whalefall_instance_*           one series per instance (labels: instance_name, db_type)
 *   whalefall_database_size_bytes  at most `databasesPerInstance` (default 50) per instance,
 *                                  the largest ones, and only those ≥ `minDatabaseBytes`
 *   sync counters/histogram        status × sync_type / db_type: fixed small sets
 * 5,000 instances × 300 databases therefore scrape as ≤ 250,000 database series
 * at the default, and operators lower the cap (or raise the size floor) as they need.
 *
 * Database names are not public by default (WHALEFALL_METRICS_DATABASE_NAMES):
 *   token   (default) database series only when WHALEFALL_METRICS_TOKEN is set, so only a scrape presenting
 *           it sees them; without a token they are left out and the start logs how to turn them on
 *   hashed  the `database` label is a keyed hash of the name (HMAC-SHA256, key derived from the secret key)
 *   public  database names in clear, for anyone who can reach /metrics
 * Instance-level series are public unless WHALEFALL_METRICS_TOKEN is set.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import type { MetricsRepository } from '../store/metrics.repository.js';
import type { SyncEvents } from './capacity-sync.service.js';
import { CAPACITY_LIMIT_OPTION } from './statistics.service.js';

export interface MetricsOptions {
  repo: MetricsRepository;
  /** capacitySync.events */
  events: EventEmitter<SyncEvents>;
  logger?: Logger;
  /** WHALEFALL_METRICS_TOKEN: when set, a scrape must present it as a bearer token. */
  token?: string;
  /** How database names reach /metrics (WHALEFALL_METRICS_DATABASE_NAMES); default `token`. */
  databaseNames?: DatabaseNames;
  /** The HMAC key of `hashed` mode (derived from the secret key); required in that mode. */
  hashKey?: Buffer;
  /** Cap of database series per instance (the largest first). */
  databasesPerInstance?: number;
  /** Databases smaller than this get no series at all. */
  minDatabaseBytes?: number;
  /** Default process metrics (CPU, memory, event loop, GC); tests may turn them off. */
  processMetrics?: boolean;
  /** Scale-out: figures of the whole estate read from the store at each scrape (queue, processes, sessions). */
  estate?: () => Promise<EstateFigures>;
  /** What each measured instance adds to the estate total, by id (StatisticsService.estateShares). */
  estateBytes?: () => Promise<Map<number, number>>;
}

export interface EstateFigures {
  /** pg-boss jobs of the sync queue by state (created, retry, active, …). */
  jobs: Record<string, number>;
  /** Processes beating now. */
  processes: { role: string; host: string; pid: number; running_jobs: number }[];
  /** Records of running sessions by status. */
  sessions: { session_id: string; status: string; n: number }[];
  /** Unfinished nightly tasks (daily_tasks) by status: waiting, pending, running. */
  nightlyTasks?: Record<string, number>;
}

export const DEFAULT_DATABASES_PER_INSTANCE = 50;

export const DATABASE_NAMES_MODES = ['token', 'hashed', 'public'] as const;
export type DatabaseNames = (typeof DATABASE_NAMES_MODES)[number];

/** The `database` label of hashed mode: `h_` and 16 hex digits (64 bits) of HMAC-SHA256(key, name). */
export function hashedDatabaseLabel(key: Buffer, name: string): string {
  return `h_${createHmac('sha256', key).update(name, 'utf8').digest('hex').slice(0, 16)}`;
}

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export class MetricsService {
  readonly registry = new Registry();
  readonly contentType: string;
  private readonly instanceSize: Gauge<'instance_name' | 'db_type'>;
  private readonly estateBytes: Gauge<'instance_name' | 'db_type'>;
  /** Absent when database series are left out (`token` mode without a token). */
  private readonly databaseSize: Gauge<'instance_name' | 'database'> | undefined;
  private readonly databaseLabel: (name: string) => string;
  /** One line for the start's log when database series are left out; undefined otherwise. */
  readonly startupNote: string | undefined;
  private readonly lastSuccess: Gauge<'instance_name'>;
  private readonly up: Gauge<'instance_name'>;
  private readonly active: Gauge<'instance_name' | 'db_type'>;
  private readonly limit: Gauge<'instance_name'>;
  /** One series per (instance, tag), value 1: join on `instance_name` to filter or group any metric by tag. */
  private readonly instanceTag: Gauge<'instance_name' | 'tag'>;
  private readonly records: Counter<'status' | 'sync_type'>;
  private readonly sessions: Counter<'status' | 'sync_type'>;
  private readonly duration: Histogram<'db_type'>;
  /** Instance id → db_type, so the histogram needs no query per record after the first. */
  private readonly dbTypes = new Map<number, string>();
  /** Histogram observations waiting for their db_type lookup: a scrape waits for them. */
  private readonly pending = new Set<Promise<void>>();
  /** Scrapes run one at a time: the gauges are reset and refilled per scrape. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly queueJobs: Gauge<'state'>;
  private readonly liveProcesses: Gauge<'role'>;
  private readonly processJobs: Gauge<'role' | 'host' | 'pid'>;
  private readonly sessionRecords: Gauge<'session_id' | 'status'>;
  private readonly nightlyTasks: Gauge<'status'>;
  private readonly tokenHash: Buffer | undefined;
  private readonly perInstance: number;
  private readonly minBytes: number;

  constructor(private readonly o: MetricsOptions) {
    // Keep only a hash: the token itself is never kept in a field that could be logged or dumped.
    this.tokenHash = o.token ? sha(o.token) : undefined;
    this.perInstance = o.databasesPerInstance ?? DEFAULT_DATABASES_PER_INSTANCE;
    this.minBytes = o.minDatabaseBytes ?? 0;
    const registers = [this.registry];
    this.contentType = this.registry.contentType;
    this.instanceSize = new Gauge({
      name: 'whalefall_instance_size_bytes',
      help: 'Total size of the instance at its latest successful collection',
      labelNames: ['instance_name', 'db_type'],
      registers,
    });
    this.estateBytes = new Gauge({
      name: 'whalefall_instance_estate_bytes',
      help: 'What the instance adds to the estate total (GET /api/statistics/summary): its total, 0 for a second registration of a server another registration counts (same host:port), less availability-group copies another replica stands for. sum() is the estate total; by tag: sum by (tag) (whalefall_instance_tag * on(instance_name) group_left(db_type) whalefall_instance_estate_bytes)',
      labelNames: ['instance_name', 'db_type'],
      registers,
    });
    const mode = o.databaseNames ?? 'token';
    if (mode === 'hashed' && !o.hashKey) throw new Error('metrics: hashed database names need a hash key');
    const hashKey = o.hashKey!;
    this.databaseLabel = mode === 'hashed' ? (name) => hashedDatabaseLabel(hashKey, name) : (name) => name;
    if (mode === 'token' && !this.tokenHash) {
      this.startupNote =
        'metrics: database series (whalefall_database_size_bytes) are left out of /metrics, their names are not public: set WHALEFALL_METRICS_TOKEN (every scrape then needs it), or WHALEFALL_METRICS_DATABASE_NAMES=hashed or =public';
    } else {
      this.databaseSize = new Gauge({
        name: 'whalefall_database_size_bytes',
        help: `Size of a database at its instance's latest collection; only the ${this.perInstance} largest per instance${this.minBytes ? ` of at least ${this.minBytes} bytes` : ''} (bounded labels)${mode === 'hashed' ? '; database: a keyed hash of the name' : ''}`,
        labelNames: ['instance_name', 'database'],
        registers,
      });
    }
    this.lastSuccess = new Gauge({
      name: 'whalefall_instance_last_sync_success_timestamp_seconds',
      help: 'Unix time of the last successful capacity sync of the instance',
      labelNames: ['instance_name'],
      registers,
    });
    this.up = new Gauge({
      name: 'whalefall_instance_up',
      help: 'Active instances that were synced at least once: 1 when the last capacity sync succeeded, 0 when it failed (no series for disabled or never-synced instances)',
      labelNames: ['instance_name'],
      registers,
    });
    this.active = new Gauge({
      name: 'whalefall_instance_active',
      help: '1 when the instance is enabled for syncs, 0 when disabled',
      labelNames: ['instance_name', 'db_type'],
      registers,
    });
    this.limit = new Gauge({
      name: 'whalefall_instance_capacity_limit_bytes',
      help: 'The instance option capacity_limit_bytes (disk or quota the data must fit in), for instances that set it',
      labelNames: ['instance_name'],
      registers,
    });
    this.instanceTag = new Gauge({
      name: 'whalefall_instance_tag',
      help: 'Always 1: one series per tag of each instance. One tag: `whalefall_instance_size_bytes * on(instance_name) group_left(tag) whalefall_instance_tag{tag="env:prod"}`; every tag: `sum by (tag) (whalefall_instance_tag * on(instance_name) group_left(db_type) whalefall_instance_size_bytes)`',
      labelNames: ['instance_name', 'tag'],
      registers,
    });
    this.records = new Counter({
      name: 'whalefall_sync_records_total',
      help: 'Instance sync records finished by this process',
      labelNames: ['status', 'sync_type'],
      registers,
    });
    this.sessions = new Counter({
      name: 'whalefall_sync_sessions_total',
      help: 'Sync sessions closed by this process',
      labelNames: ['status', 'sync_type'],
      registers,
    });
    this.duration = new Histogram({
      name: 'whalefall_sync_duration_seconds',
      help: 'Duration of one instance sync (all attempts), completed or failed',
      labelNames: ['db_type'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.queueJobs = new Gauge({
      name: 'whalefall_queue_jobs',
      help: 'Capacity sync jobs in the pg-boss queue, by state (created/retry = queued, active = running), whole estate',
      labelNames: ['state'],
      registers,
    });
    this.liveProcesses = new Gauge({
      name: 'whalefall_processes_live',
      help: 'serve/worker processes whose heartbeat is current, whole estate',
      labelNames: ['role'],
      registers,
    });
    this.processJobs = new Gauge({
      name: 'whalefall_process_running_jobs',
      help: 'Sync jobs each live process was running at its last heartbeat',
      labelNames: ['role', 'host', 'pid'],
      registers,
    });
    this.nightlyTasks = new Gauge({
      name: 'whalefall_nightly_tasks',
      help: 'Unfinished nightly tasks (aggregation, alerts, table syncs, composition, retention) by status, whole estate',
      labelNames: ['status'],
      registers,
    });
    this.sessionRecords = new Gauge({
      name: 'whalefall_session_records',
      help: 'Records of each running sync session by status (session progress)',
      labelNames: ['session_id', 'status'],
      registers,
    });
    if (o.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'whalefall_' });
      dropTotalGauges(this.registry);
    }
    o.events.on('record', (outcome, syncType) => {
      this.records.inc({ status: outcome.status, sync_type: syncType });
      // A skipped record ran nothing: its duration would pollute the histogram.
      if (outcome.status !== 'skipped') this.observe(outcome.instance_id, outcome.duration_ms / 1000, outcome.db_type);
    });
    o.events.on('session', (s) => this.sessions.inc({ status: s.status, sync_type: s.sync_type }));
  }

  private observe(instanceId: number, seconds: number, dbType?: string): void {
    const known = dbType ?? this.dbTypes.get(instanceId);
    if (known) {
      this.duration.observe({ db_type: known }, seconds);
      return;
    }
    const p = this.o.repo
      .dbType(instanceId)
      .then((t) => {
        if (t) this.dbTypes.set(instanceId, t);
        this.duration.observe({ db_type: t ?? 'unknown' }, seconds);
      })
      .catch((err: unknown) => this.o.logger?.warn({ err }, 'metrics: db_type lookup failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Whether a scrape may proceed: true when no token is configured, else the bearer must match. */
  authorized(bearer: string | undefined): boolean {
    if (!this.tokenHash) return true;
    if (!bearer) return false;
    // Compare fixed-length hashes in constant time: no length or prefix leak.
    return timingSafeEqual(sha(bearer), this.tokenHash);
  }

  /** The exposition text, with the gauges freshly computed from the store. */
  scrape(): Promise<string> {
    const run = this.chain.then(() => this.collect());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async collect(): Promise<string> {
    await Promise.all([...this.pending]);
    const databaseSize = this.databaseSize;
    const [instances, databases, shares] = await Promise.all([
      this.o.repo.instances(),
      databaseSize ? this.o.repo.topDatabases(this.perInstance, this.minBytes) : [],
      // A failed read of the estate's shares leaves that one gauge out of this scrape, not the whole answer.
      this.o.estateBytes?.().catch((err: unknown) => {
        this.o.logger?.warn({ err }, 'metrics: whalefall_instance_estate_bytes left out of this scrape: its store read failed');
        return undefined;
      }),
    ]);
    // Reset first: a deleted instance or a database that fell out of the top N must disappear.
    for (const g of [this.instanceSize, this.estateBytes, databaseSize, this.lastSuccess, this.up, this.active, this.limit, this.instanceTag]) g?.reset();
    for (const i of instances) {
      const instance_name = i.name;
      this.dbTypes.set(i.id, i.db_type);
      if (i.total_size_bytes !== null) this.instanceSize.set({ instance_name, db_type: i.db_type }, i.total_size_bytes);
      const share = shares?.get(i.id);
      if (i.total_size_bytes !== null && share !== undefined) this.estateBytes.set({ instance_name, db_type: i.db_type }, share);
      if (i.last_connected) this.lastSuccess.set({ instance_name }, Date.parse(i.last_connected) / 1000);
      this.active.set({ instance_name, db_type: i.db_type }, i.is_active ? 1 : 0);
      // `up == 0` must mean "a sync failed": a disabled or never-synced instance has no series to page on.
      if (i.is_active && i.last_sync_status !== null) this.up.set({ instance_name }, i.last_sync_status === 'completed' ? 1 : 0);
      const limit = capacityLimit(i.options);
      if (limit !== null) this.limit.set({ instance_name }, limit);
      for (const tag of new Set(JSON.parse(i.tags) as string[])) this.instanceTag.set({ instance_name, tag }, 1);
    }
    for (const d of databases) databaseSize!.set({ instance_name: d.instance_name, database: this.databaseLabel(d.database_name) }, d.size_bytes);
    if (this.o.estate) {
      const e = await this.o.estate();
      for (const g of [this.queueJobs, this.liveProcesses, this.processJobs, this.sessionRecords, this.nightlyTasks]) g.reset();
      for (const status of ['waiting', 'pending', 'running']) this.nightlyTasks.set({ status }, e.nightlyTasks?.[status] ?? 0);
      for (const state of ['created', 'retry', 'active']) this.queueJobs.set({ state }, e.jobs[state] ?? 0);
      for (const [state, n] of Object.entries(e.jobs)) this.queueJobs.set({ state }, n);
      for (const role of ['serve', 'worker']) this.liveProcesses.set({ role }, e.processes.filter((p) => p.role === role).length);
      for (const p of e.processes) this.processJobs.set({ role: p.role, host: p.host, pid: String(p.pid) }, p.running_jobs);
      for (const r of e.sessions) this.sessionRecords.set({ session_id: r.session_id, status: r.status }, r.n);
    }
    return this.registry.metrics();
  }
}

function capacityLimit(options: string): number | null {
  try {
    const v = (JSON.parse(options) as Record<string, unknown>)[CAPACITY_LIMIT_OPTION];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

/**
 * prom-client's default `nodejs_active_{handles,requests,resources}_total` are
 * gauges; `promtool check metrics` refuses the `_total` suffix on anything but
 * a counter. They are the sums of the per-type gauges prom-client also exports
 * (`whalefall_nodejs_active_handles{type=…}`…): `sum(…)` gives the same number.
 */
function dropTotalGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    const name = (metric as unknown as { name: string }).name;
    if (name.endsWith('_total') && metric instanceof Gauge) registry.removeSingleMetric(name);
  }
}
