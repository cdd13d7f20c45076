/**
 * Connection slots (`connection_slots`): the store side of the connection
 * caps and of the estate-wide sync concurrency. A slot is a row keyed by
 * (scope, slot number); the primary key is the semaphore, so two processes
 * can never hold one slot, and every statement here is a single short write
 * (no transaction held while a connection is open). Works the same on both
 * stores.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface SlotRow {
  slot: number;
  holder: string;
  purpose: string;
  expires_at: string;
}

export class SlotsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The rows of a scope, live and expired. */
  held(scope: string): Promise<SlotRow[]> {
    return this.db.selectFrom('connection_slots').select(['slot', 'holder', 'purpose', 'expires_at']).where('scope', '=', scope).execute();
  }

  /** Take slot `slot` of `scope` if it is free or its lease ended before `now`; true when `holder` has it. */
  async take(scope: string, slot: number, holder: string, purpose: string, now: string, expiresAt: string): Promise<boolean> {
    const row = await this.db
      .insertInto('connection_slots')
      .values({ scope, slot, holder, purpose, acquired_at: now, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.columns(['scope', 'slot']).doUpdateSet({ holder, purpose, acquired_at: now, expires_at: expiresAt }).where('connection_slots.expires_at', '<', now),
      )
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder;
  }

  /** Free a slot whose holder is known dead (compare-and-delete: only that holder's row goes). */
  async drop(scope: string, slot: number, holder: string): Promise<void> {
    await this.db.deleteFrom('connection_slots').where('scope', '=', scope).where('slot', '=', slot).where('holder', '=', holder).execute();
  }

  /** Free every slot of `holder`. */
  async release(holder: string): Promise<void> {
    await this.db.deleteFrom('connection_slots').where('holder', '=', holder).execute();
  }

  /** Push the lease of these holders' slots (their process is alive). */
  async renew(holders: string[], expiresAt: string): Promise<void> {
    for (let i = 0; i < holders.length; i += 500) {
      await this.db.updateTable('connection_slots').set({ expires_at: expiresAt }).where('holder', 'in', holders.slice(i, i + 500)).execute();
    }
  }

  /** Live slots per scope (`/metrics`, tests). */
  async live(now: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('connection_slots')
      .select(['scope', (eb) => eb.fn.countAll<number>().as('n')])
      .where('expires_at', '>=', now)
      .groupBy('scope')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.scope, Number(r.n)]));
  }
}
