/**
 * Wires the store, repositories and services once, for `serve`, the CLI and
 * tests alike. Nothing here knows about HTTP.
 */
import path from 'node:path';
import { ConfigError, type Config } from './config.js';
import { getEngine } from './engines/registry.js';
import { onCollectorThreadStop, threaded } from './engines/collector-thread.js';
import type { DbType } from './domain/db-type.js';
import type { Engine } from './engines/engine.js';
import { systemClock, type Clock } from './lib/clock.js';
import { derivedKey, encryptSecret, loadKeyRing, type KeyRing } from './lib/crypto.js';
import { holderAlive } from './lib/process-tag.js';
import { createLogger, type Logger } from './lib/logger.js';
import { AuditRepository } from './store/audit.repository.js';
import { CapacityRepository } from './store/capacity.repository.js';
import { CredentialsRepository } from './store/credentials.repository.js';
import { openStore, type Store, type StoreOptions } from './store/db.js';
import { InstancesRepository } from './store/instances.repository.js';
import { SyncRepository } from './store/sync.repository.js';
import { UsersRepository } from './store/users.repository.js';
import { AuditService } from './services/audit.service.js';
import { AuthService } from './services/auth.service.js';
import { CapacitySyncService } from './services/capacity-sync.service.js';
import { ConnectionService } from './services/connection.service.js';
import { ConnectionSlots } from './services/connection-slots.js';
import { SlotsRepository } from './store/slots.repository.js';
import { CapacityService } from './services/capacity.service.js';
import { CredentialsService } from './services/credentials.service.js';
import { InstancesService } from './services/instances.service.js';
import { RecoveryService } from './services/recovery.service.js';
import { SettingsService } from './services/settings.service.js';
import { SchedulerRepository } from './store/scheduler.repository.js';
import { SettingsRepository } from './store/settings.repository.js';
import type { PgBossQueue } from './scheduler/pgboss.queue.js';
import { CAPACITY_QUEUE, DAILY_QUEUE, QUEUE_SCHEMA } from './scheduler/queue-names.js';
import { ExportRepository } from './store/export.repository.js';
import { MetricsRepository } from './store/metrics.repository.js';
import { RetentionRepository } from './store/retention.repository.js';
import { ExportService } from './services/export.service.js';
import { MetricsService } from './services/metrics.service.js';
import { RetentionService } from './services/retention.service.js';
import { AggregationRepository } from './store/aggregation.repository.js';
import { StatisticsRepository } from './store/statistics.repository.js';
import { RunwayRepository } from './store/runway.repository.js';
import { ReportRepository } from './store/report.repository.js';
import { CapacityReportService } from './services/capacity-report.service.js';
import { AggregationService } from './services/aggregation.service.js';
import { StatisticsService } from './services/statistics.service.js';
import { RunwayService } from './services/runway.service.js';
import { ImportWhalefallService } from './services/import-whalefall.service.js';
import { ImportWhalefallRepository } from './store/import-whalefall.repository.js';
import { CompositionService } from './services/composition.service.js';
import { CompositionRepository } from './store/composition.repository.js';
import { AlertsRepository } from './store/alerts.repository.js';
import { AlertsService } from './services/alerts.service.js';
import { AlertDeliveryService } from './services/alert-delivery.service.js';
import { Scheduler } from './scheduler/scheduler.js';
import { FleetService } from './services/fleet.service.js';
import { DiscoveryService } from './services/discovery.service.js';
import { EmailService } from './services/email.service.js';
import { DigestRepository } from './store/digest.repository.js';
import { TableSelectionRepository, TablesRepository } from './store/tables.repository.js';
import { TableLocksRepository } from './store/table-locks.repository.js';
import { TablesService } from './services/tables.service.js';
import { ProcessesRepository } from './store/processes.repository.js';
import { ProcessesService } from './services/processes.service.js';
import { leaseMs } from './services/capacity-sync.service.js';
import { DailyJobsService } from './services/daily-jobs.service.js';
import { DailyTasksRepository } from './store/daily-tasks.repository.js';

