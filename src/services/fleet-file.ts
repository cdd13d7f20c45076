/**
 * The fleet file (CSV or YAML) read into rows: each cell checked and turned into what the instance checks expect,
 * every problem kept with its row, line and column. Pure: no store, no I/O (fleet.service.ts plans and writes).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { csvUnguard, parseCsv } from '../lib/csv.js';

export const FLEET_FORMATS = ['csv', 'yaml'] as const;
export type FleetFormat = (typeof FLEET_FORMATS)[number];

/** The columns of an import/export file, in export order. `credential` is a credential's name. */
export const FLEET_COLUMNS = ['name', 'db_type', 'host', 'port', 'database_name', 'credential', 'is_active', 'description', 'tags', 'options'] as const;
export type FleetColumn = (typeof FLEET_COLUMNS)[number];
export const REQUIRED_COLUMNS: FleetColumn[] = ['name', 'db_type', 'host'];

/** One problem in the file. `row` is the CSV record number (header = 1) or the YAML list item (first = 1). */
export interface ImportError {
  row: number;
  line: number;
  column: number | null;
  field: string;
  message: string;
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
function csvValue(col: FleetColumn, cell: string): { value?: unknown; error?: string } {
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
      return { error: `"${raw}" 必须是 true 或 false (true/false, yes/no, 1/0)` };
    }
    case 'tags': {
      const v = csvUnguard(raw.trim());
      if (v === '') return { value: [] };
      if (v.startsWith('[')) {
        try {
          return { value: JSON.parse(v) as unknown };
        } catch {
          return { error: '以 [ 开头的标签必须是 JSON 数组 (a cell starting with [ must be a JSON array)' };
        }
      }
      return { value: v.split(';').map((t) => t.trim()).filter((t) => t !== '') };
    }
    case 'options': {
      const v = raw.trim();
      if (v === '') return { value: {} };
      try {
        return { value: JSON.parse(v) as unknown };
      } catch {
        return { error: '必须是 JSON 对象，如 {"connect_timeout_ms": 5000} (a JSON object)' };
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
    const line = Number(/^line (\d+)/.exec((err as Error).message)?.[1] ?? 1);
    return { rows: [], fileErrors: [{ row: 0, line, column: null, field: '', message: (err as Error).message.replace(/^line \d+: /, '') }] };
  }
  const header = records[0];
  if (!header) return { rows: [], fileErrors: [{ row: 1, line: 1, column: null, field: '', message: '文件为空 (the file is empty)' }] };
  const fileErrors: ImportError[] = [];
  const columns: (FleetColumn | null)[] = header.fields.map((h, i) => {
    const name = h.trim().toLowerCase() as FleetColumn;
    const at = { row: 1, line: header.line, column: i + 1, field: h };
    if (!(FLEET_COLUMNS as readonly string[]).includes(name)) {
      fileErrors.push({ ...at, message: `未知的列 "${h}" (unknown column; known: ${FLEET_COLUMNS.join(', ')})` });
      return null;
    }
    if (header.fields.slice(0, i).some((o) => o.trim().toLowerCase() === name)) fileErrors.push({ ...at, message: `列 "${h}" 重复 (duplicate column)` });
    return name;
  });
  for (const req of REQUIRED_COLUMNS) {
    if (!columns.includes(req)) fileErrors.push({ row: 1, line: header.line, column: null, field: req, message: `缺少必需的列 "${req}" (required column missing)` });
  }
  const rows: SourceRow[] = records.slice(1).map((rec, k) => {
    const r: SourceRow = { row: k + 2, line: rec.line, values: {}, where: {}, errors: [] };
    if (rec.fields.length !== header.fields.length) {
      r.errors.push({ row: r.row, line: rec.line, column: null, field: '', message: `有 ${rec.fields.length} 列，表头有 ${header.fields.length} 列 (${rec.fields.length} cells, the header has ${header.fields.length})` });
    }
    columns.forEach((col, i) => {
      if (!col || i >= rec.fields.length) return;
      r.where[col] = { line: rec.line, column: i + 1 };
      const { value, error } = csvValue(col, rec.fields[i]!);
      if (error) r.errors.push({ row: r.row, line: rec.line, column: i + 1, field: col, message: error });
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
      fileErrors: doc.errors.map((e) => ({ row: 0, line: e.linePos?.[0].line ?? 1, column: e.linePos?.[0].col ?? null, field: '', message: e.message.split('\n')[0]! })),
    };
  }
  const top = doc.contents;
  const list = isSeq(top) ? top : isMap(top) ? top.get('instances', true) : undefined;
  if (!isSeq(list)) {
    const p = pos(top);
    return { rows: [], fileErrors: [{ row: 0, line: p.line, column: p.col, field: '', message: '需要 instances: 列表 (expected a list, or a mapping with an `instances:` list)' }] };
  }
  const rows = list.items.map((item, k) => {
    const p = pos(item);
    const r: SourceRow = { row: k + 1, line: p.line, values: {}, where: {}, errors: [] };
    if (!isMap(item)) {
      r.errors.push({ row: r.row, line: p.line, column: p.col, field: '', message: '每一项必须是映射 (each item must be a mapping)' });
      return r;
    }
    for (const pair of item.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const at = pos((pair.value ?? pair.key), p);
      if (!(FLEET_COLUMNS as readonly string[]).includes(key)) {
        r.errors.push({ row: r.row, line: at.line, column: at.col, field: key, message: `未知的字段 "${key}" (unknown field; known: ${FLEET_COLUMNS.join(', ')})` });
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

