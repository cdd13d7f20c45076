/**
 * CSV (RFC 4180) for exports, streamed: rows are produced by an async
 * iterable and written as they come, never built in memory. A UTF-8 BOM
 * first, so spreadsheet programs read Chinese names correctly. `parseCsv`
 * reads it back (imports), undoing the formula guard so export → import is exact.
 */
import { Readable } from 'node:stream';

/** A CSV file that cannot be read: its line and which problem (the import report names it by key). */
export class CsvSyntaxError extends RangeError {
  constructor(
    readonly line: number,
    readonly problem: 'unterminated' | 'after_quote',
    text: string,
  ) {
    super(`line ${line}: ${text}`);
  }
}

/**
 * A number as a plain decimal, never in exponent form: `-5.934e-7` →
 * `-0.0000005934`, `1e21` → `1000000000000000000000`. Spreadsheets and pandas
 * then read the column as numbers.
 */
export function plainDecimal(n: number): string {
  if (!Number.isFinite(n)) return '';
  const s = String(n);
  if (!/e/i.test(s)) return s;
  if (Number.isInteger(n)) return BigInt(n).toString();
  // Below 1e-6: enough fixed digits for every significant digit String() showed, then trailing zeros dropped.
  const [mantissa, exp] = s.split(/e/i) as [string, string];
  const digits = mantissa.replace(/^-?\d\.?/, '').length + Math.abs(Number(exp));
  return n.toFixed(Math.min(100, digits)).replace(/\.?0+$/, '');
}

/**
 * One cell. Numbers are plain decimals and booleans `true`/`false`; only
 * strings get the formula guard: a leading = + - @ (tab, CR) would be a
 * formula in a spreadsheet, so it is prefixed with ' (CSV injection). A value
 * that already looks guarded ('=…, ''-…) gets one more ', so `parseCsv` can
 * always remove exactly one.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return plainDecimal(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  const safe = /^'*[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Percentages (columns named `*_pct`) are written rounded to 2 places. */
const isPct = (column: string) => column.endsWith('_pct');
const round2 = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 100) / 100 : v);

export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(',') + '\r\n';
}

/** A readable stream of CSV text: header, then one line per row. */
export function csvStream<T>(columns: readonly (keyof T & string)[], rows: AsyncIterable<T> | Iterable<T>): Readable {
  async function* lines() {
    yield '\uFEFF' + csvLine(columns);
    for await (const row of rows) yield csvLine(columns.map((c) => (isPct(c) ? round2(row[c]) : row[c])));
  }
  return Readable.from(lines());
}

/** One parsed record: its fields and the physical line (1-based) it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/** Undo `csvField`'s formula guard: `'=x` → `=x`, `''-x` → `'-x`; anything else unchanged. */
export function csvUnguard(s: string): string {
  return /^'+[=+\-@\t\r]/.test(s) ? s.slice(1) : s;
}

/**
 * Parse RFC 4180 text (a leading BOM ignored; CRLF or LF; quoted fields may hold
 * commas, quotes and newlines). Blank lines are skipped. Fields are returned
 * raw, guard included: callers apply `csvUnguard` to the cells they read.
 * Throws a RangeError naming the line of an unterminated quote or of text after
 * a closing quote.
 */
export function parseCsv(text: string): CsvRecord[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let i = 0;
  let blank = true; // nothing seen on this record yet
  const endRecord = () => {
    if (!(blank && fields.length === 0 && field === '')) out.push({ fields: [...fields, field], line: start });
    fields = [];
    field = '';
    blank = true;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '"' && field === '') {
      blank = false;
      const open = line;
      i++;
      for (;;) {
        if (i >= src.length) throw new CsvSyntaxError(open, 'unterminated', '引号未闭合 (unterminated quoted field)');
        const q = src[i]!;
        if (q === '"') {
          if (src[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      const next = src[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new CsvSyntaxError(line, 'after_quote', '引号后不能有其他字符 (text after a closing quote)');
      }
      continue;
    }
    if (c === ',') {
      blank = false;
      fields.push(field);
      field = '';
      i++;
    } else if (c === '\r' || c === '\n') {
      i += c === '\r' && src[i + 1] === '\n' ? 2 : 1;
      endRecord();
      line++;
      start = line;
    } else {
      blank = false;
      field += c;
      i++;
    }
  }
  endRecord();
  return out;
}
