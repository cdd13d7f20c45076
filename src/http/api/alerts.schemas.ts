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
