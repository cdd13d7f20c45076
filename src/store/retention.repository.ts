/**
 * Deleting old raw daily rows (database_size_stats) and old per-sync points
 * (sync_size_points) in bounded batches. Only those tables: aggregates,
 * instance totals and the database lifecycle are never touched here.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class RetentionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Delete at most `limit` rows collected before `beforeDate` ('YYYY-MM-DD',
   * exclusive); returns how many went. One short statement per call (found
   * through the collected_date index), so each write transaction stays small.
   */
  /** Delete at most `limit` per-sync points (sync_size_points) collected before `before` (ISO timestamp). */
  async deletePointsBatch(before: string, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('sync_size_points')
      .where('id', 'in', (q) => q.selectFrom('sync_size_points').select('id').where('collected_at', '<', before).limit(limit))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async deleteBatch(beforeDate: string, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('database_size_stats')
      .where('id', 'in', (q) => q.selectFrom('database_size_stats').select('id').where('collected_date', '<', beforeDate).limit(limit))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
