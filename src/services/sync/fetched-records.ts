/**
 * Queue mode: the records of one fetch are marked as this process's
 * (recovery then knows who has them) and read with what their run needs
 * (session, instance) in one statement, instead of one read per job after
 * the mark: a job's place waited for three round trips to the store between
 * pg-boss's fetch and the record's start, under load about a quarter of a
 * 230 ms record (docs/benchmarks-notes.md). A job takes its record from
 * here, or reads it itself when the fetch's statement failed or its read is
 * older than READY_MAX_AGE_MS (a redelivered job).
 */
import type { QueuedRecord, SyncRepository } from '../../store/sync.repository.js';

/** A fetch's read is used by its jobs at once; one older than this is read again. */
const READY_MAX_AGE_MS = 2_000;

export class FetchedRecords {
  private readonly ready = new Map<number, { q: QueuedRecord; at: number }>();

  constructor(private readonly sync: Pick<SyncRepository, 'queuedRecords'>) {}

  /** Mark the fetch's records as `processTag`'s and read them (one statement); its error is the caller's, and then each job reads its own record. */
  async fetched(ids: number[], processTag: string): Promise<void> {
    const rows = await this.sync.queuedRecords(ids, processTag);
    const at = performance.now();
    for (const [id, q] of rows) this.ready.set(id, { q, at });
  }

  /** The record of a job about to run: from its fetch's read, or read now. */
  async take(id: number): Promise<QueuedRecord | undefined> {
    const hit = this.ready.get(id);
    this.ready.delete(id);
    if (hit && performance.now() - hit.at <= READY_MAX_AGE_MS) return hit.q;
    // Reads no job took (a job handed back before it ran) go with the next take.
    for (const [k, v] of this.ready) if (performance.now() - v.at > READY_MAX_AGE_MS) this.ready.delete(k);
    return (await this.sync.queuedRecords([id])).get(id);
  }
}
