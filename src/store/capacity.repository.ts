/**
 * The daily ledger: database_size_stats, instance_databases (lifecycle) and
 * instance_size_stats. `saveCollection` is the whole of DESIGN.md "Saving one
 * collection", all or nothing, in a bounded number of statements whatever the
 * number of databases (batched upserts, never a query per database): on
 * SQLite one transaction, on PostgreSQL a read and one statement
 * (capacity-save.pg.ts).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CollectedDatabase } from '../domain/collection.js';
import type { DialectName } from './db.js';
import type { Msg } from '../client/shared/i18n/index.js';
import type { Database } from './schema.js';
import { previousPointAt, previousPointSize, windowBaselineAt, windowBaselineSize } from './sync-points.sql.js';
import { LeaseLost } from './sync.repository.js';
import {
  DAY_ROW,
  INSERT_DAY_HEAD,
  INSERT_LIFECYCLE_HEAD,
  INSERT_POINTS_HEAD,
  LIFECYCLE_ROW,
  KEEP_EARLIER_SQL,
  rowValues,
  UPSERT_CHUNK,
  upsertInstanceDay,
} from './capacity-upsert.sql.js';
import { saveStatement, type SavePlan } from './capacity-save.pg.js';
import { insertRows } from './sqlite-rows.js';
import { compiledOnce } from './compiled-once.js';

/** SQLite: names per `IN` list and rows per multi-row statement (18 parameters a row stays under its 32,766). */
const CHUNK = 1000;

export interface SaveCollectionInput {
  instanceId: number;
  collectedDate: string;
  collectedAt: string;
  databases: CollectedDatabase[];
  /** Present on the server but excluded by a rule: not stored, and not marked deleted either. */
  excludedNames?: string[];
}

/** What a save changes, known from the collection and the store's rows before it writes. */
export interface LifecycleCounts {
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
  deleted_names: string[];
  restored_names: string[];
}

/** What a save did, with the day's total it wrote. */
export interface SaveCounts extends LifecycleCounts {
  total_size_bytes: number;
  database_count: number;
}

interface LedgerRow {
  database_name: string;
  is_deleted: number | null;
  last_seen_date: string | null;
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The lifecycle of one save (both stores): what is new, back, gone, and the counts, from today's rows and the lifecycle rows. */
function planSave(input: SaveCollectionInput, seen: ReadonlySet<string>, rows: LedgerRow[]): SavePlan & { counts: LifecycleCounts } {
  const { collectedDate: day } = input;
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
  // None to touch when every row still not deleted was seen today already (a first sync inserts them so, a second one finds them so).
  const stale = lifecycle.some((r) => r.is_deleted === 0 && r.last_seen_date !== day && !gone(r.database_name));
  const counts: LifecycleCounts = {
    saved: input.databases.length,
    created,
    updated: input.databases.length - created,
    deleted: goneNames.length,
    restored: restoredNames.length,
    new_databases: newOnes.length,
    deleted_names: goneNames,
    restored_names: restoredNames,
  };
  return { goneToday, goneNames, restoredNames, newOnes, stale, excluded, counts };
}

/** How a successful sync completes its record, in the transaction that saves the collection. */
export interface SyncCompletion {
  recordId: number;
  /** The lock holder: the instance's lock is released if (and only if) it still holds it. */
  holder: string;
  durationMs: number;
  /** The record's `details` (stored as JSON), from the counts of the save. */
  details: (counts: LifecycleCounts) => Record<string, unknown>;
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

  /** SQLite's sync path: the instance's totals and last sync result (compiled once: every record runs it). */
  private readonly syncedTotals = compiledOnce(
    () => this.db,
    (db, v: { id: number; total: number; count: number; now: string; status: string; at: string; error: string | null; errorMsg: string | null }) =>
      db
        .updateTable('instances')
        .set({
          total_size_bytes: v.total,
          database_count: v.count,
          last_connected: v.now,
          last_sync_status: v.status,
          last_sync_at: v.at,
          last_sync_error: v.error,
          last_sync_error_msg: v.errorMsg,
        })
        .where('id', '=', v.id),
  );

