/** Where the bytes went, per (instance, day): one JSON row a day (0014). */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface CompositionRow {
  instance_id: number;
  collected_date: string;
  parts: string;
  ceiling_bytes: number | null;
  ceiling_source: string | null;
  disk_used_bytes: number | null;
  /** JSON: the ceiling's detail or why it is unknown. */
  ceiling_detail: string | null;
  method: string;
  collected_at: string;
}

export class CompositionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A day's second collection replaces the first. */
  async save(row: CompositionRow): Promise<void> {
    await this.db
      .insertInto('instance_composition')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['instance_id', 'collected_date']).doUpdateSet((eb) => ({
          parts: eb.ref('excluded.parts'),
          ceiling_bytes: eb.ref('excluded.ceiling_bytes'),
          ceiling_source: eb.ref('excluded.ceiling_source'),
          disk_used_bytes: eb.ref('excluded.disk_used_bytes'),
          ceiling_detail: eb.ref('excluded.ceiling_detail'),
          method: eb.ref('excluded.method'),
          collected_at: eb.ref('excluded.collected_at'),
        })),
      )
      .execute();
  }

  /** Days in [from, to], oldest first. */
  async history(instanceId: number, from: string, to: string): Promise<CompositionRow[]> {
    return this.db
      .selectFrom('instance_composition')
      .select(['instance_id', 'collected_date', 'parts', 'ceiling_bytes', 'ceiling_source', 'disk_used_bytes', 'ceiling_detail', 'method', 'collected_at'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .orderBy('collected_date')
      .execute();
  }

  /** The latest engine-reported ceiling of each instance that has one. */
  async latestCeilings(instanceIds: readonly number[]): Promise<Map<number, { bytes: number; source: string | null }>> {
    if (!instanceIds.length) return new Map();
    const rows = await this.db
      .selectFrom('instance_composition as c')
      .select(['c.instance_id', 'c.ceiling_bytes', 'c.ceiling_source'])
      .where('c.instance_id', 'in', instanceIds)
      .where('c.ceiling_bytes', 'is not', null)
      .where('c.collected_date', '=', (eb) =>
        eb
          .selectFrom('instance_composition as m')
          .select((e2) => e2.fn.max('m.collected_date').as('d'))
          .whereRef('m.instance_id', '=', 'c.instance_id')
          .where('m.ceiling_bytes', 'is not', null),
      )
      .execute();
    return new Map(rows.map((r) => [r.instance_id, { bytes: r.ceiling_bytes!, source: r.ceiling_source }]));
  }
}
