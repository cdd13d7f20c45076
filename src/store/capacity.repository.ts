/**
 * The daily ledger: database_size_stats, instance_databases (lifecycle) and
 * instance_size_stats. `saveCollection` is the whole of DESIGN.md "Saving one
 * collection" in one transaction with a bounded number of statements whatever
 * the number of databases (batched upserts, never a query per database).
 */
import { sql, type Kysely, type Transaction, type Updateable } from 'kysely';
import type { CollectedDatabase } from '../domain/collection.js';
import type { DialectName } from './db.js';
import type { Msg } from '../client/shared/i18n/index.js';
import type { Database, InstancesTable } from './schema.js';
import { previousPointAt, previousPointSize, windowBaselineSize } from './sync-points.sql.js';
import { LeaseLost } from './sync.repository.js';
import {
  DAY_ROW,
  INSERT_DAY,
  INSERT_DAY_HEAD,
  INSERT_POINTS_HEAD,
  KEEP_EARLIER,
  KEEP_EARLIER_SQL,
  rowValues,
  UPSERT_CHUNK,
  upsertInstanceDay,
} from './capacity-upsert.sql.js';
import { insertRows } from './sqlite-rows.js';

/** Rows per multi-row statement: 18 parameters a row stays under SQLite's 32,766 and PostgreSQL's 65,535. */
const CHUNK = 1000;

export interface SaveCollectionInput {
  instanceId: number;
  collectedDate: string;
  collectedAt: string;
  databases: CollectedDatabase[];
  /** Present on the server but excluded by a rule: not stored, and not marked deleted either. */
  excludedNames?: string[];
}

export interface SaveCounts {
  /** Rows written for the day (one per collected database). */
  saved: number;
  /** Of those, rows that did not exist for the day yet. */
  created: number;
  /** Of those, rows of the same day overwritten (a second sync the same day). */
  updated: number;
  /** Databases seen before and gone now: marked deleted. */
  deleted: number;
  /** Databases marked deleted before and present again. */
  restored: number;
  /** Databases never seen before on this instance. */
  new_databases: number;
  total_size_bytes: number;
  database_count: number;
  deleted_names: string[];
  restored_names: string[];
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** How a successful sync completes its record, in the transaction that saves the collection. */
export interface SyncCompletion {
  recordId: number;
  /** The lock holder: the instance's lock is released if (and only if) it still holds it. */
  holder: string;
  durationMs: number;
  /** The record's `details` (stored as JSON), from the counts of the save. */
  details: (counts: SaveCounts) => Record<string, unknown>;
  /** The instance's `last_sync_error`: the warnings of a completed sync, or null. */
  instanceError: string | null;
  /** The same by key (`last_sync_error_msg`), or null. */
  instanceErrorMsg?: Msg | null;
}

export class CapacityRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /**
   * Today's rows of one chunk, in statements whose SQL does not depend on
   * the number of rows: SQLite binds them to prepared multi-row statements
   * (insertRows); PostgreSQL reads one array per column through unnest. A
   * VALUES list built through Kysely costs a syntax-tree node per value —
   * most of the save time at 20,000 databases.
   */
  private async upsertDay(trx: Transaction<Database>, instanceId: number, day: string, now: string, part: CollectedDatabase[]): Promise<void> {
    if (this.dialect === 'sqlite') {
      const rows = part.map((d) => {
        const v = rowValues(d);
        return [instanceId, v[0], day, ...v.slice(1), now, now, now];
      });
      await insertRows(trx, INSERT_DAY_HEAD, DAY_ROW, KEEP_EARLIER_SQL, rows);
      return;
    }
    const cols = Array.from({ length: 17 }, () => [] as unknown[]);
    for (const d of part) rowValues(d).forEach((v, i) => cols[i]!.push(v));
    await sql`${INSERT_DAY}
      SELECT ${instanceId}, r.n, ${day}::date, r.s, r.d, r.i, r.l, r.f, r.u, r.m, r.method, r.error, r.note, r.snap, r.role, r.grp, r.a, r.em, r.nm, ${now}::timestamptz, 0, NULL, ${now}::timestamptz, ${now}::timestamptz
      FROM unnest(${cols[0]}::text[], ${cols[1]}::int8[], ${cols[2]}::int8[], ${cols[3]}::int8[], ${cols[4]}::int8[], ${cols[5]}::int8[], ${cols[6]}::int8[],
                  ${cols[7]}::int8[], ${cols[8]}::text[], ${cols[9]}::text[], ${cols[10]}::text[], ${cols[11]}::int4[], ${cols[12]}::text[], ${cols[13]}::text[], ${cols[14]}::int8[],
                  ${cols[15]}::text[], ${cols[16]}::text[])
        AS r(n, s, d, i, l, f, u, m, method, error, note, snap, role, grp, a, em, nm)
      ${KEEP_EARLIER}`.execute(trx);
  }

