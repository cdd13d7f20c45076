/** Response schemas of the fleet routes (fleet.routes.ts): the import report, connection tests, discovery. */
import { Type } from '@sinclair/typebox';
import { FLEET_FORMATS } from '../../domain/fleet.js';
import { Closed, component, Nullable, StringEnum } from '../components.js';
import { instanceInput, PrivilegeCheck } from './instances.schemas.js';

export const ImportReport = component(
  'ImportReport',
  Closed({
    format: StringEnum(['csv', 'yaml'] as const),
    dry_run: Type.Boolean(),
    partial: Type.Boolean(),
    disable_missing: Type.Boolean(),
    applied: Type.Boolean({ description: 'something was stored' }),
    total_rows: Type.Integer(),
    valid_rows: Type.Integer(),
    invalid_rows: Type.Integer(),
    created: Type.Integer(),
    updated: Type.Integer(),
    unchanged: Type.Integer(),
    missing: Type.Array(Type.String(), { description: 'registered instances absent from the file' }),
    disabled: Type.Array(Type.String()),
    errors: Type.Array(
      Closed({
        row: Type.Integer(),
        line: Type.Integer(),
        column: Nullable(Type.Integer()),
        field: Type.String(),
        message: Type.String({ description: "in the request's language (Accept-Language), zh-CN by default" }),
        message_key: Type.String({ description: 'the i18n key of `message`' }),
        params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      }),
    ),
    file_errors: Type.Integer({ description: "how many of `errors` are the whole file's (header, syntax): the file is refused even with partial=true" }),
    duplicates: Type.Array(Closed({ row: Type.Integer(), line: Type.Integer(), name: Type.String(), same_as: Type.Array(Type.String()) }), {
      description: 'new rows for a server already registered (same host:port): stored only with confirm_duplicates=true',
    }),
    needs_confirmation: Type.Boolean({ description: 'duplicates found and not confirmed: nothing was stored' }),
    rows: Type.Array(
      Closed({
        row: Type.Integer(),
        line: Type.Integer(),
        name: Nullable(Type.String()),
        action: StringEnum(['create', 'update', 'unchanged', 'invalid'] as const),
        changes: Type.Optional(Type.Array(Type.String())),
      }),
    ),
  }),
);

export const ConnectionTestRow = component(
  'ConnectionTestRow',
  Closed({
    instance_id: Type.Integer(),
    name: Type.String(),
    db_type: Type.String(),
    address: Type.String(),
    reachable: Nullable(Type.Boolean({ description: 'null when it was never contacted (no credential)' })),
    auth_ok: Nullable(Type.Boolean()),
    server_version: Nullable(Type.String()),
    latency_ms: Nullable(Type.Number({ description: 'null when it was never contacted' })),
    error_code: Nullable(Type.String({ description: '`no_credential` when the instance has none (not contacted)' })),
    error: Nullable(Type.String({ description: "in the request's language" })),
    error_msg: Nullable(
      Type.Object({ key: Type.String(), params: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, { description: '`error` by key' }),
    ),
    doctor: Nullable(Closed({ ok: Type.Boolean(), checks: Type.Integer(), missing: Type.Array(Type.String()) })),
  }),
);

/** A selection answers one row per instance; unsaved settings answer one probe with its grant check. */
export const ConnectionTests = Type.Union([
  Type.Array(ConnectionTestRow),
  Closed({ server_version: Type.String(), latency_ms: Type.Number(), doctor: Closed({ ok: Type.Boolean(), checks: Type.Array(PrivilegeCheck) }) }),
]);

export const DiscoveryReport = component(
  'DiscoveryReport',
  Closed({
    targets: Type.Integer(),
    probed: Type.Integer(),
    not_probed: Type.Integer(),
    elapsed_ms: Type.Number(),
    found: Type.Array(
      Closed({
        host: Type.String(),
        port: Type.Integer(),
        db_type: StringEnum(['mysql', 'mariadb', 'postgresql'] as const),
        server_version: Nullable(Type.String()),
        note: Nullable(Type.String()),
        registered_as: Nullable(Type.String()),
      }),
    ),
    proposals: Type.Array(
      Closed({
        name: Type.String(),
        db_type: Type.String(),
        host: Type.String(),
        port: Type.Integer(),
        database_name: Nullable(Type.String()),
        credential: Nullable(Type.String()),
        is_active: Type.Boolean(),
        description: Nullable(Type.String()),
        tags: Type.Array(Type.String()),
        options: Type.Record(Type.String(), Type.Unknown()),
      }),
      { description: 'import rows for the endpoints not registered yet' },
    ),
    silent: Type.Record(Type.String(), Type.Integer(), { description: 'endpoints that did not answer, by reason' }),
  }),
);

/**
 * POST /api/instances/test-connection (request body): a selection of registered instances (ids, names, a tag,
 * all), or one instance's unsaved settings (the columns of instances.schemas.ts `instanceInput`, optionally over
 * a stored instance's, with a credential id or a typed user name and password).
 */
export const TestConnectionsBody = Type.Object(
  {
    ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), { maxItems: 10000 })),
    names: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 10000 })),
    tag: Type.Optional(Type.String({ maxLength: 64 })),
    all: Type.Optional(Type.Boolean()),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    doctor: Type.Optional(Type.Boolean()),
    ...Type.Partial(Type.Object(instanceInput)).properties,
    instance_id: Type.Optional(
      Type.Integer({ minimum: 1, description: 'unsaved settings of this instance (the edit form): fields not given are its stored ones' }),
    ),
    username: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'with password: a credential typed in the form, used for this test only' }),
    ),
    password: Type.Optional(Type.String({ maxLength: 1024, writeOnly: true })),
  },
  { additionalProperties: false },
);

const FleetFormat = StringEnum(FLEET_FORMATS);
const Flag = Type.Boolean({ default: false });

/** POST /api/instances/import (query): the file's format (else from its Content-Type) and the import's flags, each false when absent. Inline in the OpenAPI document. */
export const ImportInstancesQuery = Type.Object(
  { format: Type.Optional(FleetFormat), dry_run: Flag, partial: Flag, disable_missing: Flag, confirm_duplicates: Flag },
  { additionalProperties: false },
);

/** GET /api/instances/export (query): the file's format, only the instances with a tag. Inline in the OpenAPI document. */
export const ExportInstancesQuery = Type.Object(
  { format: Type.Optional(FleetFormat), tag: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);
