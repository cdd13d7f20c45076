/** Response schemas of the alert routes: rules (webhook URLs masked, secrets never), events and their deliveries. */
import { Type } from '@sinclair/typebox';
import { CHANNEL_TYPES, RULE_KINDS, WINDOWS } from '../../domain/alerts.js';
import { Closed, component, Nullable, StringEnum } from '../components.js';
import { Timestamp } from './instances.schemas.js';

export const AlertRule = component(
  'AlertRule',
  Closed({
    id: Type.Integer(),
    name: Type.String(),
    kind: StringEnum(RULE_KINDS),
    instance_id: Nullable(Type.Integer()),
    db_type: Nullable(Type.String()),
    tag: Nullable(Type.String()),
    database_pattern: Nullable(Type.String()),
    threshold: Nullable(Type.Number()),
    window: Nullable(StringEnum(WINDOWS)),
    consecutive: Nullable(Type.Integer()),
    limit_bytes: Nullable(Type.Number()),
    is_active: Type.Boolean(),
    channels: Type.Array(Closed({ type: StringEnum(CHANNEL_TYPES), url: Type.String({ description: 'masked' }), has_secret: Type.Boolean() })),
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
);

const eventFields = {
  id: Type.Integer(),
  rule_id: Type.Integer(),
  state: Type.String({ description: 'firing or resolved' }),
  dedup_key: Type.String(),
  instance_id: Nullable(Type.Integer()),
  instance_name: Nullable(Type.String()),
  database_name: Nullable(Type.String()),
  message: Type.String({ description: 'both languages, Chinese first (as notifications send it)' }),
  message_key: Nullable(Type.String({ description: '`message` by message key; null on events stored before keys' })),
  message_params: Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'the parameters of `message_key`' })),
  value: Nullable(Type.Number()),
  fired_at: Timestamp,
  resolved_at: Nullable(Timestamp),
  last_evaluated_at: Timestamp,
};

export const AlertEventPage = component(
  'AlertEventPage',
  Closed({
    items: Type.Array(Closed({ ...eventFields, rule_name: Type.String(), rule_kind: Type.String() })),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  }),
);

export const AlertEvent = component(
  'AlertEvent',
  Closed({
    ...eventFields,
    rule: Nullable(AlertRule),
    deliveries: Type.Array(
      Closed({
        id: Type.Integer(),
        event_id: Type.Integer(),
        transition: Type.String(),
        channel: Type.String(),
        url: Type.String({ description: 'masked unless the caller is an admin' }),
        status: Type.String(),
        attempt: Type.Integer(),
        http_status: Nullable(Type.Integer()),
        error: Nullable(Type.String()),
        next_attempt_at: Nullable(Timestamp),
        created_at: Timestamp,
        updated_at: Timestamp,
        log: Type.Array(Closed({ attempt: Type.Integer(), at: Timestamp, http_status: Nullable(Type.Integer()), error: Nullable(Type.String()) }), {
          description: 'every attempt',
        }),
      }),
    ),
  }),
);

// ---------------------------------------------------------------------------
// Request bodies (inline in the OpenAPI document, as before they moved here).
// ---------------------------------------------------------------------------

const Channel = Type.Object(
  {
    type: StringEnum(CHANNEL_TYPES),
    url: Type.String({ minLength: 1, maxLength: 2000 }),
    secret: Type.Optional(
      Type.Union([
        Type.String({
          minLength: 1,
          maxLength: 200,
          description: 'signing secret (dingtalk 加签 SEC…, feishu): stored encrypted, never returned; omit to keep, null to remove',
        }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: false },
);
/** An optional field that may be null (null clears it). */
const OptionalNullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

/** The rule fields; the service checks which ones each kind needs (one set of words for API and CLI). */
const ruleFields = {
  kind: StringEnum(RULE_KINDS),
  instance_id: OptionalNullable(Type.Integer({ minimum: 1 })),
  db_type: OptionalNullable(Type.String({ maxLength: 16 })),
  tag: OptionalNullable(Type.String({ maxLength: 64 })),
  database_pattern: OptionalNullable(Type.String({ maxLength: 255 })),
  threshold: OptionalNullable(Type.Number()),
  window: OptionalNullable(StringEnum(WINDOWS)),
  consecutive: OptionalNullable(Type.Integer()),
  limit_bytes: OptionalNullable(Type.Integer({ minimum: 1 })),
  is_active: Type.Optional(Type.Boolean()),
  channels: Type.Optional(Type.Array(Channel, { maxItems: 10 })),
};

/** POST /api/alert-rules */
export const CreateAlertRuleBody = Type.Object({ name: Type.String({ maxLength: 128 }), ...ruleFields }, { additionalProperties: false });

/** PATCH /api/alert-rules/:id: `channels` replaces the list (omit it to keep the stored URLs). */
export const UpdateAlertRuleBody = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 128 })), ...ruleFields, kind: Type.Optional(StringEnum(RULE_KINDS)) },
  { additionalProperties: false },
);

/** GET /api/alerts (query): alert events, paged and filtered (settings-alerts.ts). Inline in the OpenAPI document. */
export const AlertEventListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    state: Type.Optional(StringEnum(['firing', 'resolved'] as const)),
    rule_id: Type.Optional(Type.Integer({ minimum: 1 })),
    instance_id: Type.Optional(Type.Integer({ minimum: 1 })),
    tag: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
