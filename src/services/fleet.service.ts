/**
 * Fleet onboarding: the registry as a file (CSV or YAML) in both directions,
 * and connection tests over many instances at once.
 *
 * Import is a plan first, writes second: every row is checked (type, host,
 * port, duplicate names, unknown credential, options…) and every problem is
 * reported with its row, line and column; nothing is stored unless the whole
 * file is valid (or, with `partial`, the valid rows are). Rows match existing
 * instances by name, so importing the same file twice changes nothing. An
 * instance that is registered but absent from the file is reported as
 * missing, and disabled only when asked.
 *
 * Export writes the same columns, credentials by name, never a secret:
 * export → import of that file is a no-op, and into an empty registry (with
 * the same credential names) rebuilds the same definitions.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Node } from 'yaml';
import { mapLimit } from '../lib/concurrency.js';
import { csvLine, csvUnguard, parseCsv } from '../lib/csv.js';
import { AppError } from '../lib/errors.js';
import type { CredentialsRepository } from '../store/credentials.repository.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow, InstanceUpdate } from '../store/schema.js';
import type { Clock } from '../lib/clock.js';
import { diff, type Actor, type AuditService } from './audit.service.js';
import type { ConnectionService } from './connection.service.js';
import { instanceFields, type InstanceFields, type InstanceInput } from './instances.service.js';
import { fail, integer } from './validate.js';

export const FLEET_FORMATS = ['csv', 'yaml'] as const;
export type FleetFormat = (typeof FLEET_FORMATS)[number];

/** The columns of an import/export file, in export order. `credential` is a credential's name. */
export const FLEET_COLUMNS = ['name', 'db_type', 'host', 'port', 'database_name', 'credential', 'is_active', 'description', 'tags', 'options'] as const;
export type FleetColumn = (typeof FLEET_COLUMNS)[number];
const REQUIRED_COLUMNS: FleetColumn[] = ['name', 'db_type', 'host'];

/** One problem in the file. `row` is the CSV record number (header = 1) or the YAML list item (first = 1). */
export interface ImportError {
  row: number;
  line: number;
  column: number | null;
  field: string;
  message: string;
}

export type RowAction = 'create' | 'update' | 'unchanged' | 'invalid';

export interface ImportReport {
  format: FleetFormat;
  dry_run: boolean;
  partial: boolean;
  disable_missing: boolean;
  /** Whether the writes were stored (false in a dry run and when an invalid file is refused). */
  applied: boolean;
  total_rows: number;
  valid_rows: number;
  invalid_rows: number;
  /** The plan of the valid rows (what was stored when `applied`). */
  created: number;
  updated: number;
  unchanged: number;
  /** Registered instances absent from the file, by name. */
  missing: string[];
  /** Missing instances that were (or, in a dry run, would be) disabled. */
  disabled: string[];
  errors: ImportError[];
  /** One line per row, for a preview table. */
  rows: { row: number; line: number; name: string | null; action: RowAction; changes?: string[] }[];
}

export interface ImportOptions {
  format: FleetFormat;
  dryRun?: boolean;
  partial?: boolean;
  disableMissing?: boolean;
}

/** A row as read from the file: raw values by column and where each one is. */
interface SourceRow {
  row: number;
  line: number;
  values: Partial<Record<FleetColumn, unknown>>;
  where: Partial<Record<FleetColumn, { line: number; column: number }>>;
  errors: ImportError[];
}

