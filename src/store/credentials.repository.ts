import type { Kysely, Updateable, Insertable } from 'kysely';
import type { CredentialRow, CredentialsTable, Database } from './schema.js';

export class CredentialsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  list(): Promise<CredentialRow[]> {
    return this.db.selectFrom('credentials').selectAll().orderBy('name').execute();
  }
  get(id: number): Promise<CredentialRow | undefined> {
    return this.db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
  }
  getByName(name: string): Promise<CredentialRow | undefined> {
    return this.db.selectFrom('credentials').selectAll().where('name', '=', name).executeTakeFirst();
  }
  insert(row: Insertable<CredentialsTable>): Promise<CredentialRow> {
    return this.db.insertInto('credentials').values(row).returningAll().executeTakeFirstOrThrow();
  }
  update(id: number, patch: Updateable<CredentialsTable>): Promise<CredentialRow | undefined> {
    return this.db.updateTable('credentials').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  }
  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('credentials').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Rewrite every password in one transaction: all re-encrypted, or none. */
  async reencryptAll(reencrypt: (row: CredentialRow) => { password_enc: string; key_id: string } | undefined, now: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      let n = 0;
      for (const row of await trx.selectFrom('credentials').selectAll().orderBy('id').execute()) {
        const next = reencrypt(row);
        if (!next) continue;
        await trx
          .updateTable('credentials')
          .set({ ...next, updated_at: now })
          .where('id', '=', row.id)
          .execute();
        n++;
      }
      return n;
    });
  }
  async countByKey(): Promise<{ key_id: string; n: number }[]> {
    const rows = await this.db
      .selectFrom('credentials')
      .select(['key_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('key_id')
      .execute();
    return rows.map((r) => ({ key_id: r.key_id, n: Number(r.n) }));
  }
}
