/** The registry of monitored instances: validation, CRUD, the public shape. */
import { isMsg, msg, msgText, parseStoredMsg, type Msg, type Params } from '../client/shared/i18n/index.js';
import { DB_TYPES, type DbType } from '../domain/db-type.js';
import type { Engine, InstanceOptions, OptionSpec } from '../engines/engine.js';
import { getEngine } from '../engines/registry.js';
import type { Clock } from '../lib/clock.js';
import { serverKey, type ServerAddress } from './same-server.js';
import { AppError } from '../lib/errors.js';
import { bytesToMb } from '../lib/sizes.js';
import type { InstanceListFilter, InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow } from '../store/schema.js';
import { diff, type Actor, type AuditService } from './audit.service.js';
import type { CredentialsService } from './credentials.service.js';
import { mergeTls, NO_TLS_INFO, type TlsInfo } from './tls-material.js';
import type { TlsMaterial } from '../engines/tls.js';
import { bool, fail, integer, oneOf, requiredText, taken, text } from './validate.js';

export interface InstanceInput {
  name?: unknown;
  db_type?: unknown;
  host?: unknown;
  port?: unknown;
  database_name?: unknown;
  credential_id?: unknown;
  is_active?: unknown;
  description?: unknown;
  tags?: unknown;
  options?: unknown;
  /** Write-only PEM (null removes): see tls-material.ts. */
  tls_ca?: unknown;
  tls_cert?: unknown;
  tls_key?: unknown;
  /** Changing host or port of an instance with a credential: the admin confirms the password may go there. */
  confirm_move?: unknown;
  /** Registering a server that is already registered (same host:port, see same-server.ts): the admin confirms. */
  confirm_duplicate?: unknown;
}

export interface PublicInstance {
  id: number;
  name: string;
  db_type: DbType;
  host: string;
  port: number;
  database_name: string | null;
  credential_id: number | null;
  is_active: boolean;
  description: string | null;
  tags: string[];
  options: InstanceOptions;
  /** TLS material as far as it may be shown: subjects and expiry, never the PEM. */
  tls: TlsInfo;
  last_connected: string | null;
  total_size_bytes: number | null;
  total_size_mb: number | null;
  database_count: number | null;
  last_sync_status: string | null;
  last_sync_at: string | null;
  last_sync_error: string | null;
  /** `last_sync_error` by key (null on older rows: show the text). */
  last_sync_error_key: string | null;
  last_sync_error_params: Params | null;
  /** The size method the engine uses for it (MySQL/MariaDB `options.method`, else the engine's default); null where the engine has one way only. */
  size_method: string | null;
  created_at: string;
  updated_at: string;
}

/** The instance's `method` option, else the engine's default for it; null for engines without the option. */
export function sizeMethod(dbType: string, options: InstanceOptions): string | null {
  const spec = (DB_TYPES as readonly string[]).includes(dbType) ? getEngine(dbType as DbType).options.method : undefined;
  if (spec?.kind !== 'enum') return null;
  return typeof options.method === 'string' ? options.method : (spec.default ?? null);
}

