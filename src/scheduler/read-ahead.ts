/**
 * Sync jobs a process keeps fetched and marked ahead of its free places
 * (pgboss.queue.ts): a place that frees starts one of them at once, under the
 * admission of the job that ended, instead of waiting for a fetch and a mark
 * (15–20 ms a job in the scale-out bench, a tenth of the estate's places idle;
 * docs/benchmarks-notes.md, session 13). One per 4 places, at least one,
 * fetched again once half of them are gone (a fetch and a mark for several).
 *
 * They hold no place and no estate admission: the estate's bound counts
 * syncs running, not jobs waiting for a place. They are read ahead only
 * while the process's places free often enough that they would wait less
 * than MAX_EXPECTED_WAIT_MS (a sixteenth of a collection at 16 places):
 * not at a session's first wave, not for collections of minutes (a job
 * waiting longer than a lease would be taken for a dead process's). One
 * that waited READY_MAX_MS all the same (other processes took every
 * admission meanwhile) goes back to the queue, as do all of them when the
 * process stops. Marked first, so a process that dies holding them has
 * them handed back as its other fetched jobs. When a fetch finds fewer
 * sync jobs than it asked for, the queue is `drained`: no reading ahead (a
 * session's last jobs go to whichever process has a free place) until a
 * fetch finds as many as it asked again.
 *
 *   const ahead = new ReadAhead<Job>();
 *   ahead.freed();                       // whenever a place frees
 *   const n = ahead.wanted(16);          // fetch that many more
 *   ahead.marking(jobs.length); …mark…; ahead.add(jobs);
 *   start(ahead.take(freePlaces));
 */
export const READ_AHEAD_PER_PLACES = 4;
/** A job read ahead that has not found a place within this goes back to the queue. */
export const READY_MAX_MS = 2_000;
/** Read ahead only when a job would wait less than this for a place, by the last places freed. */
export const MAX_EXPECTED_WAIT_MS = 500;
/** Places freed remembered for that estimate. */
const FREES_KEPT = 8;

export class ReadAhead<J> {
  private ready: { job: J; at: number }[] = [];
  private beingMarked = 0;
  /** When the last places freed (performance.now()), oldest first. */
  private frees: number[] = [];
  /** The last fetch found fewer sync jobs than it asked for. */
  drained = false;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A place of the process freed (a job's collection ended). */
  freed(): void {
    this.frees.push(this.now());
    if (this.frees.length > FREES_KEPT) this.frees.shift();
  }

  /**
   * How many more to fetch ahead for a process of `places` places: none while the queue is drained, or
   * while the jobs would wait MAX_EXPECTED_WAIT_MS or more (the places freed at the rate of the last few, and
   * the wait since the last one counted too).
   */
  wanted(places: number): number {
    const n = Math.max(1, Math.ceil(places / READ_AHEAD_PER_PLACES));
    if (this.drained || this.frees.length < 2) return 0;
    const every = (this.frees[this.frees.length - 1]! - this.frees[0]!) / (this.frees.length - 1);
    const since = this.now() - this.frees[this.frees.length - 1]!;
    if (Math.max(every, since) * n >= MAX_EXPECTED_WAIT_MS) return 0;
    // Refilled once half are gone, so a fetch and a mark serve several jobs, not one each.
    const have = this.ready.length + this.beingMarked;
    return have > Math.floor(n / 2) ? 0 : n - have;
  }

  /** `n` jobs fetched ahead are being marked: they count as read ahead until `add` or `unmark`. */
  marking(n: number): void {
    this.beingMarked += n;
  }

  /** Marked: ready for a place. */
  add(jobs: J[]): void {
    this.beingMarked -= jobs.length;
    const at = this.now();
    this.ready.push(...jobs.map((job) => ({ job, at })));
  }

  /** Jobs that were being marked and will not be added (the process stops). */
  unmark(n: number): void {
    this.beingMarked -= n;
  }

  /** Up to `n` jobs, oldest first. */
  take(n: number): J[] {
    return this.ready.splice(0, n).map((r) => r.job);
  }

  /** The jobs that waited READY_MAX_MS or more, taken out. */
  stale(): J[] {
    const now = this.now();
    const old = this.ready.filter((r) => now - r.at >= READY_MAX_MS);
    if (old.length) this.ready = this.ready.filter((r) => now - r.at < READY_MAX_MS);
    return old.map((r) => r.job);
  }

  /** Every job waiting, taken out. */
  all(): J[] {
    return this.take(this.ready.length);
  }
}
