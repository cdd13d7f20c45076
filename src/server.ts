/** `whalefall serve`: context + HTTP, with a clean shutdown on SIGTERM/SIGINT. */
import type { Config } from './config.js';
import { createContext } from './context.js';
import { buildApp } from './http/app.js';

export async function serve(config: Config): Promise<void> {
  const ctx = await createContext(config);
  const admin = await ctx.auth.ensureAdmin(config.adminPassword);
  if (admin.generatedPassword) {
    // Printed once, on the first start only; never logged.
    process.stdout.write(
      `\n  Whalefall: created user "admin" with password: ${admin.generatedPassword}\n  (shown only this once; change it with: whalefall users passwd admin)\n\n`,
    );
  }
  const app = await buildApp(ctx);
  await app.listen({ host: config.host, port: config.port });
  ctx.logger.info({ store: ctx.store.describe, time_zone: config.timeZone }, `Whalefall listening on http://${config.host}:${config.port}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ctx.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await app.close();
    await ctx.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
