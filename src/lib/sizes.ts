/** Sizes are bytes everywhere; MB (2 decimals) only at the edges, for the seed's API shape. */

const MIB = 1024 * 1024;

export function bytesToMb(bytes: number): number;
export function bytesToMb(bytes: number | null): number | null;
export function bytesToMb(bytes: number | null): number | null {
  if (bytes === null) return null;
  return Math.round((bytes / MIB) * 100) / 100;
}

const SHORT_INT = /^\d+$/;

/** Parse a driver's byte count (number, bigint or decimal string) exactly, or fail loudly. */
export function toBytes(value: unknown, what: string): number | null {
  if (value === null || value === undefined) return null;
  let n: number;
  if (typeof value === 'number') n = value;
  // Up to 15 digits is always a safe integer: no BigInt needed (40,000 tablespace sizes are parsed per collection).
  else if (typeof value === 'string' && value.length <= 15 && SHORT_INT.test(value)) n = Number(value);
  else if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < 0n) throw new RangeError(`${what} out of range: ${value}`);
    n = Number(value);
  } else if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) {
    const s = value.trim();
    const intPart = s.split('.')[0]!;
    if (BigInt(intPart) > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} out of range: ${s}`);
    n = Math.round(Number(s));
  } else {
    throw new TypeError(`${what} is not a number: ${JSON.stringify(value)}`);
  }
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`${what} must be a non-negative number, got ${n}`);
  if (!Number.isSafeInteger(Math.round(n))) throw new RangeError(`${what} out of range: ${n}`);
  return Math.round(n);
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 1536 → "1.50 KB". One formatter for the CLI and the UI. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(2)} ${UNITS[i]}`;
}
