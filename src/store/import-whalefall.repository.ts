/**
 * Writes of the import from an original WhaleFall store: per instance, one
 * transaction (rolled back on a dry run, so its counts are exact). History
 * rows never replace what is already here (ON CONFLICT DO NOTHING on the
 * (instance, database, day) key): a second run adds nothing, and a day this
 * service measured itself keeps its byte-exact figure.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, InstanceRow, NewInstance } from './schema.js';

/** `method` of imported history rows: sizes were whole megabytes (MB × 1,048,576 bytes). */
export const IMPORT_METHOD = 'whalefall_mb';

export interface ImportedSizeRow {
  database_name: string;
  collected_date: string;
  size_bytes: number;
  data_bytes: number | null;
  log_bytes: number | null;
  collected_at: string;
  is_deleted: boolean;
  deleted_at: string | null;
}

export interface LifecycleSpan {
  database_name: string;
  first_seen_date: string;
  last_seen_date: string;
  is_deleted: boolean;
  deleted_at: string | null;
}

/** Rows per INSERT: 10 columns each stays far below SQLite's 32,766 parameters. */
const BATCH = 1000;

class DryRun extends Error {}

export class ImportWhalefallRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Runs `fn` in a transaction; rolls it back when `dryRun`, returning what `fn` returned either way. */
  async unit<T>(dryRun: boolean, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    let out!: T;
    try {
      await this.db.transaction().execute(async (trx) => {
        out = await fn(trx);
        if (dryRun) throw new DryRun();
      });
    } catch (err) {
      if (!(err instanceof DryRun)) throw err;
    }
    return out;
  }

  async instanceByName(trx: Transaction<Database>, name: string): Promise<InstanceRow | undefined> {
    return trx.selectFrom('instances').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async insertInstance(trx: Transaction<Database>, row: NewInstance): Promise<number> {
    const r = await trx.insertInto('instances').values(row).returning('id').executeTakeFirstOrThrow();
    return r.id;
  }

  /** Inserts the rows not already present; returns how many were inserted. */
  async insertHistory(trx: Transaction<Database>, instanceId: number, rows: readonly ImportedSizeRow[], now: string): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += BATCH) {
      const r = await trx
        .insertInto('database_size_stats')
        .values(
          rows.slice(i, i + BATCH).map((x) => ({
            instance_id: instanceId,
            database_name: x.database_name,
            collected_date: x.collected_date,
            size_bytes: x.size_bytes,
            data_bytes: x.data_bytes,
            index_bytes: null,
            log_bytes: x.log_bytes,
            free_bytes: null,
            used_bytes: null,
            max_bytes: null,
            method: IMPORT_METHOD,
            error: null,
            collected_at: x.collected_at,
            is_deleted: x.is_deleted ? 1 : 0,
            deleted_at: x.deleted_at,
            created_at: now,
            updated_at: now,
          })),
        )
        .onConflict((oc) => oc.columns(['instance_id', 'database_name', 'collected_date']).doNothing())
        .executeTakeFirst();
      inserted += Number(r.numInsertedOrUpdatedRows ?? 0);
    }
    return inserted;
  }

  /**
   * Lifecycle rows for the imported databases: new ones take the original's
   * span and deletion; known ones only reach further back (their present
   * state is this service's own, newer observation). Returns how many were created.
   */
  async mergeLifecycle(trx: Transaction<Database>, instanceId: number, spans: readonly LifecycleSpan[], now: string): Promise<number> {
    let created = 0;
    for (const s of spans) {
      const r = await trx
        .insertInto('instance_databases')
        .values({
          instance_id: instanceId,
          database_name: s.database_name,
          is_system: 0,
          first_seen_date: s.first_seen_date,
          last_seen_date: s.last_seen_date,
          is_deleted: s.is_deleted ? 1 : 0,
          deleted_at: s.deleted_at,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['instance_id', 'database_name']).doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) created++;
      else {
        await trx
          .updateTable('instance_databases')
          .set({ first_seen_date: s.first_seen_date })
          .where('instance_id', '=', instanceId)
          .where('database_name', '=', s.database_name)
          .where('first_seen_date', '>', s.first_seen_date)
          .execute();
      }
    }
    return created;
  }

  /** Instance totals (sum of the databases present) for the days in [from, to] that have none yet. */
  async fillInstanceTotals(trx: Transaction<Database>, instanceId: number, from: string, to: string): Promise<number> {
    const r = await trx
      .insertInto('instance_size_stats')
      .columns(['instance_id', 'collected_date', 'total_size_bytes', 'data_bytes', 'log_bytes', 'database_count', 'collected_at'])
      .expression(
        trx
          .selectFrom('database_size_stats as s')
          .select((eb) => [
            sql<number>`${instanceId}`.as('instance_id'),
            's.collected_date',
            eb.fn.coalesce(eb.fn.sum<number>('s.size_bytes'), sql<number>`0`).as('total_size_bytes'),
            eb.fn.sum<number>('s.data_bytes').as('data_bytes'),
            eb.fn.sum<number>('s.log_bytes').as('log_bytes'),
            eb.fn.countAll<number>().as('database_count'),
            eb.fn.max('s.collected_at').as('collected_at'),
          ])
          .where('s.instance_id', '=', instanceId)
          .where('s.is_deleted', '=', 0)
          .where('s.collected_date', '>=', from)
          .where('s.collected_date', '<=', to)
          .groupBy('s.collected_date'),
      )
      .onConflict((oc) => oc.columns(['instance_id', 'collected_date']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0);
  }

  /** An instance created by the import shows its latest imported totals in the list. */
  async setLatestTotals(trx: Transaction<Database>, instanceId: number): Promise<void> {
    const latest = await trx
      .selectFrom('instance_size_stats')
      .select(['total_size_bytes', 'database_count', 'collected_at'])
      .where('instance_id', '=', instanceId)
      .orderBy('collected_date', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!latest) return;
    await trx
      .updateTable('instances')
      .set({ total_size_bytes: latest.total_size_bytes, database_count: latest.database_count })
      .where('id', '=', instanceId)
      .execute();
  }
}
