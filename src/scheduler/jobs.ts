/**
 * The jobs of the pg-boss queue as the fetch loop (pgboss.queue.ts) sees
 * them: what a job carries, what runs it, what its handler answers, and the
 * options of `work()`.
 */
export interface JobData {
  record_id: number;
}

export interface TaskData {
  task_id: number;
}

/**
 * Runs one job: a sync record (capacity queue) or a nightly task (daily queue), by id. `freePlace`: the
 * job's place and admission may go to the next job now, while this one finishes work that needs only the
 * store (a sync record's save, after its collection): the next fetch overlaps it.
 */
export type Handler = (id: number, freePlace: () => void) => Promise<JobResult>;

/**
 * What a job handler tells the loop: done, or give the job back to the queue
 * (retried later, by anyone), or `{ after }`: the job's work is done (its
 * place and admission go to the next job now) and it completes once `after`
 * resolves (handed back if it rejects) — bookkeeping that holds no place.
 */
export type JobResult = 'done' | 'hand-back' | { after: Promise<unknown> };

/** A place in the estate-wide concurrency, held while one job runs. */
export interface Admitted {
  release(): Promise<void>;
}

export interface WorkOptions<A extends Admitted = Admitted> {
  /** Jobs run at once in this process; read before every fetch, so a settings change applies without a restart. */
  concurrency: () => Promise<number> | number;
  /**
   * Estate-wide admission, asked before every fetch for the places free in
   * this process: up to `want` admissions (none: no room in the estate now,
   * ask again soon). Each job runs under one; when it ends, its admission is
   * offered to the next fetch (`kept`: used again when still valid, released
   * by `admit` otherwise) instead of being released and taken again. A job
   * fetched for a place starts under an admission taken first; what no job
   * used goes back at once (`giveBack`). The few jobs read ahead of the free
   * places (read-ahead.ts) wait marked, with no admission, for a place.
   */
  admit?: (want: number, kept: A[]) => Promise<A[]>;
  /**
   * The sync records of a fetch, before they start: recovery knows from it
   * which process has them (marking failed is logged, the jobs run anyway).
   */
  fetched?: (recordIds: number[]) => Promise<void>;
  /** Release admissions no job used, together (default: one by one). */
  giveBack?: (unused: A[]) => Promise<void>;
  /** Idle poll interval (ms). */
  pollMs?: number;
}

/** A fetched job and what runs it. */
export interface Fetched {
  queue: string;
  id: string;
  subject: number;
  run: Handler;
}

/** How a job's handler ended: the settle it calls for, and what it still waits for first (`after`). */
export interface Ran {
  result: 'done' | 'hand-back';
  error?: unknown;
  after?: Promise<unknown>;
}
