/** What the daily email digest reports: growth between two days, databases that came and went, failed syncs. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { notSnapshotOn } from './snapshot-churn.sql.js';

export interface Grower {
  instance_name: string;
  from_bytes: number;
  to_bytes: number;
  delta_bytes: number;
}

export interface DatabaseChange {
  instance_name: string;
  database_name: string;
  at: string;
}

export interface FailedSync {
  instance_name: string;
  error_code: string | null;
  error_message: string | null;
  at: string;
}

export class DigestRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Instances whose total grew most from day `from` to day `to`, largest growth first. */
  async topGrowers(from: string, to: string, limit: number): Promise<Grower[]> {
    const rows = await this.db
      .selectFrom('instance_size_stats as a')
      .innerJoin('instance_size_stats as b', (j) => j.onRef('b.instance_id', '=', 'a.instance_id').on('b.collected_date', '=', to))
      .innerJoin('instances as i', 'i.id', 'a.instance_id')
      .select(['i.name as instance_name', 'a.total_size_bytes as from_bytes', 'b.total_size_bytes as to_bytes'])
      .where('a.collected_date', '=', from)
      .execute();
    return rows
      .map((r) => ({
        instance_name: r.instance_name,
        from_bytes: Number(r.from_bytes),
        to_bytes: Number(r.to_bytes),
        delta_bytes: Number(r.to_bytes) - Number(r.from_bytes),
      }))
      .filter((r) => r.delta_bytes > 0)
      .sort((x, y) => y.delta_bytes - x.delta_bytes)
      .slice(0, limit);
  }

  /** User databases first seen after day `from` up to day `to`. */
  async newDatabases(from: string, to: string, limit: number): Promise<DatabaseChange[]> {
    return this.db
      .selectFrom('instance_databases as d')
      .innerJoin('instances as i', 'i.id', 'd.instance_id')
      .select(['i.name as instance_name', 'd.database_name', 'd.first_seen_date as at'])
      .where('d.first_seen_date', '>', from)
      .where(notSnapshotOn('d', 'first_seen_date'))
      .where('d.first_seen_date', '<=', to)
      .where('d.is_system', '=', 0)
      .orderBy('i.name')
      .orderBy('d.database_name')
      .limit(limit)
      .execute();
  }

  /** Databases marked deleted since `since` (ISO timestamp). */
  async deletedDatabases(since: string, limit: number): Promise<DatabaseChange[]> {
    const rows = await this.db
      .selectFrom('instance_databases as d')
      .innerJoin('instances as i', 'i.id', 'd.instance_id')
      .select(['i.name as instance_name', 'd.database_name', 'd.deleted_at'])
      .where('d.is_deleted', '=', 1)
      .where('d.deleted_at', '>=', since)
      .where(notSnapshotOn('d', 'last_seen_date'))
      .orderBy('i.name')
      .orderBy('d.database_name')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ instance_name: r.instance_name, database_name: r.database_name, at: r.deleted_at ?? '' }));
  }

  /** Sync records that failed since `since` (a cancel or a shutdown is not a failure of the instance). */
  async failedSyncs(since: string, limit: number): Promise<FailedSync[]> {
    const rows = await this.db
      .selectFrom('sync_instance_records')
      .select(['instance_name', 'error_code', 'error_message', 'completed_at'])
      .where('status', '=', 'failed')
      .where('completed_at', '>=', since)
      .where((eb) => eb.or([eb('error_code', 'is', null), eb('error_code', 'not in', ['cancelled', 'interrupted'])]))
      .orderBy('completed_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ instance_name: r.instance_name, error_code: r.error_code, error_message: r.error_message, at: r.completed_at ?? '' }));
  }
}
