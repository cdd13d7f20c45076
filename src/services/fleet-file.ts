/**
 * The fleet file (CSV or YAML) read into rows: each cell checked and turned into what the instance checks expect,
 * every problem kept with its row, line and column. Pure: no store, no I/O (fleet.service.ts plans and writes).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { CsvSyntaxError, csvUnguard, parseCsv } from '../lib/csv.js';
import { msg, msgText, type Msg, type Params } from '../client/shared/i18n/index.js';

export { FLEET_FORMATS, type FleetFormat } from '../domain/fleet.js';

/** The columns of an import/export file, in export order. `credential` is a credential's name. */
export const FLEET_COLUMNS = ['name', 'db_type', 'host', 'port', 'database_name', 'credential', 'is_active', 'description', 'tags', 'options'] as const;
export type FleetColumn = (typeof FLEET_COLUMNS)[number];
export const REQUIRED_COLUMNS: FleetColumn[] = ['name', 'db_type', 'host'];

/**
 * One problem in the file. `row` is the CSV record number (header = 1) or the YAML list item (first = 1).
 * `message` is the zh-CN text (the route renders it in the request's language); `message_key` + `params` let the UI
 * render it in its own.
 */
export interface ImportError {
  row: number;
  line: number;
  column: number | null;
  field: string;
  message: string;
  message_key: string;
  params?: Params;
}

/** An import problem at `at`, by key. */
export function importError(at: { row: number; line: number; column: number | null; field: string }, m: Msg): ImportError {
  return { ...at, message: msgText(m), message_key: m.key, ...(m.params ? { params: m.params } : {}) };
}

export interface SourceRow {
  row: number;
  line: number;
  values: Partial<Record<FleetColumn, unknown>>;
  where: Partial<Record<FleetColumn, { line: number; column: number }>>;
  errors: ImportError[];
}

export interface Parsed {
  rows: SourceRow[];
  /** Problems with the file as a whole (syntax, header): nothing can be imported. */
  fileErrors: ImportError[];
}

const TRUE_WORDS = ['true', 'yes', '1', 'on'];
const FALSE_WORDS = ['false', 'no', '0', 'off'];

/** CSV cells are text: turn each into what the instance checks expect. Empty means "default". */
function csvValue(col: FleetColumn, cell: string): { value?: unknown; error?: Msg } {
  const raw = cell;
  switch (col) {
    case 'port':
      return { value: raw.trim() === '' ? null : raw };
    case 'credential':
    case 'database_name':
    case 'description':
      return { value: raw.trim() === '' ? null : csvUnguard(raw) };
    case 'is_active': {
      const w = raw.trim().toLowerCase();
      if (w === '') return { value: undefined };
      if (TRUE_WORDS.includes(w)) return { value: true };
      if (FALSE_WORDS.includes(w)) return { value: false };
      return { error: msg('import.e.bool', { value: raw }) };
    }
    case 'tags': {
      const v = csvUnguard(raw.trim());
      if (v === '') return { value: [] };
      if (v.startsWith('[')) {
        try {
          return { value: JSON.parse(v) as unknown };
        } catch {
          return { error: msg('import.e.tags_json') };
        }
      }
      return {
        value: v
          .split(';')
          .map((t) => t.trim())
          .filter((t) => t !== ''),
      };
    }
    case 'options': {
      const v = raw.trim();
      if (v === '') return { value: {} };
      try {
        return { value: JSON.parse(v) as unknown };
      } catch {
        return { error: msg('import.e.options_json') };
      }
    }
    default:
      return { value: csvUnguard(raw) };
  }
}

