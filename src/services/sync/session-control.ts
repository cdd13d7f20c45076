/**
 * Session control: which records run in this process, the abort signal of
 * each session they run under (tripped by a cancel here, by a poll that sees
 * a cancel made elsewhere, or by a shutdown), and the graceful stop.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { MSG } from './messages.js';
import { now, type StopReason, type SyncDeps } from './sync-context.js';

/** How often a process running records of a session checks whether someone cancelled it. */
export const CANCEL_POLL_MS = 1000;

export class SessionControl {
  /** One abort signal per session with records running in this process, and the poll that trips it on a cancel. */
  private watchers = new Map<string, { ctrl: AbortController; refs: number; timer: NodeJS.Timeout }>();
  /** Records running in this process. */
  private inFlight = new Set<Promise<unknown>>();
  /** Sessions run by this process (local mode) until closed. */
  private localSessions = new Map<string, Promise<unknown>>();
  private stopped = false;

  constructor(private readonly deps: Pick<SyncDeps, 'sync' | 'clock' | 'logger'>) {}

  /** True once `stop()` was called: no new work is taken. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Keep `p` in the set of work `stop()` waits for. */
  track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  /** A session this process runs until `done` settles: `stop()` skips its pending records and waits for it. */
  own(sessionId: string, done: Promise<unknown>): void {
    this.localSessions.set(sessionId, done);
    void done.finally(() => this.localSessions.delete(sessionId)).catch(() => {});
  }

  /** The abort signal of a session's records in this process; a poll trips it when the session is cancelled elsewhere. */
  watch(sessionId: string): AbortSignal {
    let w = this.watchers.get(sessionId);
    if (!w) {
      const ctrl = new AbortController();
      // Every record running under the session listens to this signal (up to the concurrency, each removing its
      // listeners when done): not a leak, so no MaxListenersExceededWarning at 11.
      setMaxListeners(0, ctrl.signal);
      const timer = setInterval(() => {
        void this.deps.sync
          .getSession(sessionId)
          .then((s) => {
            if (s?.cancel_requested_at && !ctrl.signal.aborted) ctrl.abort('cancelled');
          })
          .catch(() => {});
      }, CANCEL_POLL_MS);
      timer.unref();
      w = { ctrl, refs: 0, timer };
      this.watchers.set(sessionId, w);
    }
    w.refs++;
    return w.ctrl.signal;
  }

  unwatch(sessionId: string): void {
    const w = this.watchers.get(sessionId);
    if (w && --w.refs <= 0) {
      clearInterval(w.timer);
      this.watchers.delete(sessionId);
    }
  }

  /** Trip the signal of a session's records running in this process (if any). */
  abort(sessionId: string, why: StopReason): void {
    this.watchers.get(sessionId)?.ctrl.abort(why);
  }

  /**
   * Graceful stop (SIGTERM): take no new work; in sessions this process runs,
   * records not started become `skipped`; running records get `boundMs` to
   * finish, then are aborted (nothing half-saved); sessions close
   * `interrupted`. Returns how many records had to be aborted.
   */
  async stop(boundMs: number): Promise<{ aborted: number }> {
    this.stopped = true;
    for (const id of this.localSessions.keys()) {
      await this.deps.sync
        .skipPending(id, now(this.deps), MSG.shutdownSkip, 'interrupted')
        .catch((err) => this.deps.logger.error({ err, session_id: id }, 'could not skip pending records'));
    }
    const settle = () => Promise.allSettled([...this.inFlight]);
    const bound = new AbortController();
    const inTime = await Promise.race([settle().then(() => true), sleep(boundMs, false, { signal: bound.signal }).catch(() => false)]);
    bound.abort();
    let aborted = 0;
    if (!inTime) {
      aborted = this.inFlight.size;
      this.deps.logger.warn({ records: aborted, bound_ms: boundMs }, 'running syncs did not finish in time; aborting them');
      for (const w of this.watchers.values()) if (!w.ctrl.signal.aborted) w.ctrl.abort('shutdown');
      await settle();
    }
    await Promise.allSettled([...this.localSessions.values()]);
    return { aborted };
  }
}
