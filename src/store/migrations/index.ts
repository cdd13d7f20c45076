/**
 * Migrations live in code (Kysely Migrator) and run on every start and by
 * `whalefall migrate`. Each migration is written once for both dialects;
 * the few type differences go through `t` below.
 */
import { Kysely, Migrator, type Migration, type MigrationProvider } from 'kysely';
import { initialSchema } from './0001_initial.js';
import { schedulerSchema } from './0002_scheduler.js';
import { maxBytes } from './0003_max_bytes.js';
import { aggregationsSchema } from './0004_aggregations.js';
import { alertsSchema } from './0005_alerts.js';
import { tableSizesSchema } from './0006_table_sizes.js';
import { securitySchema } from './0008_security.js';
import { productionSchema } from './0009_production.js';
import { scaleOutSchema } from './0010_scale_out.js';
import { securityTlsSchema } from './0011_security_tls.js';
import { measurementSchema } from './0012_measurement.js';
import { syncPointsSchema } from './0013_sync_points.js';
import { capacityIntelligenceSchema } from './0014_capacity_intelligence.js';
import { replicasSchema } from './0016_replicas.js';
import { tableSyncLocks } from './0017_table_sync_locks.js';
import { firstWeekDefaults } from './0023_first_week_defaults.js';
import { replicaGroupsSchema } from './0025_replica_groups.js';
import { alertEventKeys } from './0026_alert_event_keys.js';
import { runwayFits } from './0027_runway_fits.js';
import { databaseRemarkKeys } from './0028_database_remark_keys.js';
import { processWorks } from './0029_process_works.js';
import { instanceSizeStatsDate } from './0030_instance_size_stats_date.js';
import { widerColumns } from './0031_wider_columns.js';
import { mysqlAutoSchema } from './0018_mysql_auto.js';
import { connectionSlots } from './0020_connection_slots.js';
import { messageKeys } from './0022_message_keys.js';
import { webhookUrlsSealed } from './0019_webhook_urls_sealed.js';
import { columnTypes, type DialectName, type MigrationEnv, type MigrationFactory } from './helpers.js';
import { dailyTasks } from './0021_daily_tasks.js';

export { columnTypes, primaryId, type ColumnTypes, type MigrationEnv, type MigrationFactory } from './helpers.js';

/** Every migration by name, applied in name order. There is no 0007 (the number was skipped, never released): the gap is expected; names only need to sort. */
const ALL: Record<string, MigrationFactory> = {
  '0001_initial': initialSchema,
  '0002_scheduler': schedulerSchema,
  '0003_max_bytes': maxBytes,
  '0004_aggregations': aggregationsSchema,
  '0005_alerts': alertsSchema,
  '0006_table_sizes': tableSizesSchema,
  '0008_security': securitySchema,
  '0009_production': productionSchema,
  '0010_scale_out': scaleOutSchema,
  '0011_security_tls': securityTlsSchema,
  '0012_measurement': measurementSchema,
  '0013_sync_points': syncPointsSchema,
  '0014_capacity_intelligence': capacityIntelligenceSchema,
  '0016_replicas': replicasSchema,
  '0017_table_sync_locks': tableSyncLocks,
  '0018_mysql_auto': mysqlAutoSchema,
  '0019_webhook_urls_sealed': webhookUrlsSealed,
  '0020_connection_slots': connectionSlots,
  '0021_daily_tasks': dailyTasks,
  '0022_message_keys': messageKeys,
  '0023_first_week_defaults': firstWeekDefaults,
  '0025_replica_groups': replicaGroupsSchema,
  '0026_alert_event_keys': alertEventKeys,
  '0027_runway_fits': runwayFits,
  '0028_database_remark_keys': databaseRemarkKeys,
  '0029_process_works': processWorks,
  '0030_instance_size_stats_date': instanceSizeStatsDate,
  '0031_wider_columns': widerColumns,
};

class CodeProvider implements MigrationProvider {
  constructor(
    private readonly dialect: DialectName,
    private readonly env: MigrationEnv,
  ) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const t = columnTypes(this.dialect);
    const all = Object.entries(ALL).map(([name, f]): [string, Migration] => [name, f(t, this.dialect, this.env)]);
    if (this.dialect === 'postgres') return Object.fromEntries(all); // the Migrator runs them all in one transaction
    // Kysely runs SQLite migrations outside a transaction; SQLite has transactional DDL, so each one gets its own:
    // a migration that fails half-way leaves nothing behind and is simply run again.
    return Object.fromEntries(all.map(([name, m]) => [name, { ...m, up: (db: Kysely<any>) => db.transaction().execute((trx) => m.up(trx)) }]));
  }
}

/** Returns the names of the migrations applied now (empty when up to date). */
export async function migrateToLatest(db: Kysely<any>, dialect: DialectName, env: MigrationEnv = {}): Promise<string[]> {
  await refuseNewerStore(db);
  const migrator = newMigrator(db, dialect, env);
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${String((error as Error).message ?? error)}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

function newMigrator(db: Kysely<any>, dialect: DialectName, env: MigrationEnv = {}): Migrator {
  return new Migrator({
    db,
    provider: new CodeProvider(dialect, env),
    migrationTableName: 'whalefall_migrations',
    migrationLockTableName: 'whalefall_migrations_lock',
    // Numbers are reserved per piece of work and land in any order: a store that already has 0012 still
    // gets 0011 when it arrives (each migration only adds; none depends on a later one).
    allowUnorderedMigrations: true,
  });
}

/** The last migration of the first tagged release of the schema (the upgrade test starts there). */
export const FIRST_RELEASE = '0005_alerts';

/** Names of every migration this code knows, in order. */
export const MIGRATION_NAMES = Object.keys(ALL).sort();

/** Where a store stands: migrations applied, pending (this code would apply), unknown (applied by a newer Whalefall). */
export async function migrationState(db: Kysely<any>): Promise<{ applied: string[]; pending: string[]; unknown: string[] }> {
  const read = async () => (await db.selectFrom('whalefall_migrations').select('name').orderBy('name').execute()).map((r: { name: string }) => r.name);
  let applied: string[] = [];
  try {
    applied = await read();
  } catch {
    // A new, empty store has no migrations table yet. When it has one now, another process starting at the same
    // moment made it meanwhile: read it again (a store out of reach fails there, or in the look, with its error).
    const exists = await db.introspection.getTables().then((ts) => ts.some((t) => t.name === 'whalefall_migrations'));
    if (exists) applied = await read();
  }
  const known = new Set(MIGRATION_NAMES);
  const done = new Set(applied);
  return { applied, pending: MIGRATION_NAMES.filter((n) => !done.has(n)), unknown: applied.filter((n) => !known.has(n)) };
}

export class StoreTooNewError extends Error {}

/** A store migrated by a newer Whalefall is never touched by an older one. */
async function refuseNewerStore(db: Kysely<any>): Promise<void> {
  const { unknown } = await migrationState(db);
  if (unknown.length) {
    throw new StoreTooNewError(
      `存储比本程序新，拒绝启动 (the store was upgraded by a newer Whalefall: unknown migration ${unknown.join(', ')}; ` +
        `install that version or newer, or restore a backup taken before the upgrade)`,
    );
  }
}

/** Migrate up to and including `name` only (the upgrade fixture is made at FIRST_RELEASE). */
export async function migrateTo(db: Kysely<any>, dialect: DialectName, name: string): Promise<void> {
  const { error } = await newMigrator(db, dialect).migrateTo(name);
  if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
}
