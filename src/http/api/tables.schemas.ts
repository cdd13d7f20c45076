/** Response schemas of the table-level routes (tables.routes.ts) and the composition routes. */
import { Type } from '@sinclair/typebox';
import { Closed, component, KeyedMsg, Nullable, StringEnum } from '../components.js';
import { Bytes, DateStr, Timestamp } from './instances.schemas.js';

export const TableSync = component(
  'TableSync',
  Closed({
    session_id: Type.String(),
    instance_id: Type.Integer(),
    instance_name: Type.String(),
    collected_date: DateStr,
    method: Type.String(),
    budget: Closed({ max_tables: Type.Integer(), max_seconds: Type.Number() }),
    saved_count: Type.Integer(),
    created_count: Type.Integer(),
    deleted_count: Type.Integer(),
    restored_count: Type.Integer(),
    databases: Type.Array(
      Closed({
        database_name: Type.String(),
        tables: Type.Integer(),
        other_tables: Type.Optional(Type.Integer({ description: 'tables beyond the budget, summed into one row' })),
        other_bytes: Type.Optional(Type.Number()),
        error: Type.Optional(Type.String({ description: "in the request's language" })),
        error_msg: Type.Optional(KeyedMsg),
      }),
    ),
    cut: Type.Array(Type.String(), { description: "what the budget cut and what was not collected, in the request's language" }),
    cut_msgs: Type.Array(KeyedMsg, { description: '`cut` by key, in the same order' }),
    warnings: Type.Array(Type.String(), { description: "in the request's language" }),
    warning_msgs: Type.Array(KeyedMsg, { description: '`warnings` by key, in the same order' }),
    duration_ms: Type.Number(),
  }),
);

export const TableDatabases = Closed({ databases: Type.Array(Closed({ database_name: Type.String(), last_collected_date: DateStr, tables: Type.Integer() })) });

export const TablePage = component(
  'TablePage',
  Closed({
    instance_id: Type.Integer(),
    instance_name: Type.String(),
    database_name: Type.String(),
    collected_date: Nullable(DateStr),
    total: Type.Integer(),
    totals: Nullable(
      Closed(
        { total_bytes: Type.Number(), data_bytes: Bytes, index_bytes: Bytes, lob_bytes: Bytes, free_bytes: Bytes },
        'sums for the size split bar; null before any collection',
      ),
    ),
    items: Type.Array(
      Closed({
        table_id: Type.Integer(),
        schema_name: Type.String(),
        table_name: Type.String(),
        kind: Type.String(),
        parent: Nullable(Closed({ schema_name: Type.String(), table_name: Type.String() })),
        total_bytes: Bytes,
        data_bytes: Bytes,
        index_bytes: Bytes,
        lob_bytes: Bytes,
        free_bytes: Bytes,
        row_estimate: Nullable(Type.Number()),
        table_count: Nullable(Type.Integer()),
        method: Type.String(),
        is_deleted: Type.Boolean(),
        first_seen_date: DateStr,
        last_seen_date: DateStr,
      }),
    ),
  }),
);

export const TableSeries = component(
  'TableSeries',
  Closed({
    table_id: Type.Integer(),
    instance_id: Type.Integer(),
    database_name: Type.String(),
    schema_name: Type.String(),
    table_name: Type.String(),
    kind: Type.String(),
    is_deleted: Type.Boolean(),
    from: DateStr,
    to: DateStr,
    points: Type.Array(
      Closed({
        collected_date: DateStr,
        total_bytes: Bytes,
        data_bytes: Bytes,
        index_bytes: Bytes,
        lob_bytes: Bytes,
        free_bytes: Bytes,
        row_estimate: Nullable(Type.Number()),
        is_deleted: Type.Boolean(),
      }),
    ),
  }),
);

