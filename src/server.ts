/**
 * `whalefall serve` (HTTP + scheduler, and queue work unless --no-work) and
 * `whalefall worker` (queue work, with /healthz, /readyz and /metrics on
 * PORT), each with crash recovery at start and then periodically, a heartbeat
 * row in `processes`, and a clean shutdown on SIGTERM/SIGINT: stop taking
 * work, finish or hand back work in flight, close the store, exit 0.
 *
 * No store or queue failure ends a process: every call is awaited and
 * handled where it is made; what escapes anyway is logged here as one JSON
 * line. Only a programming error outside any request or job (an uncaught
 * exception that is not a network error) exits, with its reason.
 */
import Fastify from 'fastify';
import type { Config } from './config.js';
import { createContext, type Context } from './context.js';
import { buildApp } from './http/app.js';
import { healthRoutes } from './http/api/health.routes.js';
import { metricsRoutes } from './http/api/metrics.routes.js';
import { documentOnlyResponses } from './http/serializer.js';
import { createLogger, prettyDestination, type Logger } from './lib/logger.js';
import { PROCESS_TAG } from './lib/process-tag.js';
import { checkEstate, checkQueueConfig } from './services/estate.service.js';
import { processConcurrency } from './services/sync/sync-context.js';
import type { Slot } from './services/connection-slots.js';

export interface RunOptions {
  /** Human-readable logs instead of JSON lines (`--pretty`). */
  pretty?: boolean;
}

function loggerFor(config: Config, o: RunOptions) {
  return o.pretty ? { logger: createLogger(config.logLevel, prettyDestination()) } : {};
}

/** Errors of the network or of a peer (the store, a target): never a reason to exit. */
const PEER_ERROR = /^(E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOTFOUND)|57P0[1-3]|08\d\d\d)$/;

export function isPeerError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && PEER_ERROR.test(e.code)) return true;
  return (
    typeof e?.message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connect ECONNREFUSED/.test(e.message)
  );
}

let guarded = false;

/**
 * Last line of defence: an unhandled rejection is logged (one JSON line) and
 * the process goes on — it is a failed call nobody awaited, the state is
 * intact. An uncaught exception is logged too; a peer's (network) error goes
 * on, anything else exits 1 with the reason: the state is unknown.
 */
export function installProcessGuards(logger: Logger): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason, event: 'unhandledRejection' }, 'unhandled rejection (process continues)');
  });
  process.on('uncaughtException', (err) => {
    if (isPeerError(err)) {
      logger.error({ err, event: 'uncaughtException' }, 'uncaught network error (process continues)');
      return;
    }
    logger.fatal({ err, event: 'uncaughtException' }, `exiting: uncaught exception (${err.message})`);
    process.exit(1);
  });
}

/** Open the context of a long-running process: refuses a misconfigured queue-mode process before it takes work. */
async function openProcess(config: Config, o: RunOptions): Promise<Context> {
  checkQueueConfig(config);
  const ctx = await createContext(config, loggerFor(config, o));
  installProcessGuards(ctx.logger);
  try {
    await checkEstate({ config, keys: ctx.keys, credentials: ctx.repos.credentials, processes: ctx.processesRepo, clock: ctx.clock });
  } catch (err) {
    await ctx.close().catch(() => {});
    throw err;
  }
  return ctx;
}

/**
 * SIGTERM/SIGINT: stop taking work (HTTP, cron, queue), give running syncs
 * WHALEFALL_SHUTDOWN_TIMEOUT_MS to finish (queue mode: what does not finish
 * is handed back to the queue for another process; local mode: aborted,
 * records not started `skipped`, sessions `interrupted`), close the pools,
 * exit 0.
 */
