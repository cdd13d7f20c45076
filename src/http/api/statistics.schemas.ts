/** Response schemas of the statistics routes (statistics.routes.ts): summary, growers, series, forecasts, runway, capacity. */
import { Type } from '@sinclair/typebox';
import { Closed, component, Nullable, StringEnum } from '../components.js';
import { DateStr, DbType, Timestamp } from './instances.schemas.js';

const PERIODS = ['daily', 'weekly', 'monthly', 'quarterly'] as const;
const Period = StringEnum(PERIODS);
const Scope = StringEnum(['instance', 'database'] as const);
const Pct = Nullable(Type.Number({ description: 'percent; null when the start was 0' }));

const group = { instances: Type.Integer(), databases: Type.Integer(), total_bytes: Type.Number() };
export const EstateSummary = component(
  'EstateSummary',
  Closed({
    instances_total: Type.Integer(),
    instances_active: Type.Integer(),
    instances_online: Type.Integer(),
    instances_measured: Type.Integer(),
    databases_total: Type.Integer(),
    total_bytes: Type.Number(),
    average_bytes: Nullable(Type.Number()),
    max_bytes: Nullable(Type.Number()),
    max_instance: Nullable(Closed({ instance_id: Type.Integer(), instance_name: Type.String() })),
    same_server_excluded: Closed(
      {
        instances: Type.Array(
          Closed({ instance_id: Type.Integer(), instance_name: Type.String(), counted_as_instance_id: Type.Integer(), bytes: Type.Number() }),
        ),
        bytes: Type.Number(),
      },
      'instances registered twice for one server (same host:port): left out of the estate figures, the registration synced most recently is counted',
    ),
    replica_copies_excluded: Closed(
      { databases: Type.Integer(), bytes: Type.Number() },
      "availability-group database copies left out of total_bytes: another replica's copy stands for them",
    ),
    by_db_type: Type.Array(Closed({ db_type: Type.String(), ...group })),
    by_tag: Type.Array(Closed({ tag: Type.String(), ...group })),
  }),
);

export const TopGrowers = component(
  'TopGrowers',
  Closed({
    scope: Scope,
    days: Type.Integer(),
    by: StringEnum(['bytes', 'pct'] as const),
    include_system: Type.Boolean({ description: 'system databases are in the ranking (false by default)' }),
    from: DateStr,
    to: DateStr,
    items: Type.Array(
      Closed({
        instance_id: Type.Integer(),
        instance_name: Type.String(),
        database_name: Type.String({ description: 'empty for scope=instance' }),
        first_bytes: Type.Number(),
        last_bytes: Type.Number(),
        change_bytes: Type.Number(),
        change_pct: Pct,
      }),
    ),
  }),
);

const seen = {
  instance_id: Type.Integer(),
  instance_name: Type.String(),
  database_name: Type.String(),
  first_seen_date: DateStr,
  last_seen_date: DateStr,
  deleted_at: Nullable(Timestamp),
};
export const DatabaseChanges = component(
  'DatabaseChanges',
  Closed({
    from: DateStr,
    to: DateStr,
    new_databases: Type.Array(Closed({ ...seen, is_deleted: Type.Boolean() })),
    deleted_databases: Type.Array(Closed({ ...seen, last_size_bytes: Nullable(Type.Number()) })),
  }),
);

const SeriesPoint = Closed({
  period_start: DateStr,
  period_end: DateStr,
  avg_bytes: Type.Number(),
  max_bytes: Type.Number(),
  min_bytes: Type.Number(),
  last_bytes: Type.Number(),
  days_with_data: Type.Integer(),
  change_bytes: Nullable(Type.Number()),
  change_pct: Pct,
  trend: Type.String({ description: 'up, down or flat' }),
});
export const Series = component(
  'Series',
  Closed({
    scope: Scope,
    instance_id: Type.Integer(),
    database_name: Type.Optional(Type.String()),
    period: Period,
    from: DateStr,
    to: DateStr,
    points: Type.Array(SeriesPoint),
  }),
);

