/** Response schemas of the settings routes. */
import { Type } from '@sinclair/typebox';
import { Closed, component, Nullable, StringEnum } from '../components.js';
import type { DbType as DbTypeName } from '../../domain/db-type.js';
import { DbType, Timestamp } from './instances.schemas.js';

const Effective = Closed({
  sync_cron: Type.String(),
  aggregation_cron: Type.String(),
  sync_concurrency: Type.Integer(),
  connections_per_instance: Type.Integer(),
  connections_total: Type.Integer(),
  connect_timeout_ms: Type.Integer(),
  sync_timeout_ms: Type.Integer(),
  sync_retries: Type.Integer(),
  retry_base_delay_ms: Type.Integer(),
  catch_up: Type.Boolean(),
  // TypeBox types a record keyed by an Unsafe enum as {}: the Unsafe says which keys it has.
  exclusions: Type.Unsafe<Partial<Record<DbTypeName, string[]>>>(
    Type.Partial(Type.Record(DbType, Type.Array(Type.String())), { description: 'database-name patterns left out, per engine' }),
  ),
  retention_days: Nullable(Type.Integer()),
  sync_points_days: Type.Integer(),
  showback_rate_per_gb_month: Type.Number({ description: 'price of one GB held for a month in the capacity report (0: no showback)' }),
  showback_currency: Type.String(),
});

export const SettingsView = component(
  'Settings',
  Closed({
    settings: Effective,
    defaults: Effective,
    time_zone: Type.String(),
    scheduler_enabled: Type.Boolean(),
    queue: StringEnum(['local', 'pg-boss'] as const),
    next_runs: Closed({ capacity_sync: Nullable(Timestamp), daily_aggregation: Nullable(Timestamp) }),
    recent_runs: Type.Array(
      Closed({
        id: Type.Integer(),
        job: Type.String(),
        scheduled_for: Timestamp,
        started_at: Timestamp,
        finished_at: Nullable(Timestamp),
        status: Type.String(),
        owner: Type.String(),
        session_id: Nullable(Type.String()),
        message: Nullable(Type.String()),
      }),
    ),
  }),
);

/** PATCH /api/settings (request body): null resets a setting to its default. Inline in the OpenAPI document. */
export const UpdateSettingsBody = Type.Object(
  {
    sync_cron: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
    aggregation_cron: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
    sync_concurrency: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    connections_per_instance: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    connections_total: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    connect_timeout_ms: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    sync_timeout_ms: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    sync_retries: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    retry_base_delay_ms: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    catch_up: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    retention_days: Type.Optional(Type.Union([Type.Integer({ minimum: 30 }), Type.Null()])),
    sync_points_days: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    showback_rate_per_gb_month: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
    showback_currency: Type.Optional(Type.Union([Type.String({ maxLength: 16 }), Type.Null()])),
    exclusions: Type.Optional(
      Type.Union([Type.Record(Type.String({ maxLength: 16 }), Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })), Type.Null()]),
    ),
  },
  { additionalProperties: false },
);