  /** SQLite's sync path: the record completed, while its holder still holds it. */
  private readonly completed = compiledOnce(
    () => this.db,
    (
      db,
      v: {
        id: number;
        holder: string;
        now: string;
        durationMs: number;
        count: number;
        saved: number;
        created: number;
        updated: number;
        deleted: number;
        restored: number;
        total: number;
        details: string;
      },
    ) =>
      db
        .updateTable('sync_instance_records')
        .set({
          status: 'completed',
          completed_at: v.now,
          duration_ms: v.durationMs,
          databases_count: v.count,
          saved_count: v.saved,
          created_count: v.created,
          updated_count: v.updated,
          deleted_count: v.deleted,
          restored_count: v.restored,
          total_size_bytes: v.total,
          error_code: null,
          error_message: null,
          error_msg: null,
          details: v.details,
        })
        .where('id', '=', v.id)
        .where('holder', '=', v.holder)
        .where('status', '=', 'running'),
  );

  /** SQLite's sync path: the instance's lock released with the save. */
  private readonly unlocked = compiledOnce(
    () => this.db,
    (db, v: { id: number; holder: string }) => db.deleteFrom('sync_locks').where('instance_id', '=', v.id).where('holder', '=', v.holder),
  );

  /**
   * SQLite: today's rows of one chunk, bound to prepared multi-row statements whose SQL does not depend on the
   * number of rows (insertRows). A VALUES list built through Kysely costs a syntax-tree node per value — most
   * of the save time at 20,000 databases.
   */
  private async upsertDay(trx: Transaction<Database>, instanceId: number, day: string, now: string, part: CollectedDatabase[]): Promise<void> {
    const rows = part.map((d) => {
      const v = rowValues(d);
      return [instanceId, v[0], day, ...v.slice(1), now, now, now];
    });
    await insertRows(trx, INSERT_DAY_HEAD, DAY_ROW, KEEP_EARLIER_SQL, rows);
  }

  /** SQLite: the per-sync series (0013): the instance total under database_name '' and every database measured this time, at `now`. */
  private async insertPoints(trx: Transaction<Database>, instanceId: number, now: string, total: number, measured: CollectedDatabase[]): Promise<void> {
    const points: [string, number][] = [['', total], ...measured.map((d): [string, number] => [d.database_name, d.size_bytes!])];
    await insertRows(
      trx,
      INSERT_POINTS_HEAD,
      '(?, ?, ?, ?)',
      '',
      points.map(([name, size]) => [instanceId, name, size, now]),
    );
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
   * release the instance's lock — one transaction (on PostgreSQL one
   * statement), so a crash leaves either the whole day saved and the record
   * completed, or neither. Only while `done.holder` still holds the record:
   * one whose lease ran out (a store outage, a cut link) was handed to
   * another process, and this save writes nothing (LeaseLost) instead of
   * completing it twice.
   */
  saveSyncedCollection(input: SaveCollectionInput, done: SyncCompletion): Promise<SaveCounts> {
    return this.save(input, done);
  }

  /** Today's rows (is_deleted NULL) and the lifecycle rows of the instance, in one read. */
  private async readLedger(db: Kysely<Database>, instanceId: number, day: string): Promise<LedgerRow[]> {
    return (await this.ledger(db, { id: instanceId, day })).rows;
  }

  private readonly ledger = compiledOnce(
    () => this.db,
    (_, v: { id: number; day: string }) =>
      // SQLite is told which index finds today's rows: left to itself (no statistics) it walks the instance's entries of
      // the covering unique index, every day of its history (at 2,000 databases and a year kept: 76 ms instead of 1.7 ms).
      sql<LedgerRow>`
        SELECT database_name, NULL AS is_deleted, NULL AS last_seen_date
        FROM ${this.dialect === 'sqlite' ? sql`database_size_stats INDEXED BY database_size_stats_instance_date` : sql`database_size_stats`}
        WHERE instance_id = ${v.id} AND collected_date = ${v.day}
        UNION ALL
        SELECT database_name, is_deleted, last_seen_date FROM instance_databases WHERE instance_id = ${v.id}`,
  );