const forecastFields = {
  state: StringEnum(['ok', 'not_growing', 'unpredictable', 'no_limit', 'already_full'] as const),
  days_until_full: Type.Optional(Type.Number()),
  full_date: Type.Optional(DateStr),
  r2: Nullable(Type.Number()),
  slope_bytes_per_day: Nullable(Type.Number()),
  points_used: Type.Integer(),
  limit_bytes: Nullable(Type.Number()),
  limit_source: Nullable(Type.String()),
  instance_id: Type.Integer(),
  window_days: Type.Integer(),
};
export const InstanceForecast = component('InstanceForecast', Closed({ ...forecastFields, scope: Type.Literal('instance') }));
export const DatabaseForecast = component('DatabaseForecast', Closed({ ...forecastFields, scope: Type.Literal('database'), database_name: Type.String() }));

const Contributor = { name: Type.String(), change_bytes: Type.Number(), share: Type.Number() };
const Contributors = Nullable(Type.Array(Closed(Contributor)));
const Jump = Closed({
  date: DateStr,
  previous_date: DateStr,
  change_bytes: Type.Number(),
  expected_bytes: Type.Number(),
  databases: Contributors,
  tables: Nullable(Type.Array(Closed({ ...Contributor, database_name: Type.String(), schema_name: Type.String(), table_name: Type.String() }))),
  parts: Contributors,
  tables_from: Nullable(DateStr),
  tables_to: Nullable(DateStr),
});

export const RunwayList = component(
  'RunwayList',
  Closed({
    scope: Scope,
    window_days: Type.Integer(),
    computed_at: Timestamp,
    total: Type.Integer({ description: 'how many matched (items is limited)' }),
    items: Type.Array(
      Closed({
        instance_id: Type.Integer(),
        instance_name: Type.String(),
        db_type: Type.String(),
        database_name: Type.Optional(Type.String()),
        state: StringEnum(['growing', 'not_growing', 'shrinking', 'unpredictable', 'no_ceiling', 'full'] as const),
        days_until_full: Nullable(Type.Number()),
        full_date: Nullable(DateStr),
        low_days: Nullable(Type.Number()),
        high_days: Nullable(Type.Number()),
        growth_bytes_per_day: Nullable(Type.Number()),
        ceiling_bytes: Nullable(Type.Number()),
        ceiling_source: Nullable(StringEnum(['capacity_limit_bytes', 'autoextend_max', 'volume'] as const)),
        fit_start_date: Nullable(DateStr),
        change_point_date: Nullable(DateStr),
        backtest_mape: Nullable(Type.Number()),
        latest_date: Nullable(DateStr),
        latest_bytes: Nullable(Type.Number()),
        points_used: Type.Integer(),
        fit: Nullable(
          Closed(
            {
              last_date: DateStr,
              level_bytes: Type.Number(),
              level_low: Type.Number(),
              level_high: Type.Number(),
              slope: Type.Number(),
              slope_low: Type.Number(),
              slope_high: Type.Number(),
            },
            "the fit the browser's what-if recomputes from",
          ),
        ),
        jumps: Type.Array(Jump, { description: 'the latest days (up to 3) whose change lies outside the fit, with what accounts for it' }),
      }),
    ),
  }),
);

