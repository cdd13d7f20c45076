/** The seed's response envelope: `{success: true, data}` / `{success: false, error}`. */
import { Type, type TUnsafe } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { AppErrorKind } from '../lib/errors.js';
import { DEFAULT_LOCALE, localeFromAcceptLanguage, msgText, type Locale, type Msg } from '../web/i18n/index.js';

/** The HTTP status of each kind of AppError (API envelope, pages and static files alike). */
export const HTTP_STATUS: Record<AppErrorKind, number> = {
  validation: 400,
  sync_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

/**
 * `{success: true, [message], data}`. A keyed message adds `message_key` and
 * `params` (the UI renders them in its own language) and its `message` is in
 * `locale` (`apiLocale(req)`: zh-CN, the seed's language, unless the request
 * prefers English).
 */
export function ok<T>(data: T, message?: string | Msg, locale: Locale = DEFAULT_LOCALE) {
  if (message === undefined) return { success: true as const, data };
  if (typeof message === 'string') return { success: true as const, message, data };
  return { success: true as const, message: msgText(message, locale), message_key: message.key, ...(message.params ? { params: message.params } : {}), data };
}

/** The language of the API's `message`/`error`: English only when Accept-Language prefers it. */
export function apiLocale(req: FastifyRequest): Locale {
  return localeFromAcceptLanguage(req.headers['accept-language']);
}

const OK_HEAD = Buffer.from('{"success":true,"data":');
const OK_TAIL = Buffer.from('}');

/** `ok(data)` as UTF-8 JSON text, for data already serialised (`dataJson` must be valid JSON). */
export function okJson(dataJson: Buffer): Buffer {
  return Buffer.concat([OK_HEAD, dataJson, OK_TAIL]);
}

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

/** A string that must be one of `values`: one `enum` keyword, so a wrong value gets one clear message. */
export function StringEnum<T extends string>(values: readonly T[]): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values] });
}
