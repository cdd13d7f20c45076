/**
 * One dictionary for every visible string, used by the eta views (server),
 * by the client modules (bundled) and by the API's own messages:
 * `t(locale, 'key', {param})`. zh-CN is the default; a missing English text
 * falls back to Chinese, a missing key shows the key itself (visible in
 * review, never a crash).
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

/**
 * A message by key, as the API sends it (`message_key` + `params`) and a sync
 * record stores it. A parameter may itself be a message (the cause inside
 * "cannot connect to instance X: <cause>"): it is rendered in the same locale.
 */
export interface Msg {
  key: string;
  params?: Params;
}
export type Params = Record<string, string | number | Msg>;

export function isMsg(v: unknown): v is Msg {
  return typeof v === 'object' && v !== null && typeof (v as Msg).key === 'string';
}

// `string & {}`: any key is accepted (keys the server sends), the dictionary's keys are still offered by the editor.
export function t(locale: Locale, key: MessageKey | (string & {}), params?: Params): string {
  const entry = (MESSAGES as Record<string, { 'zh-CN': string; en?: string }>)[key];
  let s = entry ? ((locale === 'en' ? entry.en : undefined) ?? entry['zh-CN']) : key;
  if (params) for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(isMsg(v) ? t(locale, v.key, v.params) : String(v));
  return s;
}

/** The text of a keyed message; zh-CN is the API's own language. */
export function msgText(m: Msg, locale: Locale = DEFAULT_LOCALE): string {
  return t(locale, m.key, m.params);
}

/** A line that is a keyed message or (older code's) plain text, as text in `locale`. */
export function textOf(m: string | Msg, locale: Locale = DEFAULT_LOCALE): string {
  return typeof m === 'string' ? m : msgText(m, locale);
}

/** A stored `{key, params}` (a record's `error_msg`), or null when absent or unreadable. */
export function parseStoredMsg(json: string | null | undefined): Msg | null {
  if (!json) return null;
  try {
    const m: unknown = JSON.parse(json);
    return isMsg(m) ? m : null;
  } catch {
    return null;
  }
}

/** A message by key (the key is checked against the catalogue at compile time). */
export function msg(key: MessageKey, params?: Params): Msg {
  return params ? { key, params } : { key };
}

/**
 * The API's language from an Accept-Language header: English when the
 * request ranks some `en` above every `zh` (q-values, then order), else
 * Chinese, the seed's language (no header, `*`, or any other language).
 */
export function localeFromAcceptLanguage(header: string | undefined): Locale {
  if (!header) return DEFAULT_LOCALE;
  let best: { locale: Locale; q: number } | undefined;
  for (const part of header.split(',').slice(0, 20)) {
    const [tag, ...attrs] = part.trim().toLowerCase().split(';');
    const qAttr = attrs.map((a) => a.trim()).find((a) => a.startsWith('q='));
    const q = qAttr ? Number(qAttr.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    const locale: Locale | undefined = tag === 'en' || tag?.startsWith('en-') ? 'en' : tag === 'zh' || tag?.startsWith('zh-') ? 'zh-CN' : undefined;
    if (locale && (!best || q > best.q)) best = { locale, q };
  }
  return best?.locale ?? DEFAULT_LOCALE;
}

export type { MessageKey };