/** How old the settings an estate admission reads may be (`settingsNow`). */
const ADMISSION_SETTINGS_MS = 250;

/** The store as the configuration says (pool size, timeouts, prepared statements). */
export function storeOptionsOf(config: Config, logger?: Logger): StoreOptions {
  return {
    databaseUrl: config.databaseUrl,
    sqliteFile: path.join(config.dataDir, 'whalefall.db'),
    poolMax: config.storePoolMax,
    connectTimeoutMs: config.storeConnectTimeoutMs,
    statementTimeoutMs: config.storeStatementTimeoutMs,
    prepare: config.storePrepare,
    onPrepareOff: logger ? prepareOffWarning(logger, 'store') : undefined,
  };
}

/** Logged once per pool when the server's answers switch prepared statements off (see store/pg-prepared.ts). */
function prepareOffWarning(logger: Logger, pool: 'store' | 'queue') {
  return (reason: string, err: Error & { code?: string }) =>
    logger.warn(
      { pool, code: err.code, err: err.message },
      `prepared statements switched off: ${reason}${/pooler/.test(reason) ? '; set WHALEFALL_STORE_PREPARE=off behind such a pooler' : ''}`,
    );
}

export interface Context {
  config: Config;
  store: Store;
  logger: Logger;
  clock: Clock;
  keys: KeyRing;
  repos: {
    instances: InstancesRepository;
    capacity: CapacityRepository;
    sync: SyncRepository;
    users: UsersRepository;
    credentials: CredentialsRepository;
    audit: AuditRepository;
    settings: SettingsRepository;
    scheduler: SchedulerRepository;
    alerts: AlertsRepository;
  };
  audit: AuditService;
  auth: AuthService;
  credentials: CredentialsService;
  instances: InstancesService;
  capacitySync: CapacitySyncService;
  /** Connect targets, collection, the test-connection/doctor probe: used by the capacity sync, tables and fleet. */
  connections: ConnectionService;
  /** The store-side semaphores: connection caps and the estate-wide sync concurrency. */
  slots: ConnectionSlots;
  capacity: CapacityService;
  settings: SettingsService;
  recovery: RecoveryService;
  /** Built, not started: `serve` starts it unless WHALEFALL_SCHEDULER=off. */
  scheduler: Scheduler;
  /** Set in pg-boss mode. */
  queue?: PgBossQueue;
  metrics: MetricsService;
  exports: ExportService;
  retention: RetentionService;
  statistics: StatisticsService;
  runway: RunwayService;
  /** The monthly capacity report (GET /api/reports/capacity; mailed on the 1st with the digest). */
  capacityReport: CapacityReportService;
  importWhalefall: ImportWhalefallService;
  composition: CompositionService;
  aggregation: AggregationService;
  alerts: AlertsService;
  alertDelivery: AlertDeliveryService;
  /** Import/export of the registry as a file, connection tests over many instances, discovery. */
  fleet: FleetService;
  /** Probing endpoint lists for database servers (API: only with WHALEFALL_DISCOVERY=on). */
  discovery: DiscoveryService;
  /** SMTP: the alert `email` channel and the daily digest (`serve` starts its schedule). */
  email: EmailService;
  /** Table-level capacity (issue #9). */
  tables: TablesService;
  /** The nightly extras: run in process (local mode) or as queued tasks (queue mode). */
  dailyJobs: DailyJobsService;
  /** The live serve/worker processes of the estate (heartbeat rows). */
  processes: ProcessesService;
  processesRepo: ProcessesRepository;
  close(): Promise<void>;
}

