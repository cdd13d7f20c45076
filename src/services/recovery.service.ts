/**
 * Crash recovery. A session whose owning process died (same host: its pid is
 * gone; elsewhere: its heartbeat stopped) becomes `interrupted` and its
 * unfinished records `failed` with `interrupted`. A record left running by a
 * dead worker (queue mode) is left to pg-boss, which retries the expired job
 * on another worker; only if the record is still running 10 minutes after its
 * lease ended is it failed the same way.
 * Runs at start and then every minute; safe to run from several processes.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { holderAlive } from '../lib/process-tag.js';
import type { SyncRepository } from '../store/sync.repository.js';
import { HEARTBEAT_MS } from './capacity-sync.service.js';

/** How long after a queued record's lease ends pg-boss gets to retry it before recovery fails it. */
export const QUEUE_GRACE_MS = 10 * 60_000;

export const INTERRUPTED_MESSAGE = '同步进程中断 (interrupted: the process running this sync stopped)';

export class RecoveryService {
  constructor(
    private readonly sync: SyncRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Recover now and then every `everyMs`; returns a stop function. */
  startPeriodic(everyMs = 60_000): () => void {
    const run = () => this.recover().catch((err) => this.logger.error({ err }, 'recovery failed'));
    const timer = setInterval(run, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async recover(): Promise<{ sessions: number; records: number }> {
    const now = this.clock.now();
    const at = now.toISOString();
    const staleBefore = new Date(now.getTime() - 4 * HEARTBEAT_MS).toISOString();
    let sessions = 0;
    let records = 0;
    for (const s of await this.sync.runningSessions()) {
      if (s.owner === null) continue; // queue sessions: their records are checked below
      const alive = holderAlive(s.owner);
      const stale = (s.heartbeat_at ?? s.started_at) < staleBefore;
      if (alive === false || (alive === undefined && stale)) {
        const n = await this.sync.interruptSession(s.session_id, at, INTERRUPTED_MESSAGE);
        sessions++;
        records += n;
        this.logger.warn({ session_id: s.session_id, owner: s.owner, records: n }, 'sync session interrupted (its process is gone)');
      }
    }
    const touched = new Set<string>();
    const queueGraceBefore = new Date(now.getTime() - QUEUE_GRACE_MS).toISOString();
    for (const r of await this.sync.runningRecords()) {
      const leaseEnd = r.lock_expires_at ?? r.started_at ?? at;
      let dead: boolean;
      if (r.session_owner === null) {
        // Queue mode: pg-boss expires the dead worker's job after its lease and hands it to another
        // worker, which takes the record over. Step in only long after that chance has passed.
        dead = leaseEnd < queueGraceBefore;
      } else {
        const alive = holderAlive(r.holder);
        dead = alive === false || (alive === undefined && leaseEnd < at);
      }
      if (dead) {
        if (await this.sync.failInterruptedRecord(r.id, r.holder, at, INTERRUPTED_MESSAGE)) {
          records++;
          touched.add(r.session_id);
        }
      }
    }
    for (const sessionId of touched) {
      const s = await this.sync.getSession(sessionId);
      if (s?.status === 'running') await this.sync.finishIfDone(sessionId, at);
    }
    return { sessions, records };
  }
}
