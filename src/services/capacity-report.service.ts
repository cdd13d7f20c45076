/**
 * The monthly capacity report (issue #21 item 5): for a calendar month, the
 * estate and per-tag totals at its end with the change from the month before,
 * showback (each tag's mean size over the month in GB × the configured rate
 * per GB-month), the top growers, the 10 shortest runways, and cleanup
 * candidates with estimated savings. Rendered as HTML, CSV or PDF by
 * capacity-report.render.ts; mailed on the 1st for the month just ended.
 *
 * What each number means:
 * - a total is each instance's latest measured total in the month (an
 *   instance not measured in the month counts as absent, not 0); a server
 *   registered twice counts once, in the totals, the showback (day by day)
 *   and the growers alike (`same_server_excluded` lists the registrations
 *   left out at the month's end);
 * - GB-months = mean daily total over the month's measured days / 2^30
 *   (a GB held the whole month is one GB-month); cost = GB-months × rate;
 *   an instance with several tags counts in each; untagged ones under "(none)";
 * - runways are today's (GET /api/statistics/runway), not the month end's;
 * - savings: reclaimable space (composition parts: PostgreSQL `reclaimable`,
 *   MySQL/MariaDB `free`, SQL Server `data_unused` — free inside data files,
 *   freed by DBCC SHRINKFILE — and Oracle `tablespace_free`, freed by resizing
 *   the datafiles; see savingsInParts), WAL held by inactive replication slots, binary logs
 *   (their whole size: what a shorter retention could free at most), live
 *   databases whose size has not changed for 90 days (their size, if archived
 *   or dropped), soft-deleted databases' remaining history rows (store rows).
 */
import { addDays, localDate, type Clock } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import { htmlToPdf, pdfAvailable } from '../lib/pdf.js';
import { renderReportCsv, renderReportHtml, reportTitle } from './capacity-report.render.js';
import type { Lang, Mail } from './email.service.js';

export type { CapacityReport } from './capacity-report.model.js';
import type { ReportRepository } from '../store/report.repository.js';
import type { CapacityReport, Cleanup, TotalLine } from './capacity-report.model.js';
import type { RunwayService } from './runway.service.js';
import type { SettingsService } from './settings.service.js';
import { countServersOnce } from './capacity-report.servers.js';
import { sameServerOrder } from './same-server.js';
import { fail } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

const GB = 1024 ** 3;
export const UNCHANGED_DAYS = 90;
const TOP = 10;
/** Cleanup candidates listed per kind (the largest first). */
const CLEANUP_PER_KIND = 50;
export const NO_TAG = '(none)';

/** `YYYY-MM` → its first and last day. */
export function monthBounds(month: string): { from: string; to: string; previous: string } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) fail('month', msg('api.v.month'));
  const from = `${month}-01`;
  const next = new Date(Date.UTC(Number(m[1]), Number(m[2]), 1)).toISOString().slice(0, 10);
  const to = addDays(next, -1);
  return { from, to, previous: addDays(from, -1).slice(0, 7) };
}

function line(key: string, now: Map<number, number>, before: Map<number, number>, ids: readonly number[]): TotalLine {
  let total = 0;
  let prev = 0;
  let prevSeen = false;
  let n = 0;
  for (const id of ids) {
    const v = now.get(id);
    if (v !== undefined) {
      total += v;
      n++;
    }
    const p = before.get(id);
    if (p !== undefined) {
      prev += p;
      prevSeen = true;
    }
  }
  const change = prevSeen ? total - prev : null;
  return {
    key,
    instances: n,
    total_bytes: total,
    previous_bytes: prevSeen ? prev : null,
    change_bytes: change,
    change_pct: change !== null && prev > 0 ? Math.round((change / prev) * 10000) / 100 : null,
  };
}

export class CapacityReportService {
  constructor(
    private readonly d: {
      repo: ReportRepository;
      runway: Pick<RunwayService, 'list'>;
      settings: Pick<SettingsService, 'effective'>;
      clock: Clock;
      timeZone: string;
      chromiumPath: string;
    },
  ) {}

