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
import { stringify } from 'yaml';
import { mapLimit, pacer } from '../lib/concurrency.js';
import { csvLine } from '../lib/csv.js';
import { AppError, SyncError } from '../lib/errors.js';
import type { CredentialsRepository } from '../store/credentials.repository.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow, InstanceUpdate } from '../store/schema.js';
import type { Clock } from '../lib/clock.js';
import { diff, type Actor, type AuditService } from './audit.service.js';
import type { ConnectionService } from './connection.service.js';
import { engineChangeRefused, instanceFields, type InstanceFields, type InstanceInput } from './instances.service.js';
import { fail, integer } from './validate.js';
import { columnOf, FLEET_COLUMNS, importError, type FleetColumn, type FleetFormat, type ImportError } from './fleet-file.js';
import { parseFleetFile } from './fleet-parse.js';

import { serverKey } from './same-server.js';
import { msg, msgText, t, type Locale, type Msg } from '../client/shared/i18n/index.js';

export { FLEET_COLUMNS, FLEET_FORMATS, type FleetColumn, type FleetFormat, type ImportError } from './fleet-file.js';

export type RowAction = 'create' | 'update' | 'unchanged' | 'invalid';

/** A connection test of an instance without a credential: not contacted. */
const NO_CREDENTIAL = msg('api.connection.no_credential');

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
  /** How many of `errors` are the whole file's (header, syntax): the file is refused whatever `partial` says. */
  file_errors: number;
  /**
   * New rows pointing at a server already registered (or at the same server as an earlier new row of the file):
   * same host:port, see same-server.ts. A file with any is stored only with `confirm_duplicates`.
   */
  duplicates: { row: number; line: number; name: string; same_as: string[] }[];
  /** Duplicates found and not confirmed: nothing was stored (confirm_duplicates=true to store them anyway). */
  needs_confirmation: boolean;
  /** One line per row, for a preview table. */
  rows: { row: number; line: number; name: string | null; action: RowAction; changes?: string[] }[];
}

export interface ImportOptions {
  format: FleetFormat;
  dryRun?: boolean;
  partial?: boolean;
  disableMissing?: boolean;
  /** Store new rows for servers already registered (see ImportReport.duplicates). */
  confirmDuplicates?: boolean;
}

/** Default of WHALEFALL_IMPORT_MAX_ROWS. */
export const IMPORT_MAX_ROWS = 20_000;
const REGISTRY_PAGE = 500;

const COMPARED = [
  'db_type',
  'host',
  'port',
  'database_name',
  'credential_id',
  'is_active',
  'description',
  'tags',
  'options',
] as const satisfies readonly (keyof InstanceFields)[];

