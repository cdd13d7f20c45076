/**
 * Display formatting shared by the eta views and the client modules: dates
 * and times in the user's locale and the configured time zone (WHALEFALL_TZ),
 * sizes through the one formatter (src/lib/sizes.ts), signed changes.
 */
import { formatBytes } from '../../lib/sizes.js';
import { t, type Locale } from './i18n/index.js';

export { formatBytes };

const cache = new Map<string, Intl.DateTimeFormat>();
function dtf(locale: Locale, timeZone: string, withTime: boolean): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${withTime}`;
  let f = cache.get(key);
  if (!f) {
    // zh-CN is assembled from parts below (YYYY-MM-DD HH:mm); English is the locale's own order ("Dec 3, 2026, 08:14").
    f =
      locale === 'zh-CN'
        ? new Intl.DateTimeFormat('en-CA', {
            timeZone,
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            ...(withTime ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' as const } : {}),
          })
        : new Intl.DateTimeFormat(locale, {
            timeZone,
            year: 'numeric',
            month: 'short',
            day: 'numeric',
            ...(withTime ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' as const } : {}),
          });
    cache.set(key, f);
  }
  return f;
}

function zhParts(f: Intl.DateTimeFormat, d: Date): string {
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(d)) p[part.type] = part.value;
  const date = `${p.year}-${p.month}-${p.day}`;
  return p.hour === undefined ? date : `${date} ${p.hour}:${p.minute}`;
}

/**
 * ISO UTC timestamp → the one date-time format of the locale, in the configured time zone (named once per page
 * by the layout's footer, not on every value): zh-CN `2026-12-03 08:14`, English `Dec 3, 2026, 08:14`; null → '—'.
 */
export function formatDateTime(iso: string | null | undefined, locale: Locale, timeZone: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const f = dtf(locale, timeZone, true);
  return locale === 'zh-CN' ? zhParts(f, d) : f.format(d);
}

/** 'YYYY-MM-DD' (already a local date) → shown as is in zh-CN, in the locale's order in English ("Dec 3, 2026"). */
export function formatDate(date: string | null | undefined, locale: Locale): string {
  if (!date) return '—';
  if (locale === 'zh-CN') return date;
  const d = new Date(`${date}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? date : dtf(locale, 'UTC', false).format(d);
}

/** The time zone as the page's footer names it: "Asia/Shanghai (UTC+08:00)". */
export function formatTimeZone(timeZone: string, at: Date = new Date()): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? '';
  const offset = name === 'GMT' ? 'UTC+00:00' : name.replace('GMT', 'UTC');
  return `${timeZone} (${offset})`;
}

/** Bytes with a sign: "+1.50 MB", "-2.00 GB", "0 B"; null → '—'. */
export function formatBytesChange(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes === 0) return formatBytes(0);
  return `${bytes > 0 ? '+' : '-'}${formatBytes(Math.abs(bytes))}`;
}

/** MB with two decimals, for the seed's "总容量 (MB)" and hover titles. */
export function formatMb(bytes: number | null | undefined, locale: Locale): string {
  if (bytes === null || bytes === undefined) return '—';
  return `${(bytes / 1024 / 1024).toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 })} MB`;
}

export function formatNumber(n: number | null | undefined, locale: Locale): string {
  return n === null || n === undefined ? '—' : n.toLocaleString(locale);
}

/** A signed percentage with up to two decimals: "+2.5%", "-0.13%"; null → '—'. */
export function formatPct(n: number | null | undefined, locale: Locale): string {
  if (n === null || n === undefined) return '—';
  return `${n > 0 ? '+' : ''}${n.toLocaleString(locale, { maximumFractionDigits: 2 })}%`;
}

/** Names in a sentence: "a, b and c" / "a、b和c". */
export function formatList(items: string[], locale: Locale): string {
  return new Intl.ListFormat(locale, { type: 'conjunction' }).format(items);
}

/** A duration: "850 ms", "12.3 s", "4 min 05 s", "1 h 02 min"; null → '—'. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 999.5) return `${Math.round(ms)} ms`;
  // Each form up to where its rounding would show the next one's limit ("1000 ms", "60.0 s").
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** What a sync session's counts line reads. */
export interface SessionCounts {
  status: string;
  successful_instances: number;
  failed_instances: number;
  total_instances: number;
}

/**
 * "成功 1 · 失败 0 · 共 2", and once the session has ended the records that neither succeeded nor failed — skipped
 * (cancelled while queued, already queued by another session) — so the three add up: "… · 跳过 1 · 共 2". While it
 * runs, the rest are still to come.
 */
export function formatSessionCounts(s: SessionCounts, locale: Locale): string {
  const params = { ok: s.successful_instances, failed: s.failed_instances, total: s.total_instances };
  const skipped = s.total_instances - s.successful_instances - s.failed_instances;
  return s.status === 'running' || skipped <= 0 ? t(locale, 'sessions.counts', params) : t(locale, 'sessions.counts_skipped', { ...params, skipped });
}

/** Every formatter bound to one locale and time zone: the same `fmt` in the eta views and in the browser modules. */
export function formatters(locale: Locale, timeZone: string) {
  return {
    bytes: formatBytes,
    change: formatBytesChange,
    /** A change against a baseline: null is "no baseline yet" (no earlier point), never "0 B". */
    growth: (b: number | null | undefined) => (b === null || b === undefined ? t(locale, 'common.no_baseline') : formatBytesChange(b)),
    mb: (b: number | null | undefined) => formatMb(b, locale),
    dateTime: (iso: string | null | undefined) => formatDateTime(iso, locale, timeZone),
    date: (d: string | null | undefined) => formatDate(d, locale),
    /** A chart's x label: a 'YYYY-MM-DD' day in the locale's date format, anything else (a week, a month) as is. */
    day: (d: string) => (/^\d{4}-\d{2}-\d{2}$/.test(d) ? formatDate(d, locale) : d),
    timeZone: () => formatTimeZone(timeZone),
    number: (n: number | null | undefined) => formatNumber(n, locale),
    pct: (n: number | null | undefined) => formatPct(n, locale),
    duration: formatDuration,
    list: (items: string[]) => formatList(items, locale),
    sessionCounts: (s: SessionCounts) => formatSessionCounts(s, locale),
  };
}