export function parseCsvFile(text: string): Parsed {
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (!(err instanceof CsvSyntaxError)) throw err;
    const key = err.problem === 'unterminated' ? 'import.e.csv_unterminated' : 'import.e.csv_after_quote';
    return { rows: [], fileErrors: [importError({ row: 0, line: err.line, column: null, field: '' }, msg(key))] };
  }
  const header = records[0];
  if (!header) return { rows: [], fileErrors: [importError({ row: 1, line: 1, column: null, field: '' }, msg('import.e.empty'))] };
  const fileErrors: ImportError[] = [];
  const columns: (FleetColumn | null)[] = header.fields.map((h, i) => {
    const name = h.trim().toLowerCase() as FleetColumn;
    const at = { row: 1, line: header.line, column: i + 1, field: h };
    if (!(FLEET_COLUMNS as readonly string[]).includes(name)) {
      fileErrors.push(importError(at, msg('import.e.unknown_column', { column: h, known: FLEET_COLUMNS.join(', ') })));
      return null;
    }
    if (header.fields.slice(0, i).some((o) => o.trim().toLowerCase() === name))
      fileErrors.push(importError(at, msg('import.e.duplicate_column', { column: h })));
    return name;
  });
  for (const req of REQUIRED_COLUMNS) {
    if (!columns.includes(req))
      fileErrors.push(importError({ row: 1, line: header.line, column: null, field: req }, msg('import.e.missing_column', { column: req })));
  }
  const rows: SourceRow[] = records.slice(1).map((rec, k) => {
    const r: SourceRow = { row: k + 2, line: rec.line, values: {}, where: {}, errors: [] };
    if (rec.fields.length !== header.fields.length) {
      r.errors.push(
        importError(
          { row: r.row, line: rec.line, column: null, field: '' },
          msg('import.e.cell_count', { cells: rec.fields.length, header: header.fields.length }),
        ),
      );
    }
    columns.forEach((col, i) => {
      if (!col || i >= rec.fields.length) return;
      r.where[col] = { line: rec.line, column: i + 1 };
      const { value, error } = csvValue(col, rec.fields[i]!);
      if (error) r.errors.push(importError({ row: r.row, line: rec.line, column: i + 1, field: col }, error));
      else r.values[col] = value;
    });
    return r;
  });
  return { rows, fileErrors };
}

const YAML_NULL_DEFAULT: Partial<Record<FleetColumn, () => unknown>> = { tags: () => [], options: () => ({}), is_active: () => undefined };

export function parseYamlFile(text: string): Parsed {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  const pos = (node: Node | null | undefined, fallback = { line: 1, col: 1 }) => (node?.range ? lc.linePos(node.range[0]) : fallback);
  if (doc.errors.length) {
    return {
      rows: [],
      fileErrors: doc.errors.map((e) =>
        importError(
          { row: 0, line: e.linePos?.[0].line ?? 1, column: e.linePos?.[0].col ?? null, field: '' },
          msg('import.e.yaml_syntax', { detail: e.message.split('\n')[0]! }),
        ),
      ),
    };
  }
  const top = doc.contents;
  const list = isSeq(top) ? top : isMap(top) ? top.get('instances', true) : undefined;
  if (!isSeq(list)) {
    const p = pos(top);
    return { rows: [], fileErrors: [importError({ row: 0, line: p.line, column: p.col, field: '' }, msg('import.e.yaml_list'))] };
  }
  const rows = list.items.map((item, k) => {
    const p = pos(item);
    const r: SourceRow = { row: k + 1, line: p.line, values: {}, where: {}, errors: [] };
    if (!isMap(item)) {
      r.errors.push(importError({ row: r.row, line: p.line, column: p.col, field: '' }, msg('import.e.yaml_item')));
      return r;
    }
    for (const pair of item.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const at = pos(pair.value ?? pair.key, p);
      if (!(FLEET_COLUMNS as readonly string[]).includes(key)) {
        r.errors.push(
          importError(
            { row: r.row, line: at.line, column: at.col, field: key },
            msg('import.e.unknown_field', { field: key, known: FLEET_COLUMNS.join(', ') }),
          ),
        );
        continue;
      }
      const col = key as FleetColumn;
      r.where[col] = { line: at.line, column: at.col };
      const v = pair.value as Node | null;
      const value = v === null || v === undefined ? null : (v.toJSON() as unknown);
      // An empty key (`tags:`) means the default, as an empty CSV cell does.
      r.values[col] = value === null && YAML_NULL_DEFAULT[col] !== undefined ? YAML_NULL_DEFAULT[col]() : value;
    }
    return r;
  });
  return { rows, fileErrors: [] };
}

/** The import error's column in the file for an instance-check field (`options.x` → options, `credential_id` → credential). */
export function columnOf(field: string): FleetColumn | undefined {
  if (field === 'credential_id') return 'credential';
  const base = /^[a-z_]+/.exec(field)?.[0];
  return (FLEET_COLUMNS as readonly string[]).includes(base ?? '') ? (base as FleetColumn) : undefined;
}
