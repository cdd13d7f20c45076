/**
 * Response schemas of the instance routes (instances.routes.ts, seed.routes.ts,
 * fleet.routes.ts): the registry's public view of an instance, its databases,
 * its daily history, connection and grant probes, the engines. And the request
 * bodies and queries the routes validate and the browser builds (src/client/shared/api-types.ts).
 */
import { Type } from '@sinclair/typebox';
import { DB_TYPES } from '../../domain/db-type.js';
import { OVERVIEW_SORTS, OVERVIEW_STATUSES } from '../../domain/instances.js';
import { Closed, component, Nullable, StringEnum } from '../components.js';

export const Timestamp = Type.String({ description: 'ISO 8601 instant (UTC)' });
export const DateStr = Type.String({ description: 'YYYY-MM-DD (local date)' });
export const Bytes = Nullable(Type.Number({ description: 'bytes; null when not measured' }));
export const DbType = StringEnum(DB_TYPES);

const CertInfo = Closed({ subject: Type.String(), issuer: Type.String(), expires_at: Timestamp });

const instanceFields = {
  id: Type.Integer(),
  name: Type.String(),
  db_type: DbType,
  host: Type.String(),
  port: Type.Integer(),
  database_name: Nullable(Type.String()),
  credential_id: Nullable(Type.Integer()),
  is_active: Type.Boolean(),
  description: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  options: Type.Object(
    {
      connect_timeout_ms: Type.Optional(Type.Number()),
      query_timeout_ms: Type.Optional(Type.Number()),
      exclude: Type.Optional(Type.Array(Type.String())),
    },
    { additionalProperties: true, description: 'the common options above; engine options per GET /api/engines' },
  ),
  tls: Closed({ ca: Nullable(CertInfo), cert: Nullable(CertInfo), key_set: Type.Boolean() }, 'what is stored of the TLS material (never the PEM itself)'),
  last_connected: Nullable(Timestamp),
  total_size_bytes: Bytes,
  total_size_mb: Nullable(Type.Number()),
  database_count: Nullable(Type.Integer()),
  last_sync_status: Nullable(Type.String()),
  last_sync_at: Nullable(Timestamp),
  last_sync_error: Nullable(Type.String()),
  last_sync_error_key: Nullable(
    Type.String({ description: "`last_sync_error` by message key (render it in the reader's language); null on rows stored before keys" }),
  ),
  last_sync_error_params: Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'the parameters of `last_sync_error_key`' })),
  size_method: Nullable(
    Type.String({ description: "the size method used (MySQL/MariaDB options.method, else the engine's default); null where the engine has one way only" }),
  ),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const Instance = component('Instance', Closed(instanceFields, 'A registered instance (credentials and TLS keys never included)'));

export const InstanceOverview = component(
  'InstanceOverview',
  Closed({
    items: Type.Array(
      Closed({
        ...instanceFields,
        change_7d_bytes: Nullable(Type.Number({ description: 'change of the total over the last 7 days' })),
        change_last_sync_bytes: Nullable(Type.Number({ description: 'change since the previous successful sync' })),
        previous_sync_at: Nullable(Timestamp),
      }),
    ),
    total: Type.Integer({ description: 'instances matching the filter (all pages)' }),
    limit: Type.Integer(),
    offset: Type.Integer(),
    change_since: DateStr,
    tags: Type.Array(Type.String(), { description: 'every tag in use' }),
  }),
);