export function toPublicInstance(r: InstanceRow): PublicInstance {
  const storedError = parseStoredMsg(r.last_sync_error_msg);
  const options = JSON.parse(r.options) as InstanceOptions;
  return {
    id: r.id,
    name: r.name,
    db_type: r.db_type as DbType,
    host: r.host,
    port: r.port,
    database_name: r.database_name,
    credential_id: r.credential_id,
    is_active: r.is_active === 1,
    description: r.description,
    tags: JSON.parse(r.tags) as string[],
    options,
    tls: r.tls_info ? (JSON.parse(r.tls_info) as TlsInfo) : NO_TLS_INFO,
    last_connected: r.last_connected,
    total_size_bytes: r.total_size_bytes,
    total_size_mb: bytesToMb(r.total_size_bytes),
    database_count: r.database_count,
    last_sync_status: r.last_sync_status,
    last_sync_at: r.last_sync_at,
    last_sync_error: r.last_sync_error,
    last_sync_error_key: storedError?.key ?? null,
    last_sync_error_params: storedError?.params ?? null,
    size_method: sizeMethod(r.db_type, options),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** Host names, IPv4 and IPv6 literals; nothing that could smuggle a connection-string option. */
const HOST_RE = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)$/;

/**
 * Why `current` may not become `dbType`, or undefined. A mistyped engine may be corrected until the first sync; after
 * it, the history is that engine's databases and the stored password would go over another protocol: another engine
 * is another instance (PATCH and the import alike).
 */
export function engineChangeRefused(current: Pick<InstanceRow, 'db_type' | 'last_sync_at'>, dbType: string): Msg | undefined {
  return dbType !== current.db_type && current.last_sync_at !== null ? msg('api.v.db_type_locked', { db_type: current.db_type }) : undefined;
}

function host(value: unknown): string {
  const h = requiredText('host', value, 255);
  if (!HOST_RE.test(h)) fail('host', msg('api.v.host', { host: h }));
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

function tags(value: unknown): string[] {
  if (!Array.isArray(value)) fail('tags', msg('api.v.string_array'));
  if (value.length > 50) fail('tags', msg('api.v.max_tags', { max: 50 }));
  const out = value.map((t, i) => requiredText(`tags[${i}]`, t, 64));
  return [...new Set(out)];
}

export function exclusionPatterns(field: string, v: unknown): string[] {
  if (!Array.isArray(v) || v.length > 100) fail(field, msg('api.v.patterns', { max: 100 }));
  return v.map((p, i) => requiredText(`${field}[${i}]`, p, 255));
}

/** Options every engine understands. */
const COMMON_OPTIONS: Record<string, OptionSpec> = {
  connect_timeout_ms: { kind: 'integer', min: 100, max: 600_000, description: 'connect timeout for this instance' },
  query_timeout_ms: { kind: 'integer', min: 100, max: 86_400_000, description: 'per-query timeout for this instance' },
  capacity_limit_bytes: {
    kind: 'integer',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    description: 'disk size or quota the data must fit in (forecast: days until full)',
  },
  tables_max_tables: {
    kind: 'integer',
    min: 1,
    max: 10_000_000,
    description: 'table-level sync: most table rows kept (largest first, the rest as "other"); default WHALEFALL_TABLES_MAX_TABLES',
  },
  tables_max_seconds: { kind: 'integer', min: 1, max: 86_400, description: 'table-level sync: time budget in seconds; default WHALEFALL_TABLES_MAX_SECONDS' },
};

function optionValue(field: string, spec: OptionSpec, v: unknown): unknown {
  switch (spec.kind) {
    case 'boolean':
      return bool(field, v);
    case 'integer':
      return integer(field, v, spec.min, spec.max);
    case 'string':
      return requiredText(field, v, spec.maxLength);
    case 'enum':
      return oneOf(field, v, spec.values);
  }
}

/** Validate options against the common keys, `exclude`, and the engine's own spec; unknown keys are refused. */
function options(value: unknown, engine: Engine): InstanceOptions {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('options', msg('api.v.object'));
  const out: InstanceOptions = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const field = `options.${k}`;
    if (k === 'exclude') out.exclude = exclusionPatterns(field, v);
    else if (Object.hasOwn(COMMON_OPTIONS, k)) out[k] = optionValue(field, COMMON_OPTIONS[k]!, v);
    else if (Object.hasOwn(engine.options, k)) out[k] = optionValue(field, engine.options[k]!, v);
    else
      fail(
        field,
        msg('api.v.unknown_option', { engine: engine.label, known: ['exclude', ...Object.keys(COMMON_OPTIONS), ...Object.keys(engine.options)].join(', ') }),
      );
  }
  return out;
}

/** The stored columns an instance's definition is made of (what import, export and create share). */
export interface InstanceFields {
  name: string;
  db_type: DbType;
  host: string;
  port: number;
  database_name: string | null;
  credential_id: number | null;
  is_active: 0 | 1;
  description: string | null;
  tags: string; // JSON array
  options: string; // JSON object
}

export interface FieldError {
  field: string;
  message: string;
  /** The reason by key (`api.v.…`), when the check gave one: the API answers it in the caller's language. */
  reason?: Msg;
}

/** Run one check; a validation failure becomes a FieldError instead of stopping the others. */
function collect<T>(errors: FieldError[], check: () => T): T | undefined {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof AppError) || err.kind !== 'validation') throw err;
    const m = /^([^:\s]+): ([\s\S]*)$/.exec(err.message);
    const reason = err.msg?.key === 'api.validation.field' && isMsg(err.msg.params?.reason) ? err.msg.params.reason : undefined;
    errors.push(m ? { field: m[1]!, message: m[2]!, ...(reason ? { reason } : {}) } : { field: '', message: err.message });
    return undefined;
  }
}

