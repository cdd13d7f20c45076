/**
 * Fills a fresh store with representative rows of every table, through the
 * real services: users, tokens, web sessions, credentials (encrypted with
 * FIXTURE_SECRET_KEY), instances of every engine, three days of syncs
 * (created, grown, deleted and restored databases, a failed instance),
 * aggregations, settings, scheduler runs, alert rules, events and
 * deliveries, the audit log.
 *
 * make-fixture.ts runs this file inside a checkout of the first tagged
 * release of the schema (its imports then resolve to that release's code),
 * so the store it makes is exactly what that release wrote. Use only APIs
 * that release has.
 *
 *   node --import tsx populate.ts <data-dir>     (SQLite; DATABASE_URL for PostgreSQL)
 */
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import type { Collection } from '../../src/domain/collection.js';
import type { DbType } from '../../src/domain/db-type.js';
import type { Engine } from '../../src/engines/engine.js';
import { getEngine } from '../../src/engines/registry.js';
import { SyncError } from '../../src/lib/errors.js';
import { createLogger } from '../../src/lib/logger.js';

export const FIXTURE_SECRET_KEY = 'whalefall-upgrade-fixture-key-not-a-secret';
const actor = { userId: null, username: 'fixture' };

/** Every engine answers from this table: day → databases; 'down' fails. */
function fakeEngine(dbType: DbType, day: () => number): Engine {
  const real = getEngine(dbType);
  return {
    ...real,
    async connect(target) {
      if (target.host === 'down.example') throw new SyncError('connection', `connect ECONNREFUSED ${target.host}:${target.port}`);
      const d = day();
      return {
        serverVersion: async () => `${dbType} fixture 1.0`,
        doctor: async () => [],
        close: async () => {},
        collect: async (): Promise<Collection> => ({
          server_version: `${dbType} fixture 1.0`,
          warnings: [],
          databases: [
            {
              database_name: 'app',
              is_system: false,
              size_bytes: 1_000_000_000 + d * 50_000_000,
              data_bytes: 800_000_000 + d * 40_000_000,
              index_bytes: 150_000_000,
              log_bytes: 50_000_000,
              free_bytes: null,
              used_bytes: null,
              max_bytes: dbType === 'oracle' ? 4_000_000_000 : null,
              method: 'logical',
            },
            {
              database_name: 'reports_中文',
              is_system: false,
              size_bytes: 200_000_000 + d * 1_000_000,
              data_bytes: null,
              index_bytes: null,
              log_bytes: null,
              free_bytes: null,
              used_bytes: null,
              method: 'logical',
            },
            {
              database_name: 'sys',
              is_system: true,
              size_bytes: 10_000_000,
              data_bytes: null,
              index_bytes: null,
              log_bytes: null,
              free_bytes: null,
              used_bytes: null,
              method: 'logical',
            },
            // Deleted on day 1, back on day 2.
            ...(d === 1
              ? []
              : [
                  {
                    database_name: 'scratch',
                    is_system: false,
                    size_bytes: null,
                    data_bytes: null,
                    index_bytes: null,
                    log_bytes: null,
                    free_bytes: null,
                    used_bytes: null,
                    method: 'logical',
                    error: 'permission denied',
                  },
                ]),
          ],
        }),
      };
    },
  };
}

/** Fill the configured store (migrated by this release's code) with representative rows of every table. */
export async function populate(dataDir: string, databaseUrl?: string): Promise<void> {
  let day = 0;
  let now = new Date('2026-03-01T03:00:00Z');
  const config = loadConfig({
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'Asia/Shanghai',
    WHALEFALL_SECRET_KEY: FIXTURE_SECRET_KEY,
    WHALEFALL_SCHEDULER: 'off',
    LOG_LEVEL: 'silent',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const ctx: Context = await createContext(config, {
    logger: createLogger('silent'),
    clock: { now: () => now },
    engineFor: (t) => fakeEngine(t, () => day),
  });
  try {
    const admin = await ctx.auth.ensureAdmin('Fixture-Admin-1');
    void admin;
    const op = await ctx.auth.createUser({ username: 'dba-zhang', password: 'Operator-Secret1', role: 'operator' }, actor);
    await ctx.auth.createUser({ username: 'viewer', password: 'Viewer-Secret1', role: 'viewer' }, actor);
    await ctx.auth.createToken(op.id, { name: 'nightly script', expires_in_days: 365 }, actor);
    await ctx.auth.login('viewer', 'Viewer-Secret1', '10.0.0.9');
    const creds: Record<string, number> = {};
    for (const t of ['mysql', 'postgresql', 'sqlserver', 'oracle'] as const) {
      creds[t] = (await ctx.credentials.create({ name: `${t}-monitor`, db_type: t, username: 'monitor', password: `pw-${t}-Secret` }, actor)).id;
    }
    const mk = (name: string, db_type: DbType, host: string, port: number, cred: number, extra: Record<string, unknown> = {}) =>
      ctx.instances.create({ name, db_type, host, port, credential_id: cred, tags: ['prod'], ...extra }, actor);
    const ids = [
      (await mk('mysql-prod-01', 'mysql', 'mysql1.example', 3306, creds.mysql!)).id,
      (await mk('maria-prod-02', 'mariadb', 'maria2.example', 3306, creds.mysql!)).id,
      (await mk('pg-prod-01', 'postgresql', 'pg1.example', 5432, creds.postgresql!, { options: { exclude: ['template*'] } })).id,
      (await mk('mssql-prod-01', 'sqlserver', 'mssql1.example', 1433, creds.sqlserver!)).id,
      (await mk('ora-prod-01', 'oracle', 'ora1.example', 1521, creds.oracle!, { database_name: 'ORCLPDB1' })).id,
      (await mk('pg-down', 'postgresql', 'down.example', 5432, creds.postgresql!)).id,
    ];
    await mk('pg-retired', 'postgresql', 'old.example', 5432, creds.postgresql!, { is_active: false });
    await ctx.settings.update({ sync_concurrency: 4, retention_days: 400 }, actor);
    await ctx.alerts.createRule(
      { name: '大库告警', kind: 'size_above', threshold: 1_000_000_000, channels: [{ type: 'generic', url: 'http://127.0.0.1:9/hook?token=fixture' }] },
      actor,
    );
    await ctx.alerts.createRule({ name: 'sync failing', kind: 'sync_failing', consecutive: 2 }, actor);
    await ctx.alerts.createRule({ name: 'scratch gone', kind: 'database_disappeared', database_pattern: 'scratch' }, actor);
    for (day = 0; day < 3; day++) {
      now = new Date(Date.UTC(2026, 2, 1 + day, 3, 0, 0));
      const run = await ctx.repos.scheduler.claim('capacity_sync', now.toISOString(), 'fixture', now.toISOString());
      const r = await ctx.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor });
      await ctx.repos.scheduler.finish(run!, { status: 'completed', at: now.toISOString(), sessionId: r.session_id, message: r.status });
      await ctx.alerts.idle();
      await ctx.aggregation.aggregate({ from: `2026-03-0${1 + day}`, to: `2026-03-0${1 + day}` });
    }
    await ctx.capacitySync.syncInstance(ids[2]!, actor);
    await ctx.alerts.evaluate();
    await ctx.alerts.idle();
    // One delivery attempt (the webhook is a closed port: the row records the failure).
    await ctx.alertDelivery.stop();
  } finally {
    await ctx.close();
  }
}

if (process.argv[2]) await populate(process.argv[2], process.env.DATABASE_URL || undefined);
