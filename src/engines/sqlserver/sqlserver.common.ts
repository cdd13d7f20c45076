/** What the SQL Server database and table collectors share: exact page counts and quoted names. */
import { SyncError } from '../../lib/errors.js';

export const PAGE_BYTES = 8192n;

export const quoteName = (name: string): string => `[${name.replaceAll(']', ']]')}]`;

/**
 * An exact non-negative integer from the driver, as BigInt. BIGINT is a
 * string (exact); INT a number. A DECIMAL is a number tedious computed in
 * floating point: past 2^53 it may already be off, so only safe integers
 * are trusted and the rest refused as a `data` error.
 */
export function exactCount(value: unknown, what: string): bigint {
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new SyncError('data', `无法精确读取 ${what}: ${JSON.stringify(value)} (not an exact non-negative integer)`);
}
