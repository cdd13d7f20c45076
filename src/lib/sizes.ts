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

const STEPS = [0.125, 0.25, 0.5, 1, 2, 4, 5, 8, 10, 16, 20, 32, 40, 64, 80, 128, 160, 256, 320, 512, 640, 1024];

/**
 * A y axis on round binary units: the step is 1, 2 or 5 × 2^n of the unit the largest value is shown in
 * (KB, MB, GB …, each 1024 of the one before), so ticks read 0 / 4 MB / 8 MB / 12 MB, never 4.77 / 9.54 MB
 * (what decimal steps of 5,000,000 bytes look like in binary units). The axis keeps 0 in range, as a
 * size axis should, and has at most `ticks` intervals.
 *
 *   binaryAxis(0, 25_000_000) → { min: 0, max: 26214400, interval: 5242880 } (0, 5 MB … 25 MB)
 */
export function binaryAxis(lo: number, hi: number, ticks = 5): { min: number; max: number; interval: number } {
  const low = Math.min(0, lo);
  const high = Math.max(0, hi);
  const biggest = Math.max(Math.abs(low), Math.abs(high), 1);
  let unit = 1;
  while (biggest >= unit * 1024 && unit < 1024 ** 5) unit *= 1024;
  const span = high - low || biggest;
  for (const c of STEPS) {
    const step = c * unit;
    if (step < 1) continue; // a step under one byte: bytes are whole
    const min = Math.floor(low / step) * step;
    const max = Math.max(Math.ceil(high / step) * step, min + step);
    if ((max - min) / step <= ticks && span > 0) return { min, max, interval: step };
  }
  const step = 1024 * unit;
  return { min: Math.floor(low / step) * step, max: Math.max(Math.ceil(high / step) * step, step), interval: step };
}

/** An axis label without the formatter's padding zeros: "5.00 MB" → "5 MB", "1.50 MB" → "1.5 MB". */
export function trimZeros(label: string): string {
  return label.replace(/\.(\d*?)0+(?=\s|$)/, (_m, d: string) => (d ? `.${d}` : ''));
}