  /** The report as a file: HTML, CSV (UTF-8 with a BOM, for spreadsheets) or PDF (chromium; 501 when absent). */
  async document(month: string, format: 'html' | 'csv' | 'pdf', lang: Lang): Promise<{ type: string; filename: string; body: string | Buffer }> {
    const r = await this.build(month);
    const filename = `capacity-report-${r.month}.${format}`;
    if (format === 'csv') return { type: 'text/csv; charset=utf-8', filename, body: `\uFEFF${renderReportCsv(r)}` };
    const html = renderReportHtml(r, lang);
    if (format === 'html') return { type: 'text/html; charset=utf-8', filename, body: html };
    if (!pdfAvailable(this.d.chromiumPath)) {
      throw new AppError('unavailable', msg('api.pdf_unavailable', { path: this.d.chromiumPath }));
    }
    return { type: 'application/pdf', filename, body: await htmlToPdf(html, this.d.chromiumPath) };
  }

  /** The report as an email (HTML body, text summary, the CSV attached). */
  async mail(month: string, lang: Lang): Promise<Mail & { attachments: { filename: string; content: string }[] }> {
    const r = await this.build(month);
    const html = renderReportHtml(r, lang);
    const text = [
      reportTitle(r, lang),
      `${r.from} – ${r.to}`,
      `${lang === 'en' ? 'Estate total' : '全部实例合计'}: ${r.estate.total_bytes} bytes (${r.estate.change_bytes ?? '—'})`,
    ].join('\n');
    return { subject: reportTitle(r, lang), text, html, attachments: [{ filename: `capacity-report-${r.month}.csv`, content: `\uFEFF${renderReportCsv(r)}` }] };
  }

  /** The month before today's (WHALEFALL_TZ): what the report on the 1st covers. */
  lastMonth(now = this.d.clock.now()): string {
    return addDays(`${localDate(now, this.d.timeZone).slice(0, 7)}-01`, -1).slice(0, 7);
  }

  async build(month: string): Promise<CapacityReport> {
    const { from, to, previous } = monthBounds(month);
    const prev = monthBounds(previous);
    const [atEnd, atPrev, averages, settings, runways, compositions, deleted] = await Promise.all([
      this.d.repo.totalsAt(from, to),
      this.d.repo.totalsAt(prev.from, prev.to),
      this.d.repo.averages(from, to),
      this.d.settings.effective(),
      this.d.runway.list({ scope: 'instance', limit: TOP }),
      this.d.repo.latestCompositions(to),
      this.d.repo.deletedWithHistory(CLEANUP_PER_KIND),
    ]);
    const unchanged = await this.d.repo.unchanged(addDays(to, -(UNCHANGED_DAYS - 1)), to, CLEANUP_PER_KIND);
    const order = sameServerOrder(atEnd);
    const daily = await this.d.repo.dailyTotals([...order.keys()], from, to);
    const { now, before, means, sameServer } = countServersOnce(order, atEnd, atPrev, averages, daily);
    const names = new Map(atEnd.map((i) => [i.id, i.name]));
    const tagsOf = (tags: string) => {
      const t = JSON.parse(tags) as string[];
      return t.length ? t : [NO_TAG];
    };
    const byTag = new Map<string, number[]>();
    for (const i of atEnd) for (const t of tagsOf(i.tags)) byTag.set(t, [...(byTag.get(t) ?? []), i.id]);
    const tags = [...byTag.keys()].sort((a, b) => (a === NO_TAG ? 1 : b === NO_TAG ? -1 : a.localeCompare(b)));

    const rate = settings.showback_rate_per_gb_month;
    const lines = tags.map((tag) => {
      const gbMonths = byTag.get(tag)!.reduce((a, id) => a + (means.get(id)?.avg ?? 0), 0) / GB;
      return { tag, gb_months: Math.round(gbMonths * 1000) / 1000, cost: Math.round(gbMonths * rate * 100) / 100 };
    });
    // The estate's cost counts each instance once (a multi-tagged instance is in several tag lines).
    const estateGbMonths = atEnd.reduce((a, i) => a + (means.get(i.id)?.avg ?? 0), 0) / GB;

    const growers = atEnd
      .filter((i) => now.has(i.id) && before.has(i.id))
      .map((i) => ({
        instance_id: i.id,
        instance_name: i.name,
        previous_bytes: before.get(i.id)!,
        total_bytes: now.get(i.id)!,
        change_bytes: now.get(i.id)! - before.get(i.id)!,
      }))
      .filter((g) => g.change_bytes > 0)
      .sort((a, b) => b.change_bytes - a.change_bytes || a.instance_name.localeCompare(b.instance_name))
      .slice(0, TOP);

    const cleanup: Cleanup[] = [];
    const nameOf = (id: number) => names.get(id) ?? String(id);
    for (const c of compositions) {
      for (const x of savingsInParts(JSON.parse(c.parts) as CompositionPartRow[]))
        cleanup.push({ ...x, instance_id: c.instance_id, instance_name: nameOf(c.instance_id), rows: null });
    }
    for (const u of unchanged)
      cleanup.push({
        kind: 'unchanged_90_days',
        instance_id: u.instance_id,
        instance_name: nameOf(u.instance_id),
        target: u.database_name,
        savings_bytes: u.size_bytes,
        rows: null,
      });
    for (const x of deleted)
      cleanup.push({
        kind: 'deleted_history',
        instance_id: x.instance_id,
        instance_name: nameOf(x.instance_id),
        target: x.database_name,
        savings_bytes: null,
        rows: x.rows,
      });
    cleanup.sort((a, b) => (b.savings_bytes ?? -1) - (a.savings_bytes ?? -1) || (b.rows ?? 0) - (a.rows ?? 0));
    // The savings count every candidate; the list keeps the CLEANUP_PER_KIND largest of each kind (a 5,000-instance
    // estate would otherwise list two composition rows per instance).
    const cleanupSavings = cleanup.reduce((a, c) => a + (c.savings_bytes ?? 0), 0);
    const perKind = new Map<string, number>();
    const listed = cleanup.filter((c) => {
      const n = (perKind.get(c.kind) ?? 0) + 1;
      perKind.set(c.kind, n);
      return n <= CLEANUP_PER_KIND;
    });

    return {
      month,
      from,
      to,
      previous_month: previous,
      generated_at: this.d.clock.now().toISOString(),
      estate: line(
        'estate',
        now,
        before,
        atEnd.map((i) => i.id),
      ),
      by_tag: tags.map((t) => line(t, now, before, byTag.get(t)!)),
      same_server_excluded: sameServer,
      showback: {
        rate_per_gb_month: rate,
        currency: settings.showback_currency,
        lines,
        total_gb_months: Math.round(estateGbMonths * 1000) / 1000,
        total_cost: Math.round(estateGbMonths * rate * 100) / 100,
      },
      top_growers: growers,
      shortest_runways: runways.items,
      cleanup: listed,
      cleanup_savings_bytes: cleanupSavings,
    };
  }
}

