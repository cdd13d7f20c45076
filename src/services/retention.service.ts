/**
 * Retention of the raw daily history. `retention_days` (a setting; null =
 * keep forever, the default) bounds how far back database_size_stats rows
 * are kept; aggregates are kept regardless, so long-range statistics survive.
 * Called by the daily aggregation job after aggregation, so a day is always
 * aggregated before its raw rows can go.
 */
import { addDays, localDate } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { yieldToIo } from '../lib/concurrency.js';
import type { RetentionRepository } from '../store/retention.repository.js';

export const RETENTION_MIN_DAYS = 30;
export const RETENTION_BATCH = 5000;

export interface RetentionDeps {
  repo: RetentionRepository;
  /** The effective `retention_days` setting (null = keep forever). */
  retentionDays: () => Promise<number | null>;
  /** The effective `sync_points_days` setting: days of the per-sync series kept (default 35). */
  syncPointsDays?: () => Promise<number>;
  timeZone: string;
  logger: Logger;
  /** Rows per DELETE: small enough that one batch holds the store's write lock for milliseconds. */
  batchSize?: number;
  /** Pause between batches, so syncs and API writes interleave with a long purge. */
  pause?: () => Promise<void>;
}

export interface PurgeResult {
  retention_days: number | null;
  /** Rows collected before this date were deleted; null when nothing is purged. */
  cutoff: string | null;
  deleted: number;
  batches: number;
  /** Days of the per-sync series kept, and points deleted now. */
  points_days: number | null;
  points_deleted: number;
}

export class RetentionService {
  constructor(private readonly d: RetentionDeps) {}

  async purge(now: Date): Promise<PurgeResult> {
    const points = await this.purgePoints(now);
    const days = await this.d.retentionDays();
    if (days === null) return { retention_days: null, cutoff: null, deleted: 0, batches: 0, ...points };
    // The settings validator enforces ≥ 30; refuse here too, so a bad stored value can never wipe recent history.
    if (!Number.isInteger(days) || days < RETENTION_MIN_DAYS) throw new Error(`retention_days must be an integer ≥ ${RETENTION_MIN_DAYS}, got ${days}`);
    // Keep today and the `days` days before it, in the zone collected_date is written in.
    const cutoff = addDays(localDate(now, this.d.timeZone), -days);
    const size = this.d.batchSize ?? RETENTION_BATCH;
    const pause = this.d.pause ?? yieldToIo;
    let deleted = 0;
    let batches = 0;
    for (;;) {
      const n = await this.d.repo.deleteBatch(cutoff, size);
      batches++;
      deleted += n;
      if (n < size) break;
      await pause();
    }
    if (deleted) this.d.logger.info({ cutoff, deleted, batches, retention_days: days }, 'retention: old daily rows purged');
    return { retention_days: days, cutoff, deleted, batches, ...points };
  }

  /** The per-sync series keeps `sync_points_days` days (whatever the daily retention), in the same bounded batches. */
  private async purgePoints(now: Date): Promise<{ points_days: number | null; points_deleted: number }> {
    const days = this.d.syncPointsDays ? await this.d.syncPointsDays() : null;
    if (days === null) return { points_days: null, points_deleted: 0 };
    if (!Number.isInteger(days) || days < 1) throw new Error(`sync_points_days must be a positive integer, got ${days}`);
    const before = new Date(now.getTime() - days * 86_400_000).toISOString();
    const size = this.d.batchSize ?? RETENTION_BATCH;
    const pause = this.d.pause ?? yieldToIo;
    let deleted = 0;
    for (;;) {
      const n = await this.d.repo.deletePointsBatch(before, size);
      deleted += n;
      if (n < size) break;
      await pause();
    }
    if (deleted) this.d.logger.info({ before, deleted, sync_points_days: days }, 'retention: old sync points purged');
    return { points_days: days, points_deleted: deleted };
  }
}