const probeFields = {
  instance_id: Type.Integer(),
  instance_name: Type.String(),
  db_type: Type.String(),
  server_version: Type.String(),
  latency_ms: Type.Number(),
};
export const PrivilegeCheck = component(
  'PrivilegeCheck',
  Closed({
    name: Type.String(),
    ok: Type.Boolean(),
    detail: Type.String(),
    detail_key: Type.Optional(Type.String({ description: '`detail` by message key' })),
    undercounts: Type.Optional(Type.String({ description: 'what is under-counted without it' })),
    undercounts_key: Type.Optional(Type.String({ description: '`undercounts` by message key' })),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the parameters of the keys' })),
    fix: Type.Optional(Type.Array(Type.String(), { description: 'the statements that grant it' })),
  }),
);
export const ConnectionProbe = Closed({ server_version: Type.String(), latency_ms: Type.Number() });
export const DoctorReport = component(
  'DoctorReport',
  Closed({ ...probeFields, ok: Type.Boolean({ description: 'every required grant present' }), checks: Type.Array(PrivilegeCheck) }),
);

const OptionSpec = Type.Union([
  Closed({ kind: Type.Literal('boolean'), description: Type.String() }),
  Closed({ kind: Type.Literal('string'), maxLength: Type.Integer(), description: Type.String() }),
  Closed({ kind: Type.Literal('integer'), min: Type.Number(), max: Type.Number(), description: Type.String() }),
  Closed({
    kind: Type.Literal('enum'),
    values: Type.Unsafe<readonly string[]>(Type.Array(Type.String())),
    description: Type.String(),
    default: Type.Optional(Type.String({ description: 'the value used when the option is absent' })),
    choices: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'what choosing each value means' })),
  }),
]);
export const Engine = component(
  'Engine',
  Closed({
    db_type: DbType,
    label: Type.String(),
    default_port: Type.Integer(),
    needs_database_name: Type.Boolean(),
    options: Type.Record(Type.String(), OptionSpec),
  }),
);

export const InstanceDatabases = component(
  'InstanceDatabases',
  Closed({
    instance_id: Type.Integer(),
    online_count: Type.Integer(),
    deleted_count: Type.Integer(),
    databases: Type.Array(
      Closed({
        database_name: Type.String(),
        is_system: Type.Boolean(),
        is_deleted: Type.Boolean(),
        deleted_at: Nullable(Timestamp),
        first_seen_date: DateStr,
        last_seen_date: DateStr,
        size_bytes: Bytes,
        size_mb: Nullable(Type.Number()),
        data_bytes: Bytes,
        index_bytes: Bytes,
        log_bytes: Bytes,
        free_bytes: Bytes,
        used_bytes: Bytes,
        max_bytes: Bytes,
        allocated_bytes: Nullable(
          Type.Number({ description: "bytes of the database's own files (MySQL/MariaDB InnoDB tablespaces); null when the method read no file" }),
        ),
        is_snapshot: Type.Boolean(),
        replica_role: Nullable(Type.String()),
        method: Nullable(Type.String({ description: 'how the size was measured (engine-specific)' })),
        method_note: Nullable(Type.String({ description: "what this method's number means, in the request's language (Accept-Language: en)" })),
        method_note_key: Nullable(Type.String({ description: '`method_note` by message key' })),
        error: Nullable(Type.String({ description: "in the request's language (Accept-Language: en) when it has a key; else as stored" })),
        error_key: Nullable(Type.String({ description: '`error` by message key; null: show the text' })),
        error_params: Nullable(Type.Record(Type.String(), Type.Unknown(), { description: "the key's parameters" })),
        note: Nullable(Type.String()),
        note_key: Nullable(Type.String({ description: '`note` by message key' })),
        note_params: Nullable(Type.Record(Type.String(), Type.Unknown())),
        collected_at: Nullable(Timestamp),
        change_last_sync_bytes: Bytes,
      }),
    ),
  }),
);

export const CapacityHistory = component(
  'CapacityHistory',
  Closed({
    instance_id: Type.Integer(),
    period: Type.String(),
    from: DateStr,
    to: DateStr,
    points: Type.Array(
      Closed({
        collected_date: DateStr,
        collected_at: Timestamp,
        total_size_bytes: Type.Number(),
        total_size_mb: Type.Number(),
        database_count: Type.Integer(),
        data_bytes: Bytes,
        log_bytes: Bytes,
      }),
    ),
  }),
);

