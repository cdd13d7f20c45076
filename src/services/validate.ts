/**
 * Input checks shared by the API and the CLI: services validate, so both
 * front doors refuse the same things with the same words.
 */
import { AppError } from '../lib/errors.js';

export function fail(field: string, message: string): never {
  throw new AppError('validation', `${field}: ${message}`);
}

/** Non-empty after trim, bounded, no control characters. */
export function text(field: string, value: unknown, max: number, opts: { optional?: boolean } = {}): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (opts.optional) return undefined;
    fail(field, '不能为空 (required)');
  }
  if (typeof value !== 'string') fail(field, '必须是字符串 (must be a string)');
  const v = value.trim();
  if (!v) {
    if (opts.optional) return undefined;
    fail(field, '不能为空 (required)');
  }
  if (v.length > max) fail(field, `长度不能超过 ${max} 个字符 (at most ${max} characters)`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) fail(field, '不能包含控制字符 (control characters are not allowed)');
  return v;
}

export function requiredText(field: string, value: unknown, max: number): string {
  return text(field, value, max)!;
}

export function integer(field: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    fail(field, `必须是 ${min}–${max} 之间的整数 (an integer from ${min} to ${max})`);
  }
  return n;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(field, `必须是 ${allowed.join(' | ')} 之一 (one of ${allowed.join(', ')})`);
  }
  return value as T;
}

export function bool(field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  fail(field, '必须是 true 或 false (a boolean)');
}
