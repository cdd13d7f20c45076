/**
 * A one-command move from the original WhaleFall: its instances and their
 * whole daily history (seed §5.1) into this store.
 *
 * - Instances are matched by name (never duplicated); new ones are created
 *   without a credential (the list says "needs a credential"), inactive when
 *   the original had them inactive. Types are mapped (postgres → postgresql,
 *   mssql → sqlserver); an unknown type is skipped with its reason.
 * - History: MB × 1,048,576 bytes, `method` = `whalefall_mb` (MB precision);
 *   `is_deleted`/`deleted_at` are kept on the rows and become the databases'
 *   lifecycle; instance totals are filled for the imported days.
 * - Idempotent: rows already here (imported before, or measured by this
 *   service) are left alone, so a second run adds nothing and says so.
 * - One transaction per instance; a dry run rolls each back, so its figures
 *   are exactly what a real run would do.
 */
import type { Clock } from '../lib/clock.js';
import { DB_TYPES, type DbType } from '../domain/db-type.js';
import { IMPORT_METHOD, type ImportedSizeRow, type ImportWhalefallRepository, type LifecycleSpan } from '../store/import-whalefall.repository.js';
import type { OriginalInstance, OriginalSizeRow, OriginalWhalefallReader } from '../store/original-whalefall.reader.js';
import type { Actor, AuditService } from './audit.service.js';
import { instanceFields } from './instances.service.js';

export const MB = 1_048_576;
export { IMPORT_METHOD };

/** The original's db_type spellings → ours. */
const TYPE_ALIASES: Record<string, DbType> = {
  postgres: 'postgresql',
  pgsql: 'postgresql',
  mssql: 'sqlserver',
  'sql server': 'sqlserver',
  sql_server: 'sqlserver',
};

export interface ImportProgress {
  instance: string;
  rows_done: number;
  rows_total: number;
}

export interface InstanceOutcome {
  name: string;
  action: 'created' | 'matched' | 'skipped';
  instance_id: number | null;
  reason?: string;
  rows_read: number;
  rows_inserted: number;
  databases_created: number;
  databases_deleted: number;
}

export interface ImportSummary {
  dry_run: boolean;
  instances_created: number;
  instances_matched: number;
  instances_skipped: number;
  rows_read: number;
  rows_inserted: number;
  rows_already_present: number;
  databases_created: number;
  totals_days_added: number;
  instances: InstanceOutcome[];
}

export function mapDbType(t: string): DbType | null {
  const k = t.trim().toLowerCase();
  if ((DB_TYPES as readonly string[]).includes(k)) return k as DbType;
  return TYPE_ALIASES[k] ?? null;
}

export class ImportWhalefallService {
  constructor(
    private readonly d: {
      repo: ImportWhalefallRepository;
      clock: Clock;
      audit: AuditService;
      /** Called after a real import adds history (the runway's cache). */
      onHistoryChanged?: () => void | Promise<void>;
    },
  ) {}

  async run(reader: OriginalWhalefallReader, opts: { dryRun?: boolean; actor: Actor; onProgress?: (p: ImportProgress) => void }): Promise<ImportSummary> {
    const dryRun = opts.dryRun === true;
    const originals = await reader.instances();
    const counts = await reader.historyCounts();
    const rowsTotal = [...counts.values()].reduce((a, b) => a + b, 0);
    const summary: ImportSummary = {
      dry_run: dryRun,
      instances_created: 0,
      instances_matched: 0,
      instances_skipped: 0,
      rows_read: 0,
      rows_inserted: 0,
      rows_already_present: 0,
      databases_created: 0,
      totals_days_added: 0,
      instances: [],
    };
    // Progress counts the original's rows, including those of skipped instances (never read).
    let done = 0;
    for (const orig of originals) {
      const out = await this.importInstance(reader, orig, dryRun, (n) => {
        summary.rows_read += n;
        done += n;
        opts.onProgress?.({ instance: orig.name, rows_done: done, rows_total: rowsTotal });
      });
      if (out.outcome.action === 'skipped' && counts.get(orig.id)) {
        done += counts.get(orig.id)!;
        opts.onProgress?.({ instance: orig.name, rows_done: done, rows_total: rowsTotal });
      }
      summary.instances.push(out.outcome);
      if (out.outcome.action === 'created') summary.instances_created++;
      else if (out.outcome.action === 'matched') summary.instances_matched++;
      else summary.instances_skipped++;
      summary.rows_inserted += out.outcome.rows_inserted;
      summary.databases_created += out.outcome.databases_created;
      summary.totals_days_added += out.totalsDays;
    }
    summary.rows_already_present = summary.rows_read - summary.rows_inserted;
    if (!dryRun) {
      await this.d.audit.record(opts.actor, {
        action: 'instances.import_whalefall',
        targetType: 'instance',
        details: {
          created: summary.instances_created,
          matched: summary.instances_matched,
          skipped: summary.instances_skipped,
          rows_inserted: summary.rows_inserted,
        },
      });
      if (summary.rows_inserted > 0 || summary.instances_created > 0) await this.d.onHistoryChanged?.();
    }
    return summary;
  }