/**
 * Check a whole instance definition and report every problem at once (a form
 * or an import row shows them all); absent fields take their defaults. The
 * credential is only checked to be an id here: whether it exists is the
 * caller's (one lookup per request, not per row).
 */
export function instanceFields(input: InstanceInput): { fields: InstanceFields; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const name = collect(errors, () => requiredText('name', input.name, 128));
  const dbType = collect(errors, () => oneOf('db_type', input.db_type, DB_TYPES));
  const engine = dbType === undefined ? undefined : getEngine(dbType);
  const h = collect(errors, () => host(input.host));
  const port = input.port === undefined || input.port === null ? engine?.defaultPort : collect(errors, () => integer('port', input.port, 1, 65535));
  const databaseName = collect(errors, () => text('database_name', input.database_name, 255, { optional: true }) ?? null);
  const credentialId =
    input.credential_id === undefined || input.credential_id === null
      ? null
      : collect(errors, () => integer('credential_id', input.credential_id, 1, Number.MAX_SAFE_INTEGER));
  const active = input.is_active === undefined ? true : collect(errors, () => bool('is_active', input.is_active));
  const description = collect(errors, () => text('description', input.description, 2000, { optional: true }) ?? null);
  const tagList = input.tags === undefined ? [] : collect(errors, () => tags(input.tags));
  const opts = input.options === undefined ? {} : engine ? collect(errors, () => options(input.options, engine)) : undefined;
  if (engine?.needsDatabaseName && databaseName === null) {
    const reason = msg('api.v.needs_database_name', { engine: engine.label });
    errors.push({ field: 'database_name', message: msgText(reason), reason });
  }
  return {
    errors,
    fields: {
      name: name ?? '',
      db_type: dbType ?? ('' as DbType),
      host: h ?? '',
      port: port ?? 0,
      database_name: databaseName ?? null,
      credential_id: credentialId ?? null,
      is_active: active === false ? 0 : 1,
      description: description ?? null,
      tags: JSON.stringify(tagList ?? []),
      options: JSON.stringify(opts ?? {}),
    },
  };
}

