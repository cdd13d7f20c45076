/**
 * Crash recovery. A session whose owning process died (same host: its pid is
 * gone; elsewhere: its heartbeat stopped) becomes `interrupted` and its
 * unfinished records `failed` with `interrupted`. A record left running by a
 * dead worker (queue mode) is failed the same way once its holder is dead or
 * its lock lease has run out; the queue's retry may still complete it later.
 * Runs at start and then every minute; safe to run from several processes.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { holderAlive } from '../lib/process-tag.js';
import type { SyncRepository } from '../store/sync.repository.js';
import { HEARTBEAT_MS } from './capacity-sync.service.js';

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
    for (const r of await this.sync.runningRecords()) {
      const alive = holderAlive(r.holder);
      const leaseOver = !r.lock_expires_at || r.lock_expires_at < at;
      if (alive === false || (alive === undefined && leaseOver)) {
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
