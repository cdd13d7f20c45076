/**
 * The scrape-time queries of /metrics. Each is ONE statement for the whole
 * estate (never a query per instance), so a scrape costs the same few round
 * trips whether there are 5 instances or 5,000.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface InstanceMetricRow {
  id: number;
  name: string;
  db_type: string;
  /** 1 enabled, 0 disabled (SQLite flag; PostgreSQL smallint). */
  is_active: number;
  /** Total of the latest successful collection (kept on the instance row by saveCollection). */
  total_size_bytes: number | null;
  last_sync_status: string | null;
  /** Set only when a collection was saved: the last successful sync. */
  last_connected: string | null;
  /** JSON array of the instance's tags. */
  tags: string;
  /** JSON object of the instance's options (capacity_limit_bytes is exported). */
  options: string;
}

export interface DatabaseMetricRow {
  instance_id: number;
  instance_name: string;
  database_name: string;
  size_bytes: number;
}

export class MetricsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async instances(): Promise<InstanceMetricRow[]> {
    return this.db
      .selectFrom('instances')
      .select(['id', 'name', 'db_type', 'is_active', 'total_size_bytes', 'last_sync_status', 'last_connected', 'tags', 'options'])
      .orderBy('id')
      .execute();
  }

  /**
   * The largest live databases of each instance's latest collected day, at most
   * `perInstance` per instance and none under `minBytes`: the cap that keeps the
   * label set of `whalefall_database_size_bytes` bounded (instances × perInstance).
   * The latest day is found per instance through the (instance_id, collected_date)
   * index, then ranked with a window function (SQLite ≥ 3.25 and PostgreSQL alike).
   */
  async topDatabases(perInstance: number, minBytes: number): Promise<DatabaseMetricRow[]> {
    if (perInstance <= 0) return [];
    const r = await sql<DatabaseMetricRow>`
      WITH latest AS (
        SELECT i.id AS instance_id, i.name AS instance_name,
               (SELECT MAX(s.collected_date) FROM database_size_stats s WHERE s.instance_id = i.id) AS day
        FROM instances i
      ),
      ranked AS (
        SELECT l.instance_id, l.instance_name, s.database_name, s.size_bytes,
               ROW_NUMBER() OVER (PARTITION BY s.instance_id ORDER BY s.size_bytes DESC, s.database_name) AS rn
        FROM latest l
        JOIN database_size_stats s ON s.instance_id = l.instance_id AND s.collected_date = l.day
        WHERE s.is_deleted = 0 AND s.size_bytes IS NOT NULL AND s.size_bytes >= ${minBytes}
      )
      SELECT instance_id, instance_name, database_name, size_bytes
      FROM ranked WHERE rn <= ${perInstance}
      ORDER BY instance_id, rn`.execute(this.db);
    return r.rows.map((x) => ({ ...x, instance_id: Number(x.instance_id), size_bytes: Number(x.size_bytes) }));
  }

  /** db_type of one instance (labels the sync duration histogram); undefined when it is gone. */
  async dbType(instanceId: number): Promise<string | undefined> {
    const r = await this.db.selectFrom('instances').select('db_type').where('id', '=', instanceId).executeTakeFirst();
    return r?.db_type;
  }
}