  /**
   * The per-sync series (0013): the instance total under database_name '' and
   * every database measured this time, at `now`; one statement per chunk,
   * rows passed as one parameter like upsertDay.
   */
  private async insertPoints(trx: Transaction<Database>, instanceId: number, now: string, total: number, measured: CollectedDatabase[]): Promise<void> {
    const points: [string, number][] = [['', total], ...measured.map((d): [string, number] => [d.database_name, d.size_bytes!])];
    if (this.dialect === 'sqlite') {
      await insertRows(
        trx,
        INSERT_POINTS_HEAD,
        '(?, ?, ?, ?)',
        '',
        points.map(([name, size]) => [instanceId, name, size, now]),
      );
      return;
    }
    for (const part of chunks(points, UPSERT_CHUNK)) {
      await sql`INSERT INTO sync_size_points (instance_id, database_name, size_bytes, collected_at)
        SELECT ${instanceId}, r.n, r.s, ${now}::timestamptz FROM unnest(${part.map((p) => p[0])}::text[], ${part.map((p) => p[1])}::int8[]) AS r(n, s)`.execute(
        trx,
      );
    }
  }

  /**
   * Save one successful collection. Callers must never pass an empty list:
   * "not collected" is not "gone" (the sync service refuses empty collections).
   */
  saveCollection(input: SaveCollectionInput): Promise<SaveCounts> {
    return this.save(input);
  }

  /**
   * A sync's successful end, all or nothing: save the collection, complete
   * its record with the counts, set the instance's last sync result and
   * release the instance's lock — one transaction, so a crash leaves either
   * the whole day saved and the record completed, or neither.
   */
  saveSyncedCollection(input: SaveCollectionInput, done: SyncCompletion): Promise<SaveCounts> {
    // The instance's last sync result goes with its totals (one update of the row, not two).
    const lastSync = {
      last_sync_status: 'completed',
      last_sync_at: input.collectedAt,
      last_sync_error: done.instanceError,
      last_sync_error_msg: done.instanceErrorMsg ? JSON.stringify(done.instanceErrorMsg) : null,
    };
    return this.save(
      input,
      async (trx, c, instanceSet) => {
        const completed = {
          status: 'completed',
          completed_at: input.collectedAt,
          duration_ms: done.durationMs,
          databases_count: c.database_count,
          saved_count: c.saved,
          created_count: c.created,
          updated_count: c.updated,
          deleted_count: c.deleted,
          restored_count: c.restored,
          total_size_bytes: c.total_size_bytes,
          error_code: null,
          error_message: null,
          error_msg: null,
          details: JSON.stringify(done.details(c)),
        };
        // Only while `done.holder` still holds the record: one whose lease ran out (a store outage, a cut link) was
        // handed to another process, and this save rolls back (LeaseLost) instead of completing it twice.
        const complete = trx
          .updateTable('sync_instance_records')
          .set(completed)
          .where('id', '=', done.recordId)
          .where('holder', '=', done.holder)
          .where('status', '=', 'running');
        if (this.dialect === 'postgres') {
          // Complete the record, update the instance's row and let go of the lock in one statement (the lock only if the
          // record was still held; a lost lease rolls the whole transaction back).
          const r = await trx
            .with('done', () => complete.returning('id'))
            .with('inst', (db) => db.updateTable('instances').set(instanceSet).where('id', '=', input.instanceId).returning('id'))
            .with('unlocked', (db) =>
              db
                .deleteFrom('sync_locks')
                .where('instance_id', '=', input.instanceId)
                .where('holder', '=', done.holder)
                .where(sql<boolean>`EXISTS (SELECT 1 FROM done)`)
                .returning('instance_id'),
            )
            .selectNoFrom([sql<number>`(SELECT count(*) FROM done)`.as('n'), sql<number>`(SELECT count(*) FROM unlocked)`.as('u')])
            .executeTakeFirstOrThrow();
          if (Number(r.n) === 0) throw new LeaseLost();
          return true;
        }
        if (Number((await complete.executeTakeFirst()).numUpdatedRows) === 0) throw new LeaseLost();
        await trx.deleteFrom('sync_locks').where('instance_id', '=', input.instanceId).where('holder', '=', done.holder).execute();
        return false;
      },
      lastSync,
    );
  }

