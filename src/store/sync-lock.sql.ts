/**
 * The statements every record of a sync runs to start: take its instance's
 * lock (a row: `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at < now
 * RETURNING`, so a lapsed holder's row is taken over) and mark the record
 * running. Fixed shapes, for `compiledOnce` (compiled-once.ts): the values
 * are named, the SQL never depends on them (and, built from `compiledOnce`'s
 * stand-in, a value is read by its name: never spread).
 */
import { sql, type QueryCreator } from 'kysely';
import type { Database } from './schema.js';

/** How a record is marked running once its lock is held (its first attempt or a retry). */
export interface Running {
  status: 'running';
  attempt: number;
  holder: string;
  started_at: string;
}

/** The lock's row: instance `id`, taken by `lockHolder` at `now` until `expires`. */
interface Lock {
  id: number;
  lockHolder: string;
  now: string;
  expires: string;
}

/** Take the lock (returns the holder's row when taken or taken over; nothing when another live holder has it). */
export const takeLock = (db: QueryCreator<Database>, v: Lock) =>
  db
    .insertInto('sync_locks')
    .values({ instance_id: v.id, holder: v.lockHolder, acquired_at: v.now, expires_at: v.expires })
    .onConflict((oc) =>
      oc.column('instance_id').doUpdateSet({ holder: v.lockHolder, acquired_at: v.now, expires_at: v.expires }).where('sync_locks.expires_at', '<', v.now),
    )
    .returning('holder');

/** Mark record `id` running, unless a cancel skipped it (or it completed) first: no row changed then. */
export const claimRunning = (db: QueryCreator<Database>, v: { id: number } & Running) =>
  db
    .updateTable('sync_instance_records')
    .set({ status: v.status, attempt: v.attempt, holder: v.holder, started_at: v.started_at })
    .where('id', '=', v.id)
    .where('status', 'not in', ['skipped', 'completed']);

/**
 * PostgreSQL: both in one statement (`locked`, `started`: 0 or 1). The record is marked only when the lock was
 * taken; the lock is taken even when the record cannot be marked (the caller lets it go).
 */
export const lockAndStart = (db: QueryCreator<Database>, v: Lock & { recordId: number } & Running) =>
  db
    .with('lk', (db) => takeLock(db, v))
    // `lk` is read through sql`` alone: the update is built on the plain schema.
    .with('st', (db) =>
      claimRunning(db as unknown as QueryCreator<Database>, {
        id: v.recordId,
        status: v.status,
        attempt: v.attempt,
        holder: v.holder,
        started_at: v.started_at,
      })
        .where(sql<boolean>`EXISTS (SELECT 1 FROM lk)`)
        .returning('id'),
    )
    .selectNoFrom([sql<number>`(SELECT count(*) FROM lk)`.as('locked'), sql<number>`(SELECT count(*) FROM st)`.as('started')]);
