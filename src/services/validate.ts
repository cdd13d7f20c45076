/**
 * Input checks shared by the API and the CLI: services validate, so both
 * front doors refuse the same things with the same words.
 */
import { AppError } from '../lib/errors.js';
import { msg, type Msg } from '../client/shared/i18n/index.js';

/**
 * Refuse `field`: `api.validation.field` with the field and the reason. A reason by key (`msg('api.v.…')`)
 * is rendered in the caller's language; a reason given as text is shown as it is, in both.
 */
export function fail(field: string, reason: string | Msg): never {
  throw new AppError('validation', msg('api.validation.field', { field, reason }));
}

/** Refuse `field` because its value is taken (a duplicate name): 409 `conflict`, in the same words as `fail`. */
export function taken(field: string, reason: Msg): never {
  throw new AppError('conflict', msg('api.validation.field', { field, reason }));
}

/** Non-empty after trim, bounded, no control characters. */
export function text(field: string, value: unknown, max: number, opts: { optional?: boolean } = {}): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (opts.optional) return undefined;
    fail(field, msg('api.v.required'));
  }
  if (typeof value !== 'string') fail(field, msg('api.v.string'));
  const v = value.trim();
  if (!v) {
    if (opts.optional) return undefined;
    fail(field, msg('api.v.required'));
  }
  if (v.length > max) fail(field, msg('api.v.max_chars', { max }));
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) fail(field, msg('api.v.control_chars'));
  return v;
}

export function requiredText(field: string, value: unknown, max: number): string {
  return text(field, value, max)!;
}

export function integer(field: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    fail(field, msg('api.v.integer', { min, max }));
  }
  return n;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(field, msg('api.v.one_of', { values: allowed.join(' | '), list: allowed.join(', ') }));
  }
  return value as T;
}

export function bool(field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  fail(field, msg('api.v.boolean'));
}