  private async save(
    input: SaveCollectionInput,
    /** Runs last in the transaction; true when it also wrote `instance` (the instance row's new columns) to the instance's row. */
    inTransaction?: (trx: Transaction<Database>, counts: SaveCounts, instance: Updateable<InstancesTable>) => Promise<boolean>,
    /** More columns of the instance's row, set with its totals. */
    instanceExtra: Updateable<InstancesTable> = {},
  ): Promise<SaveCounts> {
    if (input.databases.length === 0) throw new Error('saveCollection: refusing an empty collection');
    const { instanceId, collectedDate: day, collectedAt: now } = input;
    const seen = new Set<string>();
    for (const d of input.databases) {
      if (seen.has(d.database_name)) throw new Error(`duplicate database name in collection: ${d.database_name}`);
      seen.add(d.database_name);
    }

    return this.db.transaction().execute(async (trx) => {
      // Today's rows (is_deleted NULL) and the lifecycle rows, in one read. SQLite is told which index finds today's
      // rows: left to itself (no statistics) it walks the instance's entries of the covering unique index, every day
      // of its history (at 2,000 databases and a year kept: 76 ms instead of 1.7 ms).
      const todayFrom = this.dialect === 'sqlite' ? sql`database_size_stats INDEXED BY database_size_stats_instance_date` : sql`database_size_stats`;
      const { rows } = await sql<{ database_name: string; is_deleted: number | null; last_seen_date: string | null }>`
        SELECT database_name, NULL AS is_deleted, NULL AS last_seen_date FROM ${todayFrom} WHERE instance_id = ${instanceId} AND collected_date = ${day}
        UNION ALL
        SELECT database_name, is_deleted, last_seen_date FROM instance_databases WHERE instance_id = ${instanceId}`.execute(trx);
      const todayRows = rows.filter((r) => r.is_deleted === null);
      const lifecycle = rows.filter((r) => r.is_deleted !== null);

      const today = new Set(todayRows.map((r) => r.database_name));
      const known = new Map(lifecycle.map((r) => [r.database_name, r.is_deleted === 1]));
      const created = input.databases.filter((d) => !today.has(d.database_name)).length;
      const newOnes = input.databases.filter((d) => !known.has(d.database_name));
      const restoredNames = input.databases.filter((d) => known.get(d.database_name) === true).map((d) => d.database_name);
      const excluded = new Set(input.excludedNames ?? []);
      const gone = (n: string) => !seen.has(n) && !excluded.has(n);
      const goneNames = lifecycle.filter((r) => r.is_deleted === 0 && gone(r.database_name)).map((r) => r.database_name);
      const goneToday = todayRows.map((r) => r.database_name).filter(gone);

      // 1. Today's rows: batched upsert. A database that could not be measured
      //    this time keeps the size measured earlier the same day, if any.
      for (const part of chunks(input.databases, UPSERT_CHUNK)) await this.upsertDay(trx, instanceId, day, now, part);

      // 2. Today's rows of databases no longer present: soft delete (the seed's rule).
      for (const part of chunks(goneToday)) {
        await trx
          .updateTable('database_size_stats')
          .set({ is_deleted: 1, deleted_at: now, updated_at: now })
          .where('instance_id', '=', instanceId)
          .where('collected_date', '=', day)
          .where('is_deleted', '=', 0)
          .where('database_name', 'in', part)
          .execute();
      }

      // 3. Lifecycle: gone → deleted, back → restored, new → first seen, present → last seen.
      for (const part of chunks(goneNames)) {
        await trx
          .updateTable('instance_databases')
          .set({ is_deleted: 1, deleted_at: now, updated_at: now })
          .where('instance_id', '=', instanceId)
          .where('database_name', 'in', part)
          .execute();
      }
      for (const part of chunks(restoredNames)) {
        await trx
          .updateTable('instance_databases')
          .set({ is_deleted: 0, deleted_at: null, updated_at: now })
          .where('instance_id', '=', instanceId)
          .where('database_name', 'in', part)
          .execute();
      }
      for (const part of chunks(newOnes)) {
        await trx
          .insertInto('instance_databases')
          .values(
            part.map((d) => ({
              instance_id: instanceId,
              database_name: d.database_name,
              is_system: d.is_system ? 1 : 0,
              first_seen_date: day,
              last_seen_date: day,
              is_deleted: 0,
              deleted_at: null,
              created_at: now,
              updated_at: now,
            })),
          )
          .execute();
      }
      // Every lifecycle row still not deleted is now the collected set (plus excluded ones, left as they were);
      // none to touch when every such row was seen today already (a first sync inserts them so, a second one finds them so).
      const stale = lifecycle.some((r) => r.is_deleted === 0 && r.last_seen_date !== day && !gone(r.database_name)) || restoredNames.length > 0;
      if (stale)
        await trx
          .updateTable('instance_databases')
          .set({ last_seen_date: day, updated_at: now })
          .where('instance_id', '=', instanceId)
          .where('is_deleted', '=', 0)
          .where('last_seen_date', '<>', day)
          .$if(excluded.size > 0 && excluded.size <= CHUNK, (q) => q.where('database_name', 'not in', [...excluded]))
          .execute();

      // 4. Totals from what is stored for the day, written as the instance's day (one statement).
      const measured = input.databases.filter((d) => d.size_bytes !== null && d.size_bytes !== undefined);
      // PostgreSQL: the per-sync series' points go with the totals (one statement) when they fit one.
      const pointsWith = this.dialect === 'postgres' && measured.length < UPSERT_CHUNK;
      const points = pointsWith ? { names: measured.map((d) => d.database_name), sizes: measured.map((d) => d.size_bytes!) } : undefined;
      const totals = await upsertInstanceDay(this.dialect, instanceId, day, now, excluded, CHUNK, points)
        .execute(trx)
        .then((r) => r.rows[0]!);
      const total = Number(totals.total_size_bytes);
      const count = Number(totals.database_count);
      if (!pointsWith) await this.insertPoints(trx, instanceId, now, total, measured);

      const instanceSet = { ...instanceExtra, total_size_bytes: total, database_count: count, last_connected: now };

      const counts: SaveCounts = {
        saved: input.databases.length,
        created,
        updated: input.databases.length - created,
        deleted: goneNames.length,
        restored: restoredNames.length,
        new_databases: newOnes.length,
        total_size_bytes: total,
        database_count: count,
        deleted_names: goneNames,
        restored_names: restoredNames,
      };
      // The instance's row: updated here, unless the caller's statement did it with its own.
      if (!(inTransaction && (await inTransaction(trx, counts, instanceSet))))
        await trx.updateTable('instances').set(instanceSet).where('id', '=', instanceId).execute();
      return counts;
    });
  }