/** One composition part as stored (domain/composition.ts CompositionPart). */
interface CompositionPartRow {
  kind: string;
  bytes: number | null;
  detail?: Record<string, unknown> | null;
}

/** Parts whose bytes are free space inside allocated files, per engine: what a shrink or resize could return to the disk. */
const RECLAIMABLE_PARTS = new Set(['reclaimable', 'free', 'data_unused', 'tablespace_free']);

/**
 * The cleanup candidates one instance's composition shows: free space inside
 * its files (reclaimable), its binary logs (their whole size: the most a
 * shorter retention could free), and WAL held by each inactive replication
 * slot. Unknown (null) or zero parts are not candidates.
 */
export function savingsInParts(
  parts: readonly CompositionPartRow[],
): { kind: 'reclaimable' | 'binary_logs' | 'inactive_slot_wal'; target: string; savings_bytes: number }[] {
  const out: { kind: 'reclaimable' | 'binary_logs' | 'inactive_slot_wal'; target: string; savings_bytes: number }[] = [];
  for (const p of parts) {
    if (RECLAIMABLE_PARTS.has(p.kind) && p.bytes) out.push({ kind: 'reclaimable', target: p.kind, savings_bytes: p.bytes });
    if (p.kind === 'binary_logs' && p.bytes) out.push({ kind: 'binary_logs', target: p.kind, savings_bytes: p.bytes });
    if (p.kind === 'wal_retained_by_slots' && p.detail && Array.isArray(p.detail.slots)) {
      for (const s of p.detail.slots as { name: string; bytes: number; inactive_holding_wal: boolean }[]) {
        if (s.inactive_holding_wal && s.bytes) out.push({ kind: 'inactive_slot_wal', target: s.name, savings_bytes: s.bytes });
      }
    }
  }
  return out;
}
