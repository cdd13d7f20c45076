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
}
