/**
 * Raw daily history for CSV export, read page by page with keyset pagination
 * on (collected_date, instance_id, database_name) — the table's unique key —
 * so memory stays bounded by one page whatever the range, on both dialects.
 * (Kysely's `.stream()` would need pg-cursor on PostgreSQL; keyset pages need
 * nothing and never hold a transaction or a cursor open while the client reads.)
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface HistoryRow {
  collected_date: string;
  instance_id: number;
  instance_name: string;
  database_name: string;
  size_bytes: number | null;
  data_bytes: number | null;
  index_bytes: number | null;
  log_bytes: number | null;
  free_bytes: number | null;
  used_bytes: number | null;
  max_bytes: number | null;
  is_deleted: number;
  collected_at: string;
}

export interface HistoryFilter {
  instanceId?: number;
  /** Inclusive 'YYYY-MM-DD' bounds. */
  from?: string;
  to?: string;
}

export const EXPORT_PAGE_SIZE = 2000;

export class ExportRepository {
  constructor(
    private readonly db: Kysely<Database>,
    readonly pageSize = EXPORT_PAGE_SIZE,
  ) {}

  /** One page after `after` (exclusive), in key order. */
  async page(f: HistoryFilter, after: Pick<HistoryRow, 'collected_date' | 'instance_id' | 'database_name'> | undefined): Promise<HistoryRow[]> {
    let q = this.db
      .selectFrom('database_size_stats as s')
      .innerJoin('instances as i', 'i.id', 's.instance_id')
      .select([
        's.collected_date',
        's.instance_id',
        'i.name as instance_name',
        's.database_name',
        's.size_bytes',
        's.data_bytes',
        's.index_bytes',
        's.log_bytes',
        's.free_bytes',
        's.used_bytes',
        's.max_bytes',
        's.is_deleted',
        's.collected_at',
      ]);
    if (f.instanceId !== undefined) q = q.where('s.instance_id', '=', f.instanceId);
    if (f.from) q = q.where('s.collected_date', '>=', f.from);
    if (f.to) q = q.where('s.collected_date', '<=', f.to);
    if (after) {
      // Row-value comparison (SQLite ≥ 3.15, PostgreSQL): the next page starts right after the last key.
      q = q.where(sql<boolean>`(s.collected_date, s.instance_id, s.database_name) > (${after.collected_date}, ${after.instance_id}, ${after.database_name})`);
    }
    const rows = await q.orderBy('s.collected_date').orderBy('s.instance_id').orderBy('s.database_name').limit(this.pageSize).execute();
    return rows.map((r) => ({ ...r, instance_id: Number(r.instance_id) }));
  }

  /** Every row of the filter, fetched one page at a time as the consumer pulls. */
  async *rows(f: HistoryFilter): AsyncGenerator<HistoryRow> {
    let after: HistoryRow | undefined;
    for (;;) {
      const page = await this.page(f, after);
      yield* page;
      if (page.length < this.pageSize) return;
      after = page[page.length - 1];
    }
  }
}