export const TopGrowingTables = component(
  'TopGrowingTables',
  Closed({
    days: Type.Integer(),
    from: Nullable(DateStr),
    to: Nullable(DateStr),
    items: Type.Array(
      Closed({
        table_id: Type.Integer(),
        instance_id: Type.Integer(),
        instance_name: Type.String(),
        database_name: Type.String(),
        schema_name: Type.String(),
        table_name: Type.String(),
        kind: Type.String(),
        first_bytes: Bytes,
        last_bytes: Bytes,
        change_bytes: Type.Number(),
        change_pct: Nullable(Type.Number()),
      }),
    ),
  }),
);

const PartBytes = Type.Record(Type.String(), Nullable(Type.Number()));
export const Composition = component(
  'Composition',
  Closed({
    instance_id: Type.Integer(),
    collected_date: Nullable(DateStr),
    collected_at: Nullable(Timestamp),
    method: Nullable(Type.String()),
    parts: Type.Array(
      Closed({
        kind: Type.String(),
        bytes: Nullable(Type.Number({ description: 'null: not measured (see reason), never 0 for unknown' })),
        detail: Nullable(Type.Record(Type.String(), Type.Unknown())),
        reason: Type.Optional(Type.String({ description: "why not measured, in the request's language (Accept-Language: en) when it has a key" })),
        reason_msg: Type.Optional(KeyedMsg),
      }),
    ),
    measured_bytes: Nullable(Type.Number()),
    ceiling_bytes: Nullable(Type.Number()),
    ceiling_source: Nullable(Type.String()),
    ceiling_detail: Nullable(
      Type.Record(Type.String(), Type.Unknown(), {
        description: "the ceiling in detail (SQL Server: each volume's total and free), or reason (+ reason_msg, its key)",
      }),
    ),
    unexplained_bytes: Nullable(Type.Number()),
    history: Type.Array(Closed({ date: DateStr, parts: PartBytes })),
    growth: PartBytes,
  }),
);

/** POST /api/instances/:id/tables/sync (request body; none = every database of the instance). Inline in the OpenAPI document. */
export const TableSyncBody = Type.Object(
  { databases: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 10_000 })) },
  { additionalProperties: false },
);

/** A local date in a query (inclusive). */
const QueryDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (local date, inclusive)' });

/** GET /api/instances/:id/tables (query): the table list of one database, sorted, searched, paged, or as CSV. Inline in the OpenAPI document. */
export const TableListQuery = Type.Object(
  {
    database: Type.String({ minLength: 1, maxLength: 512 }),
    day: Type.Optional(QueryDate),
    search: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    sort: Type.Optional(StringEnum(['total', 'data', 'index', 'lob', 'free', 'rows', 'name'] as const)),
    order: Type.Optional(StringEnum(['asc', 'desc'] as const)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    include_deleted: Type.Optional(Type.Boolean()),
    format: Type.Optional(StringEnum(['json', 'csv'] as const)),
  },
  { additionalProperties: false },
);

/** GET /api/tables/top-growing (query): the top growing tables page's filters (top-tables.page.ts). Inline in the OpenAPI document. */
export const TopGrowingQuery = Type.Object(
  {
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3660 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    to: Type.Optional(QueryDate),
    instance_id: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    format: Type.Optional(StringEnum(['json', 'csv'] as const)),
  },
  { additionalProperties: false },
);

/** GET /api/instances/:id/composition (query): the history window (composition.ts). Inline in the OpenAPI document. */
export const CompositionQuery = Type.Object(
  { days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3660, description: 'history window (default 30)' })) },
  { additionalProperties: false },
);

/** GET /api/tables/:id/series (query): one table's daily sizes, or as CSV (database.page.ts). Inline in the OpenAPI document. */
export const TableSeriesQuery = Type.Object(
  { from: Type.Optional(QueryDate), to: Type.Optional(QueryDate), format: Type.Optional(StringEnum(['json', 'csv'] as const)) },
  { additionalProperties: false },
);