  private async importInstance(reader: OriginalWhalefallReader, orig: OriginalInstance, dryRun: boolean, read: (n: number) => void) {
    const skipped = (reason: string) => ({
      outcome: {
        name: orig.name,
        action: 'skipped' as const,
        instance_id: null,
        reason,
        rows_read: 0,
        rows_inserted: 0,
        databases_created: 0,
        databases_deleted: 0,
      },
      totalsDays: 0,
    });
    const dbType = mapDbType(orig.db_type);
    if (!dbType) return skipped(`unknown db_type "${orig.db_type}"`);
    const now = this.d.clock.now().toISOString();
    return this.d.repo.unit(dryRun, async (trx) => {
      let action: 'created' | 'matched' = 'matched';
      let id: number;
      const existing = await this.d.repo.instanceByName(trx, orig.name);
      if (existing) id = existing.id;
      else {
        const { fields, errors } = instanceFields({
          name: orig.name,
          db_type: dbType,
          host: orig.host,
          port: orig.port ?? undefined,
          is_active: orig.is_active,
        });
        // The original has no service name column: an Oracle instance gets one when its credential is set.
        const real = errors.filter((e) => e.field !== 'database_name');
        if (real.length) return skipped(real.map((e) => `${e.field}: ${e.message}`).join('; '));
        id = await this.d.repo.insertInstance(trx, {
          ...fields,
          description: `imported from the original WhaleFall (id ${orig.id})`,
          credential_id: null,
          created_at: now,
          updated_at: now,
        });
        action = 'created';
      }
      let rowsRead = 0;
      let inserted = 0;
      let from: string | null = null;
      let to: string | null = null;
      const spans = new Map<string, LifecycleSpan>();
      for await (const page of reader.history(orig.id)) {
        const rows = page.map(toImported);
        inserted += await this.d.repo.insertHistory(trx, id, rows, now);
        for (const r of page) {
          if (from === null || r.collected_date < from) from = r.collected_date;
          if (to === null || r.collected_date > to) to = r.collected_date;
          span(spans, r);
        }
        rowsRead += page.length;
        read(page.length);
      }
      const list = [...spans.values()];
      const created = await this.d.repo.mergeLifecycle(trx, id, list, now);
      const totalsDays = from !== null && to !== null ? await this.d.repo.fillInstanceTotals(trx, id, from, to) : 0;
      // A new instance, or one never collected yet, shows its latest imported totals.
      if (action === 'created' || existing?.total_size_bytes === null) await this.d.repo.setLatestTotals(trx, id);
      return {
        outcome: {
          name: orig.name,
          action,
          instance_id: dryRun && action === 'created' ? null : id,
          rows_read: rowsRead,
          rows_inserted: inserted,
          databases_created: created,
          databases_deleted: list.filter((s) => s.is_deleted).length,
        },
        totalsDays,
      };
    });
  }
}

function toImported(r: OriginalSizeRow): ImportedSizeRow {
  return {
    database_name: r.database_name,
    collected_date: r.collected_date,
    size_bytes: r.size_mb * MB,
    data_bytes: r.data_size_mb === null ? null : r.data_size_mb * MB,
    log_bytes: r.log_size_mb === null ? null : r.log_size_mb * MB,
    collected_at: r.collected_at ?? `${r.collected_date}T00:00:00.000Z`,
    is_deleted: r.is_deleted,
    deleted_at: r.is_deleted ? (r.deleted_at ?? r.collected_at) : null,
  };
}

/** First and last day of a database, and its state on the last day (the original marks a deletion on that day's row). */
function span(spans: Map<string, LifecycleSpan>, r: OriginalSizeRow): void {
  const s = spans.get(r.database_name);
  if (!s) {
    spans.set(r.database_name, {
      database_name: r.database_name,
      first_seen_date: r.collected_date,
      last_seen_date: r.collected_date,
      is_deleted: r.is_deleted,
      deleted_at: r.is_deleted ? r.deleted_at : null,
    });
    return;
  }
  if (r.collected_date < s.first_seen_date) s.first_seen_date = r.collected_date;
  if (r.collected_date >= s.last_seen_date) {
    s.last_seen_date = r.collected_date;
    s.is_deleted = r.is_deleted;
    s.deleted_at = r.is_deleted ? r.deleted_at : null;
  }
}
