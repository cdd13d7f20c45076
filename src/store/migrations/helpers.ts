/**
 * What every migration uses: the column types that differ between the two
 * dialects and the factory signature. Below `index.ts`, so migrations never
 * import the module that imports them.
 */
import type { ColumnDefinitionBuilder, Kysely, Migration } from 'kysely';

/** The two stores we run on. */
export type DialectName = 'sqlite' | 'postgres';

export interface ColumnTypes {
  id: 'integer' | 'bigserial';
  timestamp: 'text' | 'timestamptz';
  date: 'text' | 'date';
}

export function columnTypes(dialect: DialectName): ColumnTypes {
  return dialect === 'postgres' ? { id: 'bigserial', timestamp: 'timestamptz', date: 'date' } : { id: 'integer', timestamp: 'text', date: 'text' };
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

/**
 * Write `method: 'logical'` into every MySQL/MariaDB instance whose options
 * name no method, so its history stays measured the way it was (0012, and
 * again in 0018 for instances added between the two, when the engine's
 * default was still logical). Of an unreadable options text only the
 * method is written; the rest is left for the service to report.
 */
export async function pinMysqlMethod(db: Kysely<any>): Promise<void> {
  const rows = (await db.selectFrom('instances').select(['id', 'options']).where('db_type', 'in', ['mysql', 'mariadb']).execute()) as {
    id: number;
    options: string | null;
  }[];
  for (const r of rows) {
    let options: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(r.options ?? '{}');
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) options = parsed as Record<string, unknown>;
    } catch {
      // unreadable: only the method is written
    }
    if (options.method !== undefined) continue;
    await db
      .updateTable('instances')
      .set({ options: JSON.stringify({ ...options, method: 'logical' }) })
      .where('id', '=', r.id)
      .execute();
  }
}