  /** Every database ever seen on the instance with its latest known size and its size at the sync before the last (one query). */
  async listDatabases(instanceId: number) {
    return (
      this.db
        .selectFrom('instance_databases as d')
        .leftJoin('database_size_stats as s', (j) =>
          j.onRef('s.instance_id', '=', 'd.instance_id').onRef('s.database_name', '=', 'd.database_name').onRef('s.collected_date', '=', 'd.last_seen_date'),
        )
        .select([
          'd.database_name',
          'd.is_system',
          'd.is_deleted',
          'd.deleted_at',
          'd.first_seen_date',
          'd.last_seen_date',
          's.size_bytes',
          's.data_bytes',
          's.index_bytes',
          's.log_bytes',
          's.free_bytes',
          's.used_bytes',
          's.max_bytes',
          's.allocated_bytes',
          's.is_snapshot',
          's.replica_role',
          's.method',
          's.error',
          's.note',
          's.error_msg',
          's.note_msg',
          's.collected_at',
        ])
        .select(previousPointSize(sql.ref('d.instance_id'), sql.ref('d.database_name')).as('previous_sync_bytes'))
        .where('d.instance_id', '=', instanceId)
        .orderBy('d.is_deleted')
        // NULLs sort differently in SQLite and PostgreSQL: put unknown sizes last on both.
        .orderBy(sql`CASE WHEN s.size_bytes IS NULL THEN 1 ELSE 0 END`)
        .orderBy('s.size_bytes', 'desc')
        .orderBy('d.database_name')
        .execute()
    );
  }

  /**
   * The instance's change since the previous sync and over each window
   * (`since`: ISO timestamps by name) from the per-sync series; null where
   * there is no earlier point.
   */
  async instanceChanges(instanceId: number, since: Record<string, string>) {
    const id = sql.lit(instanceId);
    const none = sql`''`;
    const row = await this.db
      .selectFrom('instances')
      .select(['total_size_bytes', 'last_connected'])
      .select(previousPointSize(id, none).as('previous_bytes'))
      .select(previousPointAt(id, none).as('previous_at'))
      .select(Object.entries(since).map(([k, ts]) => windowBaselineSize(id, none, ts).as(k)))
      .where('id', '=', instanceId)
      .executeTakeFirst();
    return row as
      (Record<string, number | string | null> & { total_size_bytes: number | null; previous_bytes: number | null; previous_at: string | null }) | undefined;
  }

  /** Daily instance totals in [from, to]. */
  async instanceHistory(instanceId: number, from: string, to: string) {
    return this.db
      .selectFrom('instance_size_stats')
      .select(['collected_date', 'total_size_bytes', 'data_bytes', 'log_bytes', 'database_count', 'collected_at'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', '>=', from)
      .where('collected_date', '<=', to)
      .orderBy('collected_date')
      .execute();
  }

  /** Raw daily rows of one instance for a day (tests and exports). */
  async statsForDay(instanceId: number, day: string) {
    return this.db
      .selectFrom('database_size_stats')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('collected_date', '=', day)
      .orderBy('database_name')
      .execute();
  }
}
