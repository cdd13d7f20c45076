/** The seed's response envelope: `{success: true, data}` / `{success: false, error}`. */
import { Type } from '@sinclair/typebox';

export function ok<T>(data: T, message?: string) {
  return message === undefined ? { success: true as const, data } : { success: true as const, message, data };
}

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
