import type { Kysely, Transaction } from 'kysely';
import type { Database, InstanceRow, InstanceUpdate, NewInstance } from './schema.js';

export class InstancesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async list(filter: { dbType?: string; active?: boolean } = {}): Promise<InstanceRow[]> {
    let q = this.db.selectFrom('instances').selectAll();
    if (filter.dbType) q = q.where('db_type', '=', filter.dbType);
    if (filter.active !== undefined) q = q.where('is_active', '=', filter.active ? 1 : 0);
    return q.orderBy('name').execute();
  }

  async get(id: number): Promise<InstanceRow | undefined> {
    return this.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getByName(name: string): Promise<InstanceRow | undefined> {
    return this.db.selectFrom('instances').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async insert(row: NewInstance): Promise<InstanceRow> {
    return this.db.insertInto('instances').values(row).returningAll().executeTakeFirstOrThrow();
  }

  async update(id: number, patch: InstanceUpdate): Promise<InstanceRow | undefined> {
    return this.db.updateTable('instances').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  }

  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('instances').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async countUsingCredential(credentialId: number): Promise<number> {
    const r = await this.db
      .selectFrom('instances')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('credential_id', '=', credentialId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** The seed's total-sizes: one query for the whole estate. */
  async totalSizes(): Promise<{ id: number; total_size_bytes: number | null }[]> {
    return this.db.selectFrom('instances').select(['id', 'total_size_bytes']).orderBy('id').execute();
  }

  async setSyncResult(
    id: number,
    r: { status: string; at: string; error: string | null },
    db: Kysely<Database> | Transaction<Database> = this.db,
  ): Promise<void> {
    await db
      .updateTable('instances')
      .set({ last_sync_status: r.status, last_sync_at: r.at, last_sync_error: r.error })
      .where('id', '=', id)
      .execute();
  }

  /**
   * An import's writes in one transaction: all of them or none. Inserts go in
   * multi-row statements of 500; each update sets only what changed.
   */
  async applyBatch(creates: NewInstance[], updates: { id: number; patch: InstanceUpdate }[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < creates.length; i += 500) await tx.insertInto('instances').values(creates.slice(i, i + 500)).execute();
      for (const u of updates) await tx.updateTable('instances').set(u.patch).where('id', '=', u.id).execute();
    });
  }
}
