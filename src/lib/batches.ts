/**
 * Items sent together: each `add` joins the batch still being gathered, and a
 * batch is sent once the one before it has been answered (or `maxWaitMs`
 * after it was sent: an answer that does not come must not hold up every
 * batch after it) and the adds of the same turn of the event loop have
 * joined. A handful of jobs or connections ending about the same moment cost
 * one store statement, not one each: pg-boss's completes (pgboss.queue.ts)
 * and the connection slots' releases (connection-slots.ts).
 *
 *   const completes = new Batches<string>((ids) => boss.complete(queue, ids));
 *   await completes.add(jobId); // answered with its batch; rejects if the batch's send does
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class Batches<T> {
  private gathering: T[] | undefined;
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly send: (items: T[]) => Promise<unknown>,
    private readonly maxWaitMs?: number,
  ) {}

  add(item: T): Promise<unknown> {
    if (!this.gathering) {
      const items: T[] = [];
      this.gathering = items;
      const previous = this.last.catch(() => {});
      const waited = this.maxWaitMs === undefined ? previous : Promise.race([previous, sleep(this.maxWaitMs, undefined, { ref: false })]);
      this.last = waited
        .then(() => new Promise((r) => setImmediate(r)))
        .then(() => {
          if (this.gathering === items) this.gathering = undefined;
          return this.send(items);
        });
    }
    this.gathering.push(item);
    return this.last;
  }
}