interface Parsed {
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

function parseCsvFile(text: string): Parsed {
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

function parseYamlFile(text: string): Parsed {
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
    const p = pos(top as Node | null);
    return { rows: [], fileErrors: [{ row: 0, line: p.line, column: p.col, field: '', message: '需要 instances: 列表 (expected a list, or a mapping with an `instances:` list)' }] };
  }
  const rows = list.items.map((item, k) => {
    const p = pos(item as Node);
    const r: SourceRow = { row: k + 1, line: p.line, values: {}, where: {}, errors: [] };
    if (!isMap(item)) {
      r.errors.push({ row: r.row, line: p.line, column: p.col, field: '', message: '每一项必须是映射 (each item must be a mapping)' });
      return r;
    }
    for (const pair of item.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const at = pos((pair.value ?? pair.key) as Node, p);
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
function columnOf(field: string): FleetColumn | undefined {
  if (field === 'credential_id') return 'credential';
  const base = /^[a-z_]+/.exec(field)?.[0];
  return (FLEET_COLUMNS as readonly string[]).includes(base ?? '') ? (base as FleetColumn) : undefined;
}

const COMPARED = ['db_type', 'host', 'port', 'database_name', 'credential_id', 'is_active', 'description', 'tags', 'options'] as const satisfies readonly (keyof InstanceFields)[];

export interface ConnectionTestRow {
  instance_id: number;
  name: string;
  db_type: string;
  address: string;
  reachable: boolean;
  /** null when the server was not reached (nothing to authenticate against). */
  auth_ok: boolean | null;
  server_version: string | null;
  latency_ms: number;
  error_code: string | null;
  error: string | null;
  /** With `doctor`: grants present / checked, and the missing ones' names. */
  doctor: { ok: boolean; checks: number; missing: string[] } | null;
}

export interface ConnectionTestSelection {
  ids?: number[];
  names?: string[];
  tag?: string;
  /** Every active instance. */
  all?: boolean;
}

export class FleetService {
  constructor(
    private readonly d: {
      instances: InstancesRepository;
      credentials: CredentialsRepository;
      connections: Pick<ConnectionService, 'probe'>;
      clock: Clock;
      audit: AuditService;
    },
  ) {}

  /** Check `text` and (unless a dry run, and only if valid or `partial`) apply it. Never throws on bad rows: they are in the report. */
  async import(text: string, opts: ImportOptions, actor: Actor): Promise<ImportReport> {
    const parsed = opts.format === 'csv' ? parseCsvFile(text) : parseYamlFile(text);
    const [existing, credentials] = await Promise.all([this.d.instances.list(), this.d.credentials.list()]);
    const byName = new Map(existing.map((i) => [i.name, i]));
    const credByName = new Map(credentials.map((c) => [c.name, c.id]));
    const credName = new Map(credentials.map((c) => [c.id, c.name]));
    const seen = new Map<string, number>(); // name → first row
    const report: ImportReport = {
      format: opts.format,
      dry_run: !!opts.dryRun,
      partial: !!opts.partial,
      disable_missing: !!opts.disableMissing,
      applied: false,
      total_rows: parsed.rows.length,
      valid_rows: 0,
      invalid_rows: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      missing: [],
      disabled: [],
      errors: [...parsed.fileErrors],
      rows: [],
    };
    const now = this.d.clock.now().toISOString();
    const creates: (InstanceFields & { created_at: string; updated_at: string })[] = [];
    const updates: { id: number; name: string; patch: InstanceUpdate; changes: string[]; diff: ReturnType<typeof diff> }[] = [];

    for (const src of parsed.rows) {
      const errors = [...src.errors];
      const at = (col: FleetColumn | undefined) => (col && src.where[col] ? src.where[col] : { line: src.line, column: null });
      const err = (field: string, message: string) => {
        const w = at(columnOf(field));
        errors.push({ row: src.row, line: w.line, column: w.column, field, message });
      };
      const rawName = typeof src.values.name === 'string' ? src.values.name.trim() : null;
      const current = rawName ? byName.get(rawName) : undefined;
      // A column the file does not have keeps the instance's current value (a new instance: the default).
      const input: InstanceInput = current ? currentInput(current) : {};
      for (const col of FLEET_COLUMNS) {
        if (!(col in src.values) || col === 'credential') continue;
        (input as Record<string, unknown>)[col] = src.values[col];
      }
      if ('credential' in src.values) {
        const c = src.values.credential;
        if (c === null || c === undefined || c === '') input.credential_id = null;
        else if (typeof c !== 'string') err('credential', '必须是凭据名称 (a credential name)');
        // The cell is not echoed: a password typed into the credential column must not come back in the report.
        else if (!credByName.has(c.trim())) err('credential', '没有这个名称的凭据 (unknown credential name; see GET /api/credentials)');
        else input.credential_id = credByName.get(c.trim());
      }
      const { fields, errors: fieldErrors } = instanceFields(input);
      for (const fe of fieldErrors) err(fe.field, fe.message);
      if (rawName && !fieldErrors.some((e) => e.field === 'name')) {
        const first = seen.get(rawName);
        if (first !== undefined) err('name', `名称 "${rawName}" 与第 ${first} 行重复 (duplicate of row ${first})`);
        else seen.set(rawName, src.row);
      }
      if (errors.length) {
        report.errors.push(...errors);
        report.invalid_rows++;
        report.rows.push({ row: src.row, line: src.line, name: rawName, action: 'invalid' });
        continue;
      }
      report.valid_rows++;
      if (!current) {
        creates.push({ ...fields, created_at: now, updated_at: now });
        report.rows.push({ row: src.row, line: src.line, name: fields.name, action: 'create' });
        continue;
      }
      const changes = COMPARED.filter((k) => fields[k] !== current[k]);
      if (!changes.length) {
        report.rows.push({ row: src.row, line: src.line, name: fields.name, action: 'unchanged' });
        continue;
      }
      const patch: InstanceUpdate = { updated_at: now };
      for (const k of changes) (patch as Record<string, unknown>)[k] = fields[k];
      updates.push({ id: current.id, name: current.name, patch, changes: changes.map((k) => (k === 'credential_id' ? 'credential' : k)), diff: diff(current, patch) });
      report.rows.push({ row: src.row, line: src.line, name: fields.name, action: 'update', changes: updates.at(-1)!.changes });
    }
    report.created = creates.length;
    report.updated = updates.length;
    report.unchanged = report.valid_rows - creates.length - updates.length;
    // Names of invalid rows count as present: a typo in a row must not disable the instance it describes.
    const named = new Set(parsed.rows.map((r) => (typeof r.values.name === 'string' ? r.values.name.trim() : '')));
    const missing = existing.filter((i) => !named.has(i.name));
    report.missing = missing.map((i) => i.name);
    const toDisable = opts.disableMissing ? missing.filter((i) => i.is_active === 1) : [];
    report.disabled = toDisable.map((i) => i.name);

    const valid = parsed.fileErrors.length === 0 && (report.invalid_rows === 0 || !!opts.partial);
    if (opts.dryRun || !valid) return report;
    const disableUpdates = toDisable.map((i) => ({ id: i.id, patch: { is_active: 0 as const, updated_at: now } }));
    if (creates.length + updates.length + disableUpdates.length > 0) {
      await this.d.instances.applyBatch(creates, [...updates.map((u) => ({ id: u.id, patch: u.patch })), ...disableUpdates]);
      await this.d.audit.record(actor, {
        action: 'instance.import',
        targetType: 'instance',
        details: {
          format: opts.format,
          created: creates.map((c) => c.name),
          updated: updates.map((u) => ({ name: u.name, changed: u.diff })),
          disabled: report.disabled,
          skipped_invalid_rows: report.invalid_rows,
          credentials: [...new Set(creates.map((c) => c.credential_id).filter((id) => id !== null).map((id) => credName.get(id!)))],
        },
      });
    }
    report.applied = true;
    return report;
  }

  /** The registry (or the instances with `tag`) as a file in `format`, credentials by name, no secrets. */
  async export(format: FleetFormat, filter: { tag?: string } = {}): Promise<string> {
    const [rows, credentials] = await Promise.all([this.d.instances.list({ tag: filter.tag }), this.d.credentials.list()]);
    const credName = new Map(credentials.map((c) => [c.id, c.name]));
    const items = rows.map((r) => exportItem(r, credName));
    return renderFleet(items, format);
  }

  /** The instances a selection names: ids, names, a tag, or every active one. Unknown ids or names are refused. */
  async select(sel: ConnectionTestSelection): Promise<InstanceRow[]> {
    const all = await this.d.instances.list();
    if (!sel.ids?.length && !sel.names?.length && sel.tag === undefined && !sel.all) fail('selection', '请指定实例 id、名称、标签或 all (give ids, names, a tag or all)');
    const byId = new Map(all.map((i) => [i.id, i]));
    const byName = new Map(all.map((i) => [i.name, i]));
    const chosen = new Map<number, InstanceRow>();
    for (const id of sel.ids ?? []) {
      const i = byId.get(id);
      if (!i) throw new AppError('not_found', `实例 ${id} 不存在 (instance not found)`);
      chosen.set(id, i);
    }
    for (const n of sel.names ?? []) {
      const i = byName.get(n);
      if (!i) throw new AppError('not_found', `实例 "${n}" 不存在 (instance not found)`);
      chosen.set(i.id, i);
    }
    if (sel.tag !== undefined) for (const i of await this.d.instances.list({ tag: sel.tag })) chosen.set(i.id, i);
    if (sel.all) for (const i of all) if (i.is_active === 1) chosen.set(i.id, i);
    return [...chosen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Test the connection of every selected instance, at most `concurrency` at
   * a time (each bounded by its connect timeout); with `doctor`, also which
   * grants are missing. One row per instance, in name order; never throws for
   * an unreachable instance.
   */
  async testConnections(sel: ConnectionTestSelection, opts: { concurrency?: number; doctor?: boolean } = {}): Promise<ConnectionTestRow[]> {
    const concurrency = opts.concurrency === undefined ? 8 : integer('concurrency', opts.concurrency, 1, 256);
    const targets = await this.select(sel);
    return mapLimit(targets, concurrency, async (inst) => {
      const row: ConnectionTestRow = {
        instance_id: inst.id,
        name: inst.name,
        db_type: inst.db_type,
        address: `${inst.host}:${inst.port}`,
        reachable: false,
        auth_ok: null,
        server_version: null,
        latency_ms: 0,
        error_code: null,
        error: null,
        doctor: null,
      };
      const started = performance.now();
      try {
        const p = await this.d.connections.probe(inst.id, { grants: opts.doctor });
        row.server_version = p.server_version;
        if ('checks' in p) row.doctor = { ok: p.ok, checks: p.checks.length, missing: p.checks.filter((c) => !c.ok).map((c) => c.name) };
        row.reachable = true;
        row.auth_ok = true;
      } catch (err) {
        const code = err instanceof AppError ? (err.code ?? err.kind) : 'internal';
        row.error_code = code;
        row.error = err instanceof Error ? err.message : String(err);
        // The server answered when it refused the login or a grant; `auth_ok` only means something then.
        const [reachable, authOk] = code === 'auth' ? [true, false] : code === 'permission' ? [true, true] : [false, null];
        row.reachable = reachable;
        row.auth_ok = authOk;
      }
      row.latency_ms = Math.round(performance.now() - started);
      return row;
    });
  }
}

/** An instance as the checks take it, from its stored row (what an absent column keeps). */
function currentInput(r: InstanceRow): InstanceInput {
  return {
    name: r.name,
    db_type: r.db_type,
    host: r.host,
    port: r.port,
    database_name: r.database_name,
    credential_id: r.credential_id,
    is_active: r.is_active === 1,
    description: r.description,
    tags: JSON.parse(r.tags) as unknown,
    options: JSON.parse(r.options) as unknown,
  };
}

/** One instance as the import/export files hold it. */
export interface FleetItem {
  name: string;
  db_type: string;
  host: string;
  port: number;
  database_name: string | null;
  credential: string | null;
  is_active: boolean;
  description: string | null;
  tags: string[];
  options: Record<string, unknown>;
}

/** Items as a CSV or YAML file that `import` reads back exactly (export, discovery proposals). */
export function renderFleet(items: FleetItem[], format: FleetFormat): string {
  if (format === 'yaml') return stringify({ instances: items }, { lineWidth: 0 });
  const lines = ['\uFEFF' + csvLine(FLEET_COLUMNS)];
  for (const it of items) {
    // `a;b` unless a tag holds a ';' or starts with '[': then the cell is a JSON array.
    const tagCell = it.tags.some((t) => t.includes(';') || t.startsWith('[')) ? JSON.stringify(it.tags) : it.tags.join(';');
    const opts = Object.keys(it.options).length ? JSON.stringify(it.options) : '';
    lines.push(csvLine([it.name, it.db_type, it.host, it.port, it.database_name, it.credential, it.is_active ? 'true' : 'false', it.description, tagCell, opts]));
  }
  return lines.join('');
}

function exportItem(r: InstanceRow, credName: Map<number, string>): FleetItem {
  return {
    name: r.name,
    db_type: r.db_type,
    host: r.host,
    port: r.port,
    database_name: r.database_name,
    credential: r.credential_id === null ? null : (credName.get(r.credential_id) ?? null),
    is_active: r.is_active === 1,
    description: r.description,
    tags: JSON.parse(r.tags) as string[],
    options: JSON.parse(r.options) as Record<string, unknown>,
  };
}
