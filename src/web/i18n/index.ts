/**
 * One dictionary for every visible string, used by the eta views (server)
 * and by the client modules (bundled): `t(locale, 'key', {param})`.
 * zh-CN is the default; a missing English text falls back to Chinese, a
 * missing key shows the key itself (visible in review, never a crash).
 */
import { MESSAGES, type MessageKey } from './messages.js';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'zh-CN';

export function isLocale(v: unknown): v is Locale {
  return typeof v === 'string' && (LOCALES as readonly string[]).includes(v);
}

export function pickLocale(...candidates: unknown[]): Locale {
  for (const c of candidates) if (isLocale(c)) return c;
  return DEFAULT_LOCALE;
}

export type Params = Record<string, string | number>;

export function t(locale: Locale, key: MessageKey | string, params?: Params): string {
  const entry = (MESSAGES as Record<string, { 'zh-CN': string; en?: string }>)[key];
  let s = entry ? ((locale === 'en' ? entry.en : undefined) ?? entry['zh-CN']) : key;
  if (params) for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

export type { MessageKey };