  private async save(input: SaveCollectionInput, done?: SyncCompletion): Promise<SaveCounts> {
    if (input.databases.length === 0) throw new Error('saveCollection: refusing an empty collection');
    const seen = new Set<string>();
    for (const d of input.databases) {
      if (seen.has(d.database_name)) throw new Error(`duplicate database name in collection: ${d.database_name}`);
      seen.add(d.database_name);
    }
    // The instance's last sync result goes with its totals (one update of the row, not two).
    const lastSync = done && {
      status: 'completed',
      at: input.collectedAt,
      error: done.instanceError,
      errorMsg: done.instanceErrorMsg ? JSON.stringify(done.instanceErrorMsg) : null,
    };
    if (this.dialect === 'postgres') {
      // The read, then every write in one statement (capacity-save.pg.ts). The read is outside the write's
      // transaction, as it was in effect inside one (READ COMMITTED reads take no locks): the instance's only
      // writer is the sync that holds its lock, and a lost lock makes the write write nothing.
      const plan = planSave(input, seen, await this.readLedger(this.db, input.instanceId, input.collectedDate));
      const r = await saveStatement({
        instanceId: input.instanceId,
        day: input.collectedDate,
        now: input.collectedAt,
        databases: input.databases,
        plan,
        lastSync,
        done: done && {
          recordId: done.recordId,
          holder: done.holder,
          durationMs: done.durationMs,
          counts: plan.counts,
          details: JSON.stringify(done.details(plan.counts)),
        },
      })
        .execute(this.db)
        .then((res) => res.rows[0]!);
      if (Number(r.held) === 0 || Number(r.completed) === 0) throw new LeaseLost();
      return { ...plan.counts, total_size_bytes: Number(r.total_size_bytes), database_count: Number(r.database_count) };
    }
    return this.db.transaction().execute(async (trx) => {
      const { instanceId, collectedDate: day, collectedAt: now } = input;
      const plan = planSave(input, seen, await this.readLedger(trx, instanceId, day));
      const { excluded } = plan;

      // 1. Today's rows: batched upsert. A database that could not be measured
      //    this time keeps the size measured earlier the same day, if any.
      for (const part of chunks(input.databases, UPSERT_CHUNK)) await this.upsertDay(trx, instanceId, day, now, part);

      // 2. Today's rows of databases no longer present: soft delete (the seed's rule).
      for (const part of chunks(plan.goneToday)) {
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
      for (const part of chunks(plan.goneNames)) {
        await trx
          .updateTable('instance_databases')
          .set({ is_deleted: 1, deleted_at: now, updated_at: now })
          .where('instance_id', '=', instanceId)
          .where('database_name', 'in', part)
          .execute();
      }
      for (const part of chunks(plan.restoredNames)) {
        await trx
          .updateTable('instance_databases')
          .set({ is_deleted: 0, deleted_at: null, updated_at: now })
          .where('instance_id', '=', instanceId)
          .where('database_name', 'in', part)
          .execute();
      }
      await insertRows(
        trx,
        INSERT_LIFECYCLE_HEAD,
        LIFECYCLE_ROW,
        '',
        plan.newOnes.map((d) => [instanceId, d.database_name, d.is_system ? 1 : 0, day, day, now, now]),
      );
      // Every lifecycle row still not deleted is now the collected set (plus excluded ones, left as they were).
      if (plan.stale || plan.restoredNames.length)
        await trx
          .updateTable('instance_databases')
          .set({ last_seen_date: day, updated_at: now })
          .where('instance_id', '=', instanceId)
          .where('is_deleted', '=', 0)
          .where('last_seen_date', '<>', day)
          .$if(excluded.size > 0 && excluded.size <= CHUNK, (q) => q.where('database_name', 'not in', [...excluded]))
          .execute();

      // 4. Totals from what is stored for the day, written as the instance's day (one statement), and the per-sync series.
      const totals = await upsertInstanceDay(instanceId, day, now, excluded, CHUNK)
        .execute(trx)
        .then((r) => r.rows[0]!);
      const total = Number(totals.total_size_bytes);
      const count = Number(totals.database_count);
      const measured = input.databases.filter((d) => d.size_bytes !== null && d.size_bytes !== undefined);
      await this.insertPoints(trx, instanceId, now, total, measured);

      if (lastSync)
        await this.syncedTotals(trx, {
          id: instanceId,
          total,
          count,
          now,
          status: lastSync.status,
          at: lastSync.at,
          error: lastSync.error,
          errorMsg: lastSync.errorMsg,
        });
      else
        await trx.updateTable('instances').set({ total_size_bytes: total, database_count: count, last_connected: now }).where('id', '=', instanceId).execute();
      const counts: SaveCounts = { ...plan.counts, total_size_bytes: total, database_count: count };
      if (done) {
        const completed = await this.completed(trx, {
          id: done.recordId,
          holder: done.holder,
          now,
          durationMs: done.durationMs,
          count,
          saved: counts.saved,
          created: counts.created,
          updated: counts.updated,
          deleted: counts.deleted,
          restored: counts.restored,
          total,
          details: JSON.stringify(done.details(plan.counts)),
        });
        if (Number(completed.numAffectedRows ?? 0) === 0) throw new LeaseLost();
        await this.unlocked(trx, { id: instanceId, holder: done.holder });
      }
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
      .select(Object.entries(since).map(([k, ts]) => windowBaselineAt(id, none, ts).as(`${k}_at`)))
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