export interface ConnectionTestRow {
  instance_id: number;
  name: string;
  db_type: string;
  address: string;
  /** null when it was never contacted (no credential, one that cannot be read): nothing is known about the server. */
  reachable: boolean | null;
  /** null when the server was not reached (nothing to authenticate against). */
  auth_ok: boolean | null;
  server_version: string | null;
  /** null when it was never contacted. */
  latency_ms: number | null;
  error_code: string | null;
  /** zh-CN text (the route renders it in the request's language); `error_msg` by key, when it has one. */
  error: string | null;
  error_msg: Msg | null;
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
      /** Most rows one import may have (WHALEFALL_IMPORT_MAX_ROWS). */
      importMaxRows?: number;
    },
  ) {}

  /** An import is running in this process: a second one is refused (each holds a whole file and its plan in memory). */
  private importing = false;

  /**
   * Check `text` and (unless a dry run, and only if valid or `partial`) apply it. Never throws on bad rows: they
   * are in the report. One import at a time (a second gets `conflict`); more than `importMaxRows` rows are refused
   * before any is checked. The file is parsed in a worker thread and the rows are checked in slices with a yield
   * to I/O between them, so the service keeps answering during a maximal import.
   */
  async import(text: string, opts: ImportOptions, actor: Actor): Promise<ImportReport> {
    if (this.importing) throw new AppError('conflict', msg('api.import_running'));
    this.importing = true;
    try {
      return await this.importNow(text, opts, actor);
    } finally {
      this.importing = false;
    }
  }

  private async importNow(text: string, opts: ImportOptions, actor: Actor): Promise<ImportReport> {
    const parsed = await parseFleetFile(text, opts.format, this.d.importMaxRows ?? IMPORT_MAX_ROWS);
    const [existing, credentials] = await Promise.all([this.registry(), this.d.credentials.list()]);
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
      file_errors: parsed.fileErrors.length,
      duplicates: [],
      needs_confirmation: false,
      rows: [],
    };
    // Servers already registered, by serverKey: a new row for one of them is a duplicate (an update of the same name is not).
    const servers = new Map<string, string[]>();
    for (const i of existing) servers.set(serverKey(i), [...(servers.get(serverKey(i)) ?? []), i.name]);
    const now = this.d.clock.now().toISOString();
    const creates: (InstanceFields & { created_at: string; updated_at: string })[] = [];
    const updates: { id: number; name: string; patch: InstanceUpdate; changes: string[]; diff: ReturnType<typeof diff> }[] = [];

    const pace = pacer();
    for (const src of parsed.rows) {
      await pace();
      const errors = [...src.errors];
      const at = (col: FleetColumn | undefined) => (col && src.where[col] ? src.where[col] : { line: src.line, column: null });
      const err = (field: string, m: Msg) => {
        const w = at(columnOf(field));
        errors.push(importError({ row: src.row, line: w.line, column: w.column, field }, m));
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
        else if (typeof c !== 'string') err('credential', msg('import.e.credential_name'));
        // The cell is not echoed: a password typed into the credential column must not come back in the report.
        else if (!credByName.has(c.trim())) err('credential', msg('import.e.credential_unknown'));
        else input.credential_id = credByName.get(c.trim());
      }
      const { fields, errors: fieldErrors } = instanceFields(input);
      for (const fe of fieldErrors) err(fe.field, fe.reason ?? msg('import.e.field', { reason: fe.message }));
      const engineRefused = current && fields.db_type ? engineChangeRefused(current, fields.db_type) : undefined;
      if (engineRefused) err('db_type', engineRefused);
      if (rawName && !fieldErrors.some((e) => e.field === 'name')) {
        const first = seen.get(rawName);
        if (first !== undefined) err('name', msg('import.e.duplicate_name', { name: rawName, row: first }));
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
        const key = serverKey(fields);
        const same = servers.get(key);
        if (same) report.duplicates.push({ row: src.row, line: src.line, name: fields.name, same_as: [...same] });
        servers.set(key, [...(same ?? []), fields.name]);
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
      updates.push({
        id: current.id,
        name: current.name,
        patch,
        changes: changes.map((k) => (k === 'credential_id' ? 'credential' : k)),
        diff: diff(current, patch),
      });
      report.rows.push({ row: src.row, line: src.line, name: fields.name, action: 'update', changes: updates.at(-1)!.changes });
    }
    report.created = creates.length;
    report.updated = updates.length;
    report.unchanged = report.valid_rows - creates.length - updates.length;
    // Names of invalid rows count as present: a typo in a row must not disable the instance it describes.
    const named = new Set(parsed.rows.map((r) => (typeof r.values.name === 'string' ? r.values.name.trim() : '')));
    // A file that could not be read (header, syntax) says nothing about which instances it leaves out.
    const missing = parsed.fileErrors.length ? [] : existing.filter((i) => !named.has(i.name));
    report.missing = missing.map((i) => i.name);
    const toDisable = opts.disableMissing ? missing.filter((i) => i.is_active === 1) : [];
    report.disabled = toDisable.map((i) => i.name);

    const valid = parsed.fileErrors.length === 0 && (report.invalid_rows === 0 || !!opts.partial);
    report.needs_confirmation = report.duplicates.length > 0 && !opts.confirmDuplicates;
    if (opts.dryRun || !valid || report.needs_confirmation) return report;
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
          credentials: [
            ...new Set(
              creates
                .map((c) => c.credential_id)
                .filter((id) => id !== null)
                .map((id) => credName.get(id)),
            ),
          ],
        },
      });
    }
    report.applied = true;
    return report;
  }

  /** Every instance, a page at a time with a yield between pages (one 20,000-row read stalls the loop for ~1 s on SQLite). */
  private async registry(): Promise<InstanceRow[]> {
    const out: InstanceRow[] = [];
    const pace = pacer();
    for (let after = 0; ;) {
      await pace();
      const page = await this.d.instances.listAfter(after, REGISTRY_PAGE);
      out.push(...page);
      if (page.length < REGISTRY_PAGE) return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      after = page.at(-1)!.id;
    }
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
    if (!sel.ids?.length && !sel.names?.length && sel.tag === undefined && !sel.all) fail('selection', msg('api.v.selection'));
    const byId = new Map(all.map((i) => [i.id, i]));
    const byName = new Map(all.map((i) => [i.name, i]));
    const chosen = new Map<number, InstanceRow>();
    for (const id of sel.ids ?? []) {
      const i = byId.get(id);
      if (!i) throw new AppError('not_found', msg('api.instance_not_found', { id: id }));
      chosen.set(id, i);
    }
    for (const n of sel.names ?? []) {
      const i = byName.get(n);
      if (!i) throw new AppError('not_found', msg('api.instance_name_not_found', { name: n }));
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
  async testConnections(sel: ConnectionTestSelection, opts: { concurrency?: number | string; doctor?: boolean } = {}): Promise<ConnectionTestRow[]> {
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
        error_msg: null,
        doctor: null,
      };
      if (inst.credential_id === null) {
        return { ...row, reachable: null, latency_ms: null, error_code: 'no_credential', error: msgText(NO_CREDENTIAL), error_msg: NO_CREDENTIAL };
      }
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
        row.error_msg = err instanceof AppError || err instanceof SyncError ? (err.msg ?? null) : null;
        // The server answered when it refused the login or a grant; `auth_ok` only means something then.
        const [reachable, authOk] = code === 'auth' ? [true, false] : code === 'permission' ? [true, true] : [false, null];
        row.reachable = reachable;
        row.auth_ok = authOk;
        // Refused before any connection (a credential that cannot be read, no connection slot): nothing is known of the server.
        if (err instanceof AppError && err.kind !== 'sync_failed') return { ...row, reachable: null, latency_ms: null };
      }
      row.latency_ms = Math.round(performance.now() - started);
      return row;
    });
  }
}

/** The report with each error's `message` in `locale` (the service writes zh-CN, the API's own language). */
export function localizeReport(r: ImportReport, locale: Locale): ImportReport {
  if (locale === 'zh-CN') return r;
  return { ...r, errors: r.errors.map((e) => ({ ...e, message: t(locale, e.message_key, e.params) })) };
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
    lines.push(
      csvLine([it.name, it.db_type, it.host, it.port, it.database_name, it.credential, it.is_active ? 'true' : 'false', it.description, tagCell, opts]),
    );
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