export const TotalSize = component(
  'TotalSize',
  Closed({
    instance_id: Type.Integer(),
    total_size_mb: Type.Number({ description: '0 when never synced' }),
    synced: Type.Boolean({ description: 'false: never synced successfully' }),
  }),
);

// ---------------------------------------------------------------------------
// Request bodies: validated by the routes, typed in the browser (api-types.ts).
// Inline in the OpenAPI document (not components), as before they moved here.
// ---------------------------------------------------------------------------

// Option keys depend on the engine: the service validates them against the engine's spec.
const Options = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
  description: 'common: connect_timeout_ms, query_timeout_ms, exclude; per engine: see GET /api/engines',
});

/** The columns of an instance as the API takes them (create, update, and the form's 测试连接 in fleet.schemas.ts). */
export const instanceInput = {
  name: Type.String({ maxLength: 128 }),
  db_type: DbType,
  host: Type.String({ maxLength: 255 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  database_name: Type.Union([Type.String({ maxLength: 255 }), Type.Null()]),
  credential_id: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  is_active: Type.Boolean(),
  description: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
  tags: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 }),
  options: Options,
  tls_ca: Type.Union([Type.String({ maxLength: 65536 }), Type.Null()], {
    description: 'CA certificate (PEM) for verify-ca / verify-full / verify-identity; write-only, stored encrypted; null removes it',
  }),
  tls_cert: Type.Union([Type.String({ maxLength: 65536 }), Type.Null()], { description: 'client certificate (PEM), with tls_key; write-only' }),
  tls_key: Type.Union([Type.String({ maxLength: 65536 }), Type.Null()], {
    description: 'client private key (PEM, unencrypted), with tls_cert; write-only, stored encrypted',
  }),
  confirm_move: Type.Boolean({
    description: 'changing host or port keeps the credential only with true (the stored password will be sent to the new address)',
  }),
  confirm_duplicate: Type.Boolean({
    description:
      'register a server already registered under another name (same host:port, plus the service name for Oracle): without true the answer is 409 duplicate_server listing the others in `duplicates`; the estate total counts the server once',
  }),
};

/** POST /api/instances: name, db_type and host required. */
export const CreateInstanceBody = Type.Object(
  {
    ...instanceInput,
    port: Type.Optional(instanceInput.port),
    database_name: Type.Optional(instanceInput.database_name),
    credential_id: Type.Optional(instanceInput.credential_id),
    is_active: Type.Optional(instanceInput.is_active),
    description: Type.Optional(instanceInput.description),
    tags: Type.Optional(instanceInput.tags),
    options: Type.Optional(instanceInput.options),
    tls_ca: Type.Optional(instanceInput.tls_ca),
    tls_cert: Type.Optional(instanceInput.tls_cert),
    tls_key: Type.Optional(instanceInput.tls_key),
    confirm_move: Type.Optional(instanceInput.confirm_move),
    confirm_duplicate: Type.Optional(instanceInput.confirm_duplicate),
  },
  { additionalProperties: false },
);

/** PATCH /api/instances/:id: any of the columns. */
export const UpdateInstanceBody = Type.Partial(Type.Object(instanceInput), { additionalProperties: false });

/** GET /api/instances/overview (query): the instances page's filters, sort and page. Inline in the OpenAPI document. */
export const InstanceOverviewQuery = Type.Object(
  {
    db_type: Type.Optional(DbType),
    status: Type.Optional(StringEnum(OVERVIEW_STATUSES)),
    tag: Type.Optional(Type.String({ maxLength: 64 })),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'text in name, host or description' })),
    ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 500, description: 'only these instances' })),
    sort: Type.Optional(StringEnum(OVERVIEW_SORTS)),
    dir: Type.Optional(StringEnum(['asc', 'desc'] as const)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** GET /api/instances/:id/sync-records (query): how many of the newest (instance.page.ts). Inline in the OpenAPI document. */
export const SyncRecordListQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) });