export interface ContextOptions {
  logger?: Logger;
  clock?: Clock;
  /** Tests swap engines (e.g. a flaky one) without touching the registry. */
  engineFor?: (dbType: DbType) => Engine;
  /** Use this store instead of opening the configured one. */
  store?: Store;
  /** Tests make backoff instant. */
  sleep?: (ms: number) => Promise<void>;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<Context> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const store = opts.store ?? openStore(storeOptionsOf(config, logger));
  const keys = loadKeyRing(config.dataDir, config.secretKey);
  const applied = await store.migrate({ seal: (clear) => encryptSecret(keys, clear).value });
  if (applied.length) logger.info({ migrations: applied, store: store.describe }, 'store migrated');
  const db = store.db;
  const repos = {
    instances: new InstancesRepository(db, store.dialect),
    capacity: new CapacityRepository(db, store.dialect),
    sync: new SyncRepository(db, store.dialect),
    users: new UsersRepository(db),
    credentials: new CredentialsRepository(db),
    audit: new AuditRepository(db),
    settings: new SettingsRepository(db),
    scheduler: new SchedulerRepository(db),
    alerts: new AlertsRepository(db),
  };
  const audit = new AuditService(repos.audit, clock);
  const credentials = new CredentialsService(repos.credentials, repos.instances, keys, clock, audit);
  const instances = new InstancesService(repos.instances, credentials, clock, audit);
  const auth = new AuthService(
    repos.users,
    clock,
    audit,
    config.sessionTtlHours,
    { attempts: config.loginLockoutAttempts, minutes: config.loginLockoutMinutes },
    config.tokenDefaultDays,
  );
  const settings = new SettingsService(repos.settings, config, clock, audit);
  let queue: PgBossQueue | undefined;
  if (config.queue === 'pg-boss') {
    if (store.dialect !== 'postgres' || !config.databaseUrl)
      throw new ConfigError('WHALEFALL_QUEUE=pg-boss needs a PostgreSQL store (DATABASE_URL=postgres://…)');
    // Loaded only in scale-out mode: one process with the local queue never pays for pg-boss.
    const { PgBossQueue } = await import('./scheduler/pgboss.queue.js');
    queue = new PgBossQueue(config.databaseUrl, logger, {
      maintenanceSeconds: config.queueMaintenanceSeconds,
      poolMax: config.queuePoolMax,
      prepare: { enabled: config.storePrepare, onOff: prepareOffWarning(logger, 'queue') },
    });
  }
  // The engines' sessions run in the collector thread (tests that swap engines keep theirs on this one).
  const engineFor = opts.engineFor ?? threaded(getEngine);
  const threadStopped = onCollectorThreadStop((detail, failed) =>
    logger.error(
      { detail, failed },
      'the collector thread stopped: the connections it held are gone and the calls waiting for it failed (a sync retries them); the next connection starts another',
    ),
  );
  // Connection caps and the estate-wide sync concurrency: semaphores in the store, shared by every process on it.
  const slots = new ConnectionSlots({ repo: new SlotsRepository(db, store.dialect), clock, logger, leaseMs: config.leaseMs, heartbeatMs: config.heartbeatMs });
  const connections = new ConnectionService({
    settings: () => settings.current(),
    engineFor,
    instances: repos.instances,
    credentials,
    slots,
    waitMs: config.connectionWaitMs,
  });
  const capacitySync = new CapacitySyncService({
    config,
    // Read at every fetch and every record: a copy at most a second old (a change in this process applies at once).
    settings: () => settings.current(),
    // The estate's sync_concurrency at each admission: a copy at most a quarter of a second old, so a lowered setting
    // holds in every process within that (a read at every fetch was 0.7 store statements a record in scale-out).
    settingsNow: () => settings.current(ADMISSION_SETTINGS_MS),
    queue,
    sleep: opts.sleep,
    clock,
    logger,
    instances: repos.instances,
    capacity: repos.capacity,
    sync: repos.sync,
    connections,
    slots,
    audit,
  });
  const capacity = new CapacityService(repos.capacity, repos.instances, repos.sync, clock, config.timeZone);
  const processesRepo = new ProcessesRepository(db);
  const dailyTasks = new DailyTasksRepository(db);
  // A dead process's record: its job (still `active` in pg-boss) fails and is retried; without one, a new job.
  const requeue = queue
    ? async (records: { id: number; instance_id: number }[]) => {
        const fresh: typeof records = [];
        for (const r of records) {
          const ids = await processesRepo.activeJobIds(QUEUE_SCHEMA, CAPACITY_QUEUE, String(r.instance_id));
          if (ids.length) await queue.failJobs(ids, 'handed back: the process running it is gone');
          else fresh.push(r);
        }
        return fresh.length ? queue.enqueue(fresh, Math.ceil(leaseMs(await capacitySync.runParams()) / 1000)) : [];
      }
    : undefined;
  // Jobs fetched and never started: their process is gone (its pid on this host, or it stopped beating), or they waited a
  // lease. One process at a time (tryExclusively): a job one process failed is due at once and may be fetched again
  // before another process, which read it as stale too, fails it.
  const handBackStale = queue
    ? async (leaseMs: number, unmarkedMs: number) =>
        (await processesRepo.tryExclusively('whalefall.hand-back-stale', async () => {
          const fetched = await processesRepo.staleFetchedJobs(QUEUE_SCHEMA, CAPACITY_QUEUE, leaseMs, unmarkedMs);
          const elsewhere = fetched.some((j) => !j.stale && j.holder !== null && holderAlive(j.holder) === undefined);
          const live = elsewhere ? new Set((await processes.live(true)).map((p) => p.tag)) : undefined;
          const stale = fetched.filter(
            (j) => j.stale || holderAlive(j.holder) === false || (live && holderAlive(j.holder) === undefined && !live.has(j.holder!)),
          );
          if (stale.length)
            await queue.failJobs(
              stale.map((j) => j.id),
              'handed back: fetched by a process that is gone',
            );
          return stale.length;
        })) ?? 0
    : undefined;
  const processes = new ProcessesService({ repo: processesRepo, clock, logger, heartbeatMs: config.heartbeatMs });
  const recovery = new RecoveryService(
    repos.sync,
    clock,
    logger,
    requeue,
    handBackStale,
    config.leaseMs,
    { runs: repos.scheduler, liveTags: async () => new Set((await processes.live(true)).map((p) => p.tag)) },
    queue ? (before) => processesRepo.jobless(QUEUE_SCHEMA, CAPACITY_QUEUE, before) : undefined,
  );
  const metrics = new MetricsService({
    estate: queue
      ? async () => {
          const [jobs, live, sessions, nightlyTasks] = await Promise.all([
            processesRepo.jobStates(QUEUE_SCHEMA, CAPACITY_QUEUE),
            processes.live(true),
            processesRepo.runningSessionProgress(),
            dailyTasks.states(),
          ]);
          return { jobs, processes: live, sessions, nightlyTasks };
        }
      : undefined,
    repo: new MetricsRepository(db),
    estateBytes: async () => {
      const s = await statistics.estateShares();
      return new Map(s.rows.filter((r) => r.total_size_bytes !== null).map((r) => [r.id, s.estateBytes(r)]));
    },
    events: capacitySync.events,
    logger,
    token: config.metricsToken,
    databaseNames: config.metricsDatabaseNames,
    hashKey: config.metricsDatabaseNames === 'hashed' ? derivedKey(keys, 'metrics-database-names') : undefined,
    databasesPerInstance: config.metricsDatabasesPerInstance,
    minDatabaseBytes: config.metricsMinDatabaseBytes,
  });
  const exportService = new ExportService(new ExportRepository(db), instances);
  const retention = new RetentionService({
    repo: new RetentionRepository(db),
    retentionDays: async () => (await settings.effective()).retention_days,
    syncPointsDays: async () => (await settings.effective()).sync_points_days,
    timeZone: config.timeZone,
    logger,
  });
  const statisticsRepo = new StatisticsRepository(db, store.dialect);
  const aggregation = new AggregationService(new AggregationRepository(db, store.dialect), clock, config.timeZone, logger);
  const statistics = new StatisticsService(statisticsRepo, repos.instances, clock, config.timeZone);
  const alertDelivery = new AlertDeliveryService(repos.alerts, clock, logger, {
    networks: { allow: config.webhookAllowNetworks, deny: config.webhookDenyNetworks },
  });
  const composition = new CompositionService({
    repo: new CompositionRepository(db),
    instances: repos.instances,
    connections,
    engineFor,
    settings: () => settings.effective(),
    clock,
    timeZone: config.timeZone,
    logger,
  });
  const runway = new RunwayService({ repo: new RunwayRepository(db), clock, timeZone: config.timeZone, volumes: (ids) => composition.ceilings(ids) });
  const importWhalefall = new ImportWhalefallService({ repo: new ImportWhalefallRepository(db), clock, audit, onHistoryChanged: () => runway.invalidate() });
  const alerts = new AlertsService({ repo: repos.alerts, instances: repos.instances, clock, logger, audit, delivery: alertDelivery, keys });
  alerts.attach(capacitySync.events);
  const capacityReport = new CapacityReportService({
    repo: new ReportRepository(db),
    runway,
    settings,
    clock,
    timeZone: config.timeZone,
    chromiumPath: config.chromiumPath,
  });
  const email = new EmailService({ config, repo: new DigestRepository(db), runs: repos.scheduler, clock, logger, report: capacityReport });
  if (email.configured) alertDelivery.mailer = email;
  const tables = new TablesService({
    config,
    settings: () => settings.effective(),
    clock,
    logger,
    engineFor,
    instances: repos.instances,
    tables: new TablesRepository(db),
    selection: new TableSelectionRepository(db),
    sync: repos.sync,
    tableLocks: new TableLocksRepository(db),
    connections,
    audit,
  });
  const dailyJobs = new DailyJobsService({
    tasks: dailyTasks,
    runs: repos.scheduler,
    instances: repos.instances,
    aggregation,
    alerts,
    retention,
    composition,
    runway,
    tables,
    settings: () => settings.effective(),
    clock,
    logger,
    config,
    queue,
    jobsOf: (taskId) => processesRepo.liveJobs(QUEUE_SCHEMA, DAILY_QUEUE, `task:${taskId}`),
    orphans: (before) => processesRepo.orphanTasks(QUEUE_SCHEMA, DAILY_QUEUE, before),
  });
  recovery.also(() => dailyJobs.recover());
  const scheduler = new Scheduler({
    settings,
    capacitySync,
    runs: repos.scheduler,
    sync: repos.sync,
    instances: repos.instances,
    logger,
    clock,
    timeZone: config.timeZone,
    aggregate: (scheduledFor, runId) => (queue ? dailyJobs.enqueueRun(runId, scheduledFor) : dailyJobs.runLocal(scheduledFor)),
  });
  const fleet = new FleetService({
    instances: repos.instances,
    credentials: repos.credentials,
    connections,
    clock,
    audit,
    importMaxRows: config.importMaxRows,
  });
  const discovery = new DiscoveryService({ instances: repos.instances, clock, audit, apiEnabled: config.discovery });
  return {
    config,
    store,
    logger,
    clock,
    keys,
    repos,
    audit,
    auth,
    credentials,
    instances,
    capacitySync,
    connections,
    slots,
    capacity,
    settings,
    recovery,
    scheduler,
    queue,
    metrics,
    exports: exportService,
    retention,
    statistics,
    runway,
    capacityReport,
    importWhalefall,
    composition,
    aggregation,
    alerts,
    alertDelivery,
    fleet,
    discovery,
    email,
    tables,
    dailyJobs,
    processes,
    processesRepo,
    async close() {
      threadStopped();
      await processes.stop();
      await scheduler.stop();
      await alerts.idle();
      await alertDelivery.stop();
      await email.stop();
      await queue?.stop();
      await connections.settle();
      await store.close();
    },
  };
}
