/**
 * CSV exports of the raw daily history (database_size_stats). Rows flow from
 * the store page by page into the CSV stream: nothing is built in memory.
 */
import type { Readable } from 'node:stream';
import { isIsoDate } from '../lib/clock.js';
import { csvStream } from '../lib/csv.js';
import { fail } from './validate.js';
import type { ExportRepository, HistoryFilter, HistoryRow } from '../store/export.repository.js';
import type { InstancesService } from './instances.service.js';
import { msg } from '../client/shared/i18n/index.js';

export const HISTORY_COLUMNS = [
  'collected_date',
  'instance_id',
  'instance_name',
  'database_name',
  'size_bytes',
  'data_bytes',
  'index_bytes',
  'log_bytes',
  'free_bytes',
  'used_bytes',
  'max_bytes',
  'is_deleted',
  'collected_at',
] as const satisfies readonly (keyof HistoryRow)[];

export class ExportService {
  constructor(
    private readonly repo: ExportRepository,
    private readonly instances: Pick<InstancesService, 'getRow'>,
  ) {}

  private check(f: HistoryFilter): void {
    for (const k of ['from', 'to'] as const) {
      const v = f[k];
      if (v !== undefined && !isIsoDate(v)) fail(k, msg('api.v.bad_date', { value: v }));
    }
    if (f.from && f.to && f.from > f.to) fail('from', msg('api.v.from_after_to'));
  }

  /** One instance's whole daily history (optionally a date range); 404 when the instance does not exist. */
  async instanceHistory(instanceId: number, range: { from?: string; to?: string } = {}): Promise<Readable> {
    const f = { ...range, instanceId };
    this.check(f);
    await this.instances.getRow(instanceId);
    return csvStream(HISTORY_COLUMNS, withBooleans(this.repo.rows(f)));
  }

  /** The estate's daily database sizes in a date range, optionally one instance. */
  async databaseSizes(f: HistoryFilter): Promise<Readable> {
    this.check(f);
    if (f.instanceId !== undefined) await this.instances.getRow(f.instanceId);
    return csvStream(HISTORY_COLUMNS, withBooleans(this.repo.rows(f)));
  }
}

/** The store's 0/1 flag as true/false, as every other export writes booleans. */
async function* withBooleans(rows: AsyncIterable<HistoryRow>): AsyncIterable<Omit<HistoryRow, 'is_deleted'> & { is_deleted: boolean }> {
  for await (const r of rows) yield { ...r, is_deleted: r.is_deleted === 1 };
}
