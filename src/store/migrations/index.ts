/**
 * Migrations live in code (Kysely Migrator) and run on every start and by
 * `whalefall migrate`. Each migration is written once for both dialects;
 * the few type differences go through `t` below.
 */
import { Kysely, Migrator, type ColumnDefinitionBuilder, type Migration, type MigrationProvider } from 'kysely';
import type { DialectName } from '../db.js';
import { initialSchema } from './0001_initial.js';
import { schedulerSchema } from './0002_scheduler.js';
import { maxBytes } from './0003_max_bytes.js';
import { aggregationsSchema } from './0004_aggregations.js';
import { alertsSchema } from './0005_alerts.js';
import { tableSizesSchema } from './0006_table_sizes.js';

export interface ColumnTypes {
  id: 'integer' | 'bigserial';
  timestamp: 'text' | 'timestamptz';
  date: 'text' | 'date';
}

export function columnTypes(dialect: DialectName): ColumnTypes {
  return dialect === 'postgres'
    ? { id: 'bigserial', timestamp: 'timestamptz', date: 'date' }
    : { id: 'integer', timestamp: 'text', date: 'text' };
}

/** Auto-increment primary key: INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, bigserial on PostgreSQL. */
export function primaryId(t: ColumnTypes) {
  return (c: ColumnDefinitionBuilder) => (t.id === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey());
}

export type MigrationFactory = (t: ColumnTypes, dialect: DialectName) => Migration;

const ALL: Record<string, MigrationFactory> = {
  '0001_initial': initialSchema,
  '0002_scheduler': schedulerSchema,
  '0003_max_bytes': maxBytes,
  '0004_aggregations': aggregationsSchema,
  '0005_alerts': alertsSchema,
  '0006_table_sizes': tableSizesSchema,
};

class CodeProvider implements MigrationProvider {
  constructor(private readonly dialect: DialectName) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const t = columnTypes(this.dialect);
    return Object.fromEntries(Object.entries(ALL).map(([name, f]) => [name, f(t, this.dialect)]));
  }
}

/** Returns the names of the migrations applied now (empty when up to date). */
export async function migrateToLatest(db: Kysely<any>, dialect: DialectName): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new CodeProvider(dialect),
    migrationTableName: 'whalefall_migrations',
    migrationLockTableName: 'whalefall_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${String((error as Error).message ?? error)}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
