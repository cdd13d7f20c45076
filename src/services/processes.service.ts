/**
 * The live processes of an estate. Every `serve` and `worker` beats a row in
 * `processes` (host, pid, version, started, last seen, running jobs) every
 * WHALEFALL_HEARTBEAT_MS; a row not beaten for 3 heartbeats is a dead
 * process. `restore` refuses while one is live, `/metrics` counts them, and
 * the operator sees them with `whalefall processes`.
 *
 * Queue mode shares the estate's `sync_concurrency` among the processes that
 * work jobs (`share`): 48 over a `serve` and 2 workers is 16 each, and when
 * one of them dies (its pid gone on this host, at once; its heartbeat 3
 * beats late elsewhere) the other two run 24 each, so the estate keeps its
 * 48. A fixed per-process number either leaves the dead one's share unused
 * or lets one process take every place while the others wait.
 *
 *   const p = new ProcessesService({ repo, clock, logger, heartbeatMs: 15_000, role: 'worker', runningJobs: () => 3 });
 *   await p.start();   // first beat before the process takes work
 *   await p.stop();    // the row goes: a clean exit is not a dead process
 */
import { createRequire } from 'node:module';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { HOST, holderAlive, PROCESS_TAG } from '../lib/process-tag.js';
import type { ProcessBeat, ProcessesRepository } from '../store/processes.repository.js';

export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** A process not seen for this many heartbeats is dead. */
export const MISSED_BEATS = 3;

/** How often the pids of the processes on this host are looked at (a kill(pid, 0) each, no store read). */
const PEER_CHECK_MS = 1000;
/** How often the list of live processes is read again (at most; a heartbeat when that is shorter): a process started since takes its share within this. */
const PEER_REFRESH_MS = 2000;

export interface ProcessesDeps {
  repo: ProcessesRepository;
  clock: Clock;
  logger: Logger;
  heartbeatMs: number;
}

export class ProcessesService {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = '';
  private role = '';
  private runningJobs: () => number = () => 0;
  private works = false;
  private failures = 0;
  /** Other live processes that work queued jobs (tags), read with the peers; a peer seen gone leaves at once. */
  private workingPeers = new Set<string>();

  constructor(private readonly d: ProcessesDeps) {}

  /** Peers on this host (tag → pid), read from the table every few seconds; their pids are watched every second. */
  private peers = new Map<string, number>();
  private peerTimer: NodeJS.Timeout | undefined;

  /**
   * Beat now (throws if the store cannot be written) and then every
   * heartbeat (failures logged, retried). `onPeerGone`: a process on this
   * host that beats the same table has exited (its pid is gone, looked at
   * every second, no store read): its work can be recovered at once instead
   * of at the next recovery pass.
   */
  async start(role: 'serve' | 'worker', runningJobs: () => number, onPeerGone?: (tag: string) => void, works = true): Promise<void> {
    if (this.timer) return;
    this.role = role;
    this.works = works;
    this.runningJobs = runningJobs;
    this.startedAt = this.d.clock.now().toISOString();
    await this.beat();
    if (onPeerGone) await this.watchPeers(onPeerGone);
    this.timer = setInterval(() => {
      this.beat().then(
        () => {
          if (this.failures) this.d.logger.info({ missed: this.failures }, 'heartbeat written again (store reachable)');
          this.failures = 0;
        },
        (err) => {
          if (this.failures++ === 0) this.d.logger.error({ err }, 'heartbeat failed (store unreachable?)');
        },
      );
    }, this.d.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const now = this.d.clock.now();
    await this.d.repo.beat({
      tag: PROCESS_TAG,
      role: this.role,
      host: HOST,
      pid: process.pid,
      version: VERSION,
      started_at: this.startedAt,
      last_seen_at: now.toISOString(),
      running_jobs: this.runningJobs(),
      works: this.works ? 1 : 0,
    });
    // Rows of processes gone for a day are history nobody reads.
    if (Math.random() < 0.01) await this.d.repo.prune(new Date(now.getTime() - 86_400_000).toISOString());
  }

  /** Watch the peers: their list read now (before this process takes work) and every few seconds, their pids every second. */
  private async watchPeers(onPeerGone: (tag: string) => void): Promise<void> {
    const refresh = () =>
      this.live()
        .then((rows) => {
          this.peers = new Map(rows.filter((p) => p.host === HOST).map((p) => [p.tag, p.pid]));
          this.workingPeers = new Set(rows.filter((p) => p.works).map((p) => p.tag));
        })
        .catch(() => {}); // the store is unreachable: keep watching the pids known
    await refresh();
    let beats = 0;
    this.peerTimer = setInterval(() => {
      for (const [tag, pid] of this.peers) {
        if (holderAlive(`${HOST}:${pid}`) !== false) continue;
        this.peers.delete(tag);
        this.workingPeers.delete(tag);
        this.d.logger.warn({ peer: tag }, 'a process on this host is gone; recovering its work now');
        onPeerGone(tag);
      }
      // A process started after this one is known within a few seconds, not a heartbeat.
      if (++beats * PEER_CHECK_MS >= Math.min(this.d.heartbeatMs, PEER_REFRESH_MS)) {
        beats = 0;
        void refresh();
      }
    }, PEER_CHECK_MS);
    this.peerTimer.unref();
  }

  /**
   * This process's share of the estate's `cap` syncs at once: `cap` over the live processes that work jobs,
   * this one included, rounded up (the estate-wide slots still bound the sum). Queue mode only (the peers are
   * watched there); a process that knows no working peer may use the whole cap.
   */
  share(cap: number): number {
    return Math.ceil(cap / (1 + this.workingPeers.size));
  }

  async stop(): Promise<void> {
    clearInterval(this.peerTimer);
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.d.repo.remove(PROCESS_TAG).catch((err) => this.d.logger.warn({ err }, 'could not remove this process from the processes table'));
  }

  /** Processes beating now (`self`: this one included); on this host a dead pid is dead at once. */
  async live(self = false): Promise<ProcessBeat[]> {
    const since = new Date(this.d.clock.now().getTime() - MISSED_BEATS * this.d.heartbeatMs).toISOString();
    return (await this.d.repo.live(since)).filter((p) => (self || p.tag !== PROCESS_TAG) && holderAlive(p.tag) !== false);
  }
}
