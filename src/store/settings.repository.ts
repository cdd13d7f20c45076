import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Key/value settings edited at run time (values are JSON). */
export class SettingsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async all(): Promise<Record<string, unknown>> {
    const rows = await this.db.selectFrom('settings').select(['key', 'value']).execute();
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
  }

  async set(values: Record<string, unknown>, at: string, by: string | null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(values)) {
        if (value === null) {
          await trx.deleteFrom('settings').where('key', '=', key).execute();
          continue;
        }
        await trx
          .insertInto('settings')
          .values({ key, value: JSON.stringify(value), updated_at: at, updated_by: by })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: at, updated_by: by }))
          .execute();
      }
    });
  }
}