function onSignals(ctx: Context, stopWork: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const t0 = Date.now();
    ctx.logger.info({ signal, bound_ms: ctx.config.shutdownTimeoutMs }, 'shutting down');
    const force = setTimeout(() => {
      ctx.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, ctx.config.shutdownTimeoutMs + 30_000);
    force.unref();
    try {
      await stopWork();
      await ctx.close();
      ctx.logger.info({ signal, duration_ms: Date.now() - t0 }, 'stopped');
      process.exit(0);
    } catch (err) {
      ctx.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Work queued jobs in this process (`worker`, and `serve` in queue mode unless WHALEFALL_WORK=off). */
async function startWorking(ctx: Context): Promise<void> {
  if (!ctx.queue) return;
  // Every queue-mode process starts pg-boss (serve queues jobs even with --no-work), one process at a time.
  const queue = ctx.queue;
  await ctx.processesRepo.exclusively('whalefall:pg-boss-start', () => queue.start());
  if (!ctx.config.work) return;
  // The setting is read before every fetch: a change applies without a restart.
  // The estate-wide limit: a job is fetched only with a `sync` slot, shared by every process on the store.
  await ctx.queue.work<Slot>(
    {
      // This process's share of the estate's setting (over the live processes that work: a dead one's share goes to the others), at most its own bound.
      concurrency: async () => {
        const s = await ctx.settings.current();
        return Math.min(processConcurrency(ctx.config, s), ctx.processes.share(s.sync_concurrency));
      },
      admit: (want, kept) => ctx.capacitySync.admission.admitSome(want, kept),
      fetched: (recordIds) => ctx.capacitySync.fetchedRecords.fetched(recordIds, PROCESS_TAG),
      giveBack: (unused) => ctx.capacitySync.admission.release(unused),
    },
    (recordId, freePlace) => ctx.capacitySync.runQueuedRecord(recordId, freePlace),
    // The nightly extras' tasks, when no sync record waits (daily-jobs.service.ts).
    (taskId) => ctx.dailyJobs.runQueued(taskId),
  );
  ctx.logger.info({ concurrency: (await ctx.settings.effective()).sync_concurrency }, 'working capacity sync and nightly jobs');
}

/** Heartbeat row, and recovery every heartbeat in queue mode (a dead process's records come back within a lease). */
async function startHousekeeping(ctx: Context, role: 'serve' | 'worker'): Promise<() => void> {
  await ctx.recovery.recover();
  const stopRecovery = ctx.recovery.startPeriodic(ctx.queue ? ctx.config.heartbeatMs : 60_000);
  await ctx.processes.start(role, () => ctx.queue?.runningJobs() ?? 0, ctx.queue ? () => ctx.recovery.processGone() : undefined, ctx.config.work);
  return stopRecovery;
}

/** Stop taking queue work; wait for what runs within the bound, then abort it (handed back to the queue). */
async function stopQueueWork(ctx: Context): Promise<void> {
  await Promise.all([ctx.queue?.stopWorking(ctx.config.shutdownTimeoutMs + 5_000), ctx.capacitySync.stop(ctx.config.shutdownTimeoutMs)]);
}

export async function serve(config: Config, o: RunOptions = {}): Promise<void> {
  const ctx = await openProcess(config, o);
  const admin = await ctx.auth.ensureAdmin(config.adminPassword);
  if (admin.generatedPassword) {
    // Printed once, on the first start only; never logged.
    process.stdout.write(
      `\n  Whalefall: created user "admin" with password: ${admin.generatedPassword}\n  (shown only this once; change it with: whalefall users passwd admin)\n\n`,
    );
  }
  const stopHousekeeping = await startHousekeeping(ctx, 'serve');
  const app = await buildApp(ctx);
  const url = await app.listen({ host: config.host, port: config.port });
  if (config.scheduler) await ctx.scheduler.start();
  ctx.alertDelivery.start();
  ctx.email.start();
  await startWorking(ctx);
  ctx.logger.info(
    { store: ctx.store.describe, time_zone: config.timeZone, scheduler: config.scheduler, queue: config.queue, work: config.work },
    `Whalefall listening on ${url}`,
  );
  if (ctx.metrics.startupNote) ctx.logger.info(ctx.metrics.startupNote);
  onSignals(ctx, async () => {
    stopHousekeeping();
    // All at once: the scheduler's stop waits for its session (local mode), which the sync service's stop bounds.
    await Promise.all([app.close(), ctx.scheduler.stop(), stopQueueWork(ctx)]);
  });
}

export async function worker(config: Config, o: RunOptions = {}): Promise<void> {
  if (config.queue !== 'pg-boss') throw new Error('whalefall worker needs WHALEFALL_QUEUE=pg-boss and a PostgreSQL store (DATABASE_URL)');
  const ctx = await openProcess(config, o);
  const stopHousekeeping = await startHousekeeping(ctx, 'worker');
  // Health and metrics only: the API and the pages are served by `serve`.
  const app = Fastify({ loggerInstance: ctx.logger.child({ component: 'http' }) });
  documentOnlyResponses(app);
  await app.register(healthRoutes(ctx));
  await app.register(metricsRoutes(ctx));
  const url = await app.listen({ host: config.host, port: config.port });
  await startWorking(ctx);
  ctx.logger.info({ store: ctx.store.describe, time_zone: config.timeZone }, `Whalefall worker: health and metrics on ${url}`);
  if (ctx.metrics.startupNote) ctx.logger.info(ctx.metrics.startupNote);
  onSignals(ctx, async () => {
    stopHousekeeping();
    await Promise.all([app.close(), stopQueueWork(ctx)]);
  });
}
