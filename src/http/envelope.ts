/** The seed's response envelope: `{success: true, data}` / `{success: false, error}`. */
import { Type, type TUnsafe } from '@sinclair/typebox';
import type { AppErrorKind } from '../lib/errors.js';

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

export function ok<T>(data: T, message?: string) {
  return message === undefined ? { success: true as const, data } : { success: true as const, message, data };
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