export class InstancesService {
  constructor(
    private readonly repo: InstancesRepository,
    private readonly credentials: CredentialsService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /** Instances in name order; `tag` keeps those carrying that exact tag (e.g. `env:prod`); `limit`/`offset` page them. */
  async list(filter: InstanceListFilter = {}): Promise<PublicInstance[]> {
    return (await this.repo.list(filter)).map(toPublicInstance);
  }

  /** How many instances match the filter (paging ignored). */
  count(filter: InstanceListFilter = {}): Promise<number> {
    return this.repo.count(filter);
  }

  async getRow(id: number): Promise<InstanceRow> {
    const r = await this.repo.get(id);
    if (!r) throw new AppError('not_found', msg('api.instance_not_found', { id: id }));
    return r;
  }

  async get(id: number): Promise<PublicInstance> {
    return toPublicInstance(await this.getRow(id));
  }

  async getByName(name: string): Promise<PublicInstance> {
    const r = await this.repo.getByName(name);
    if (!r) throw new AppError('not_found', msg('api.instance_name_not_found', { name: name }));
    return toPublicInstance(r);
  }

  private async credentialId(value: unknown): Promise<number | null> {
    if (value === null) return null;
    const id = integer('credential_id', value, 1, Number.MAX_SAFE_INTEGER);
    if (!(await this.credentials.exists(id))) fail('credential_id', msg('api.v.credential_missing', { id: id }));
    return id;
  }

  /**
   * The definition the add/edit form would save, validated like `create`
   * but not stored (测试连接 before 保存). With `instanceId` (the edit
   * form), fields not given are the stored instance's. The name may be left
   * empty while testing.
   */
  async unsaved(input: InstanceInput, instanceId?: number): Promise<InstanceFields> {
    const stored = instanceId === undefined ? undefined : toPublicInstance(await this.getRow(instanceId));
    const merged: InstanceInput = { ...(stored ?? {}), ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
    if (merged.name === undefined || merged.name === '') merged.name = '—';
    const { fields, errors } = instanceFields(merged);
    if (errors.length) fail(errors[0]!.field, errors[0]!.reason ?? errors[0]!.message);
    if (fields.credential_id !== null) await this.credentialId(fields.credential_id);
    return fields;
  }

  /** Registered instances pointing at the same server as `a` (other than `exceptId`), in id order. */
  async sameServer(a: ServerAddress, exceptId?: number): Promise<{ id: number; name: string; host: string; port: number; database_name: string | null }[]> {
    const key = serverKey(a);
    return (await this.repo.atAddress(a.host, a.port))
      .filter((r) => r.id !== exceptId && serverKey(r) === key)
      .map((r) => ({ id: r.id, name: r.name, host: r.host, port: r.port, database_name: r.database_name }));
  }

  /**
   * The duplicate guard: a server already registered under another name is refused with 409 `duplicate_server`
   * (the others in `duplicates`) until the caller confirms with `confirm_duplicate: true`. Its total then counts
   * once in the estate figures (statistics.service.ts summary).
   */
  private async guardDuplicate(a: ServerAddress, confirm: unknown, exceptId?: number): Promise<void> {
    if (confirm === true) return;
    const others = await this.sameServer(a, exceptId);
    if (!others.length) return;
    const names = others.map((o) => `"${o.name}"`).join(', ');
    throw new AppError('conflict', msg('api.duplicate_server', { address: `${a.host}:${a.port}`, names }), 'duplicate_server', { duplicates: others });
  }

  /**
   * What `create` would refuse, checked without storing anything: the fields, the credential, a name already
   * taken and (with `duplicateGuard`) the same server under another name. The CLI asks before it makes the
   * credential an instance is added with, so a refusal leaves nothing behind (not even in the audit log).
   */
  async checkNew(input: InstanceInput, opts: { duplicateGuard?: boolean } = {}): Promise<{ row: InstanceFields; tls: ReturnType<typeof mergeTls> }> {
    const { fields: row, errors } = instanceFields(input);
    if (errors.length) fail(errors[0]!.field, errors[0]!.reason ?? errors[0]!.message);
    if (row.credential_id !== null && !(await this.credentials.exists(row.credential_id)))
      fail('credential_id', msg('api.v.credential_missing', { id: row.credential_id }));
    if (await this.repo.getByName(row.name)) taken('name', msg('api.v.instance_name_exists', { name: row.name }));
    if (opts.duplicateGuard) await this.guardDuplicate(row, input.confirm_duplicate);
    return { row, tls: mergeTls({}, input) };
  }

  async create(input: InstanceInput, actor: Actor, opts: { duplicateGuard?: boolean } = {}): Promise<PublicInstance> {
    const { row, tls } = await this.checkNew(input, opts);
    const now = this.clock.now().toISOString();
    const created = await this.repo.insert({ ...row, ...(tls ? this.tlsColumns(tls) : {}), created_at: now, updated_at: now });
    await this.audit.record(actor, {
      action: 'instance.create',
      targetType: 'instance',
      targetId: created.id,
      details: { ...row, tags: JSON.parse(row.tags), options: JSON.parse(row.options) },
    });
    return toPublicInstance(created);
  }

  async update(id: number, input: InstanceInput, actor: Actor, opts: { duplicateGuard?: boolean } = {}): Promise<PublicInstance> {
    const current = await this.getRow(id);
    const patch: Record<string, unknown> = {};
    if (input.name !== undefined) {
      const name = requiredText('name', input.name, 128);
      const other = await this.repo.getByName(name);
      if (other && other.id !== id) taken('name', msg('api.v.instance_name_exists', { name }));
      patch.name = name;
    }
    if (input.db_type !== undefined) patch.db_type = oneOf('db_type', input.db_type, DB_TYPES);
    const engineRefused = patch.db_type === undefined ? undefined : engineChangeRefused(current, patch.db_type as string);
    if (engineRefused) fail('db_type', engineRefused);
    if (input.host !== undefined) patch.host = host(input.host);
    if (input.port !== undefined) patch.port = integer('port', input.port, 1, 65535);
    if (input.database_name !== undefined) patch.database_name = text('database_name', input.database_name, 255, { optional: true }) ?? null;
    if (input.credential_id !== undefined) patch.credential_id = await this.credentialId(input.credential_id);
    if (input.is_active !== undefined) patch.is_active = bool('is_active', input.is_active) ? 1 : 0;
    if (input.description !== undefined) patch.description = text('description', input.description, 2000, { optional: true }) ?? null;
    if (input.tags !== undefined) patch.tags = JSON.stringify(tags(input.tags));
    const engine = getEngine((patch.db_type ?? current.db_type) as DbType);
    // Options are checked against the engine the instance will have (changing db_type re-checks the stored ones).
    if (input.options !== undefined) patch.options = JSON.stringify(options(input.options, engine));
    else if (patch.db_type !== undefined) options(JSON.parse(current.options), engine);
    const dbName = 'database_name' in patch ? patch.database_name : current.database_name;
    if (engine.needsDatabaseName && !dbName) fail('database_name', msg('api.v.needs_database_name', { engine: engine.label }));
    // The stored password follows the instance: moving it to another host or port sends the password there
    // on the next test. Only with the move confirmed, or another credential (e.g. the password re-entered).
    const moved = (patch.host !== undefined && patch.host !== current.host) || (patch.port !== undefined && patch.port !== current.port);
    const credential = 'credential_id' in patch ? patch.credential_id : current.credential_id;
    if (moved && credential !== null && credential === current.credential_id && input.confirm_move !== true) {
      throw new AppError('validation', msg('api.confirm_move'), 'confirm_move');
    }
    if (opts.duplicateGuard && (moved || patch.database_name !== undefined || patch.db_type !== undefined)) {
      const next = {
        db_type: (patch.db_type ?? current.db_type) as string,
        host: (patch.host ?? current.host) as string,
        port: (patch.port ?? current.port) as number,
        database_name: dbName as string | null,
      };
      if (serverKey(next) !== serverKey(current)) await this.guardDuplicate(next, input.confirm_duplicate, id);
    }
    const tls = mergeTls(current.tls_enc ? (JSON.parse(this.credentials.decryptText(current.tls_enc)) as TlsMaterial) : {}, input);
    const tlsChanged = tls ? { tls: { from: current.tls_info ? (JSON.parse(current.tls_info) as TlsInfo) : NO_TLS_INFO, to: tls.info } } : {};
    if (Object.keys(patch).length === 0 && !tls) return toPublicInstance(current);
    const updated = await this.repo.update(id, { ...patch, ...(tls ? this.tlsColumns(tls) : {}), updated_at: this.clock.now().toISOString() });
    await this.audit.record(actor, {
      action: 'instance.update',
      targetType: 'instance',
      targetId: id,
      details: { changed: { ...diff(current, patch), ...tlsChanged } },
    });
    return toPublicInstance(updated!);
  }

  /** After a key rotation: every instance's TLS material encrypted with the current key. Returns how many were rewritten. */
  reencryptTls(): Promise<number> {
    return this.repo.rekeyTls((v) => this.credentials.reencryptText(v));
  }

  private tlsColumns(tls: { material: TlsMaterial; info: TlsInfo }): { tls_enc: string | null; tls_info: string | null } {
    const empty = Object.keys(tls.material).length === 0;
    return { tls_enc: empty ? null : this.credentials.encryptText(JSON.stringify(tls.material)), tls_info: empty ? null : JSON.stringify(tls.info) };
  }

  async delete(id: number, actor: Actor): Promise<void> {
    const current = await this.getRow(id);
    await this.repo.delete(id);
    await this.audit.record(actor, { action: 'instance.delete', targetType: 'instance', targetId: id, details: { name: current.name } });
  }

  /** The seed's `[{instance_id, total_size_mb}]`, one query for the estate; never synced → null (unknown, not 0). */
  /**
   * The seed's total-sizes. A never-synced instance is `0` as the original
   * answered (its consumers render `null MB` otherwise), with `synced: false`
   * so a client can tell "no measurement yet" from an empty server.
   */
  async totalSizes(): Promise<{ instance_id: number; total_size_mb: number; synced: boolean }[]> {
    return (await this.repo.totalSizes()).map((r) => ({
      instance_id: r.id,
      total_size_mb: bytesToMb(r.total_size_bytes) ?? 0,
      synced: r.total_size_bytes !== null,
    }));
  }
}
