/**
 * One estate-wide `sync_concurrency` (issue #16 item 7): a batch or
 * scheduled record (local mode) or a queued job (before it is fetched) runs
 * under a `sync` slot (connection-slots.ts: store-side semaphores), so every
 * process on the store together runs at most the setting's number of syncs.
 * A finished record's slot admits the next one instead of being released and
 * taken again, unless the setting was lowered below the cap it was taken under.
 * In queue mode a job's slot goes to the next job once its collection is in
 * hand: the setting bounds collections (the load on the monitored servers),
 * and the save that follows needs only the store.
 */
import { SlotAborted, SlotBusy, type Slot } from '../connection-slots.js';
import type { SyncDeps } from './sync-context.js';

/** Estate sync slots a local batch session's finished records left for its next ones, with the cap each was taken under. */
export type SpareSlots = { slot: Slot; cap: number }[];
/** The cap an estate sync slot was taken under. */
const slotCaps = new WeakMap<Slot, number>();

export class EstateAdmission {
  constructor(private readonly d: Pick<SyncDeps, 'settings' | 'settingsNow' | 'slots'>) {}

  /**
   * One estate-wide `sync_concurrency` (issue #16 item 7): a batch or
   * scheduled record (local mode) or a queued job (before it is fetched)
   * runs under a `sync` slot, so every process on the store together runs at
   * most the setting's number of syncs; the setting is read at every
   * admission, so a change applies without a restart (a lowered one lets
   * the syncs already running finish). Returns undefined when no slot came
   * free within `waitMs` or `signal` fired; a store error throws.
   */
  async admit(waitMs: number, signal?: AbortSignal, spare?: SpareSlots): Promise<Slot | undefined> {
    const cap = (await (this.d.settingsNow ?? this.d.settings)()).sync_concurrency;
    // A slot the session's previous record gave up is this record's admission, unless the setting was lowered since.
    const kept = spare?.pop();
    if (kept && kept.cap <= cap && !signal?.aborted) return kept.slot;
    await kept?.slot.release();
    try {
      const slot = await this.d.slots.acquire([{ scope: 'sync', cap }], { purpose: 'sync', waitMs, signal });
      slotCaps.set(slot, cap);
      return slot;
    } catch (err) {
      if (err instanceof SlotBusy || err instanceof SlotAborted) return undefined;
      throw err;
    }
  }

  /** After a record: its slot goes to the session's next record (`more`: records are still to start that no spare slot waits for), or back. */
  async passOn(slot: Slot | undefined, spare: SpareSlots, more: boolean, signal: AbortSignal): Promise<void> {
    if (!slot) return;
    if (more && !signal.aborted) spare.push({ slot, cap: slotCaps.get(slot)! });
    else await slot.release();
  }

  /**
   * Queue mode: up to `want` estate sync slots at once, without waiting (a worker filling its free places in
   * one store statement); none when the estate runs `sync_concurrency` syncs already. `kept`: the slots of
   * jobs that just ended (or whose collection did), each admitting a next job unless the setting was lowered
   * below the cap it was taken under (then released). The setting is read once per fetch (a copy at most
   * 250 ms old, `settingsNow`): a lowered one holds within that in every process. A store error throws.
   */
  async admitSome(want: number, kept: Slot[] = []): Promise<Slot[]> {
    const cap = (await (this.d.settingsNow ?? this.d.settings)()).sync_concurrency;
    const reuse = kept.filter((slot) => slotCaps.get(slot)! <= cap).slice(0, want);
    if (reuse.length < kept.length) await this.d.slots.releaseAll(kept.filter((slot) => !reuse.includes(slot)));
    const more = reuse.length < want ? await this.d.slots.acquireSome({ scope: 'sync', cap }, want - reuse.length, 'sync') : [];
    for (const slot of more) slotCaps.set(slot, cap);
    return [...reuse, ...more];
  }

  /** Give back estate sync slots `admitSome` handed out and no job used (one statement). */
  release(slots: Slot[]): Promise<void> {
    return this.d.slots.releaseAll(slots);
  }
}
