/**
 * `whalefall serve` (HTTP + scheduler) and `whalefall worker` (pg-boss jobs),
 * each with crash recovery at start and every minute, and a clean shutdown on
 * SIGTERM/SIGINT: stop taking work, wait for work in flight, close the store.
 */
import type { Config } from './config.js';
import { createContext, type Context } from './context.js';
import { buildApp } from './http/app.js';
import { createLogger, prettyDestination } from './lib/logger.js';

export interface RunOptions {
  /** Human-readable logs instead of JSON lines (`--pretty`). */
  pretty?: boolean;
}

function loggerFor(config: Config, o: RunOptions) {
  return o.pretty ? { logger: createLogger(config.logLevel, prettyDestination()) } : {};
}

/**
 * SIGTERM/SIGINT: stop taking work (HTTP, cron, queue), give running syncs
 * WHALEFALL_SHUTDOWN_TIMEOUT_MS to finish, abort the rest (records not
 * started are `skipped`, sessions `interrupted`), close the pools, exit 0.
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

/** Work pg-boss jobs in this process (`worker`, and `serve` in pg-boss mode). */
async function startWorking(ctx: Context): Promise<void> {
  if (!ctx.queue) return;
  const s = await ctx.settings.effective();
  await ctx.queue.work(s.sync_concurrency, async (recordId) => {
    await ctx.capacitySync.runQueuedRecord(recordId);
  });
  ctx.logger.info({ concurrency: s.sync_concurrency }, 'working capacity sync jobs');
}

export async function serve(config: Config, o: RunOptions = {}): Promise<void> {
  const ctx = await createContext(config, loggerFor(config, o));
  const admin = await ctx.auth.ensureAdmin(config.adminPassword);
  if (admin.generatedPassword) {
    // Printed once, on the first start only; never logged.
    process.stdout.write(
      `\n  Whalefall: created user "admin" with password: ${admin.generatedPassword}\n  (shown only this once; change it with: whalefall users passwd admin)\n\n`,
    );
  }
  await ctx.recovery.recover();
  const stopRecovery = ctx.recovery.startPeriodic();
  const app = await buildApp(ctx);
  await app.listen({ host: config.host, port: config.port });
  if (config.scheduler) await ctx.scheduler.start();
  ctx.alertDelivery.start();
  ctx.email.start();
  await startWorking(ctx);
  ctx.logger.info({ store: ctx.store.describe, time_zone: config.timeZone, scheduler: config.scheduler, queue: config.queue }, `Whalefall listening on http://${config.host}:${config.port}`);
  onSignals(ctx, async () => {
    stopRecovery();
    // All at once: the scheduler's stop waits for its session, which the sync service's stop bounds.
    await Promise.all([app.close(), ctx.scheduler.stop(), ctx.capacitySync.stop(config.shutdownTimeoutMs), ctx.queue?.stop(config.shutdownTimeoutMs + 5_000)]);
  });
}

export async function worker(config: Config, o: RunOptions = {}): Promise<void> {
  if (config.queue !== 'pg-boss') throw new Error('whalefall worker needs WHALEFALL_QUEUE=pg-boss and a PostgreSQL store (DATABASE_URL)');
  const ctx = await createContext(config, loggerFor(config, o));
  await ctx.recovery.recover();
  const stopRecovery = ctx.recovery.startPeriodic();
  await startWorking(ctx);
  onSignals(ctx, async () => {
    stopRecovery();
    await Promise.all([ctx.queue?.stop(config.shutdownTimeoutMs + 5_000), ctx.capacitySync.stop(config.shutdownTimeoutMs)]);
  });
}