const CapacityPoint = Closed({ period_start: DateStr, period_end: DateStr, size_bytes: Type.Number(), change_bytes: Nullable(Type.Number()), change_pct: Pct });
export const CapacityStatistics = component(
  'CapacityStatistics',
  Closed({
    scope: Scope,
    period: Period,
    from: DateStr,
    to: DateStr,
    top: Type.Integer(),
    include_system: Type.Boolean({ description: 'system databases are in the top-N trend (false by default)' }),
    periods: Type.Array(Closed({ period_start: DateStr, period_end: DateStr })),
    cards: Closed({
      latest_period: Nullable(DateStr),
      items_online: Type.Integer(),
      items_total: Type.Integer(),
      total_bytes: Type.Number(),
      average_bytes: Nullable(Type.Number()),
      max_bytes: Nullable(Type.Number()),
      max_item: Nullable(Closed({ instance_id: Type.Integer(), instance_name: Type.String(), database_name: Type.String() })),
    }),
    same_server_excluded: Closed(
      {
        instances: Type.Array(
          Closed({
            instance_id: Type.Integer(),
            instance_name: Type.String(),
            counted_as_instance_id: Type.Integer(),
            counted_as_instance_name: Type.String(),
            bytes: Type.Number(),
          }),
        ),
        bytes: Type.Number(),
      },
      'registrations of a server another registration counts (same host:port), left out of the total, its series and the average; in each period the registration synced most recently among those with a figure there counts; listed for the latest period',
    ),
    total: Type.Array(CapacityPoint, { description: 'the filtered total per period, each server counted once' }),
    items: Type.Array(
      Closed({
        instance_id: Type.Integer(),
        instance_name: Type.String(),
        db_type: Type.String(),
        database_name: Type.String(),
        latest_bytes: Type.Number(),
        points: Type.Array(CapacityPoint),
      }),
      { description: 'the TOP N series' },
    ),
  }),
);

export const AggregateResult = Closed({
  from: DateStr,
  to: DateStr,
  computed_at: Timestamp,
  periods: Type.Array(
    Closed({
      period: Period,
      period_start: DateStr,
      period_end: DateStr,
      periods: Type.Integer(),
      instance_rows: Type.Integer(),
      database_rows: Type.Integer(),
    }),
  ),
});

// Queries the browser sends (inline in the OpenAPI document, as before they moved here).

/** A local date in a query (inclusive). */
const QueryDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (local date, inclusive)' });

/** GET /api/statistics/instances/:id/series (query). */
export const SeriesQuery = Type.Object(
  {
    period: Type.Optional(StringEnum(['daily', 'weekly', 'monthly', 'quarterly'] as const)),
    from: Type.Optional(QueryDate),
    to: Type.Optional(QueryDate),
    format: Type.Optional(StringEnum(['json', 'csv'] as const)),
  },
  { additionalProperties: false },
);

/** GET /api/statistics/instances/:id/database-series (query). */
export const DatabaseSeriesQuery = Type.Object(
  { ...SeriesQuery.properties, database: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);

/** Only the instances carrying a tag (a query filter). */
export const QueryTag = Type.String({ maxLength: 64, description: 'only instances carrying this tag, e.g. env:prod' });
/** Database scope: whether system databases are ranked (a query flag). */
export const IncludeSystem = Type.Optional(
  Type.Boolean({ description: 'database scope: system databases (mysql, sys, postgres, master …) ranked too; default false (they still count in totals)' }),
);

/** GET /api/statistics/capacity (query): the capacity pages' filters (capacity.page.ts). */
export const CapacityQuery = Type.Object(
  {
    scope: Type.Optional(Scope),
    period: Type.Optional(Period),
    last: Type.Optional(
      Type.Union([Type.Literal(7), Type.Literal(14), Type.Literal(30)], { description: 'the last N periods up to `to` (when `from` is absent)' }),
    ),
    from: Type.Optional(QueryDate),
    to: Type.Optional(QueryDate),
    db_type: Type.Optional(DbType),
    instance_id: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    database: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'part of a database name' })),
    top: Type.Optional(Type.Union([Type.Literal(5), Type.Literal(10), Type.Literal(20)])),
    include_system: IncludeSystem,
    format: Type.Optional(StringEnum(['json', 'csv'] as const)),
  },
  { additionalProperties: false },
);

/** GET /api/statistics/runway (query): the runway page's filters (runway.page.ts). */
export const RunwayQuery = Type.Object(
  {
    scope: Type.Optional(Scope),
    instance_id: Type.Optional(Type.Integer({ minimum: 1 })),
    tag: Type.Optional(QueryTag),
    db_type: Type.Optional(DbType),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'default 100' })),
    format: Type.Optional(StringEnum(['json', 'csv'] as const)),
  },
  { additionalProperties: false },
);
