/**
 * CSV (RFC 4180) for exports, streamed: rows are produced by an async
 * iterable and written as they come, never built in memory. A UTF-8 BOM
 * first, so spreadsheet programs read Chinese names correctly.
 */
import { Readable } from 'node:stream';

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // A leading = + - @ would be a formula in a spreadsheet: prefix with ' (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(',') + '\r\n';
}

/** A readable stream of CSV text: header, then one line per row. */
export function csvStream<T>(columns: readonly (keyof T & string)[], rows: AsyncIterable<T> | Iterable<T>): Readable {
  async function* lines() {
    yield '\uFEFF' + csvLine(columns);
    for await (const row of rows) yield csvLine(columns.map((c) => row[c]));
  }
  return Readable.from(lines());
}
