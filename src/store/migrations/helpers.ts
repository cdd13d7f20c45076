/**
 * What every migration uses: the column types that differ between the two
 * dialects and the factory signature. Below `index.ts`, so migrations never
 * import the module that imports them.
 */
import type { ColumnDefinitionBuilder, Migration } from 'kysely';

/** The two stores we run on. */
export type DialectName = 'sqlite' | 'postgres';

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

/**
 * What a data migration may need beyond SQL: `seal` encrypts a secret with the key ring (absent where no key
 * ring is loaded; a migration that needs it refuses to run without it when there is something to seal).
 */
export interface MigrationEnv {
  seal?: (clear: string) => string;
}

export type MigrationFactory = (t: ColumnTypes, dialect: DialectName, env: MigrationEnv) => Migration;
