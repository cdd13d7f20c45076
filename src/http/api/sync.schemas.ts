/** Response schemas of the sync routes (sync.routes.ts, seed.routes.ts, instances' sync records). */
import { Type } from '@sinclair/typebox';
import { Closed, component, KeyedMsg, Nullable, StringEnum } from '../components.js';
import { Timestamp } from './instances.schemas.js';

export const SYNC_TYPES = ['manual_single', 'manual_batch', 'scheduled_task'] as const;
export const SESSION_STATUSES = ['running', 'completed', 'partial', 'failed', 'interrupted', 'cancelled'] as const;

const Count = Nullable(Type.Integer());
const recordFields = {
  id: Type.Integer(),
  session_id: Type.String({ format: 'uuid' }),
  instance_id: Type.Integer(),
  instance_name: Type.String(),
  status: Type.String({ description: 'pending, running, completed, failed, skipped…' }),
  started_at: Nullable(Timestamp),
  completed_at: Nullable(Timestamp),
  duration_ms: Nullable(Type.Number()),
  attempt: Type.Integer(),
  databases_count: Count,
  saved_count: Count,
  created_count: Count,
  updated_count: Count,
  deleted_count: Count,
  restored_count: Count,
  total_size_bytes: Nullable(Type.Number()),
  total_size_mb: Nullable(Type.Number()),
  error_code: Nullable(Type.String({ description: 'the failure class: connection, timeout, auth, permission, unsupported, data, internal, interrupted…' })),
  error_message: Nullable(Type.String()),
  error_message_key: Nullable(Type.String({ description: '`error_message` by message key; null on rows stored before keys' })),
  error_params: Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'the parameters of `error_message_key`' })),
  details: Nullable(Type.Record(Type.String(), Type.Unknown())),
  holder: Nullable(Closed({ host: Type.String(), pid: Type.Integer() }, 'the process that ran it last; null before it started')),
};
export const SyncRecord = component('SyncRecord', Closed(recordFields, "One instance's part of a sync session"));
/** A record as an instance's history lists it: with its session's type. */
export const InstanceSyncRecord = component('InstanceSyncRecord', Closed({ ...recordFields, sync_type: Type.String() }));

const sessionFields = {
  id: Type.Integer(),
  session_id: Type.String({ format: 'uuid' }),
  sync_type: Type.String({ description: SYNC_TYPES.join(' | ') }),
  sync_category: Type.String(),
  status: Type.String({ description: SESSION_STATUSES.join(' | ') }),
  started_at: Timestamp,
  completed_at: Nullable(Timestamp),
  heartbeat_at: Nullable(Timestamp),
  duration_ms: Nullable(Type.Number()),
  total_instances: Type.Integer(),
  successful_instances: Type.Integer(),
  failed_instances: Type.Integer(),
  created_by: Nullable(Type.Integer()),
  cancel_requested_at: Nullable(Timestamp),
  cancelled_by: Nullable(Type.Integer()),
  running_instances: Type.Integer(),
  elapsed_ms: Nullable(Type.Number()),
  remaining_ms_estimate: Nullable(Type.Number({ description: 'null until an instance has finished' })),
};
export const SyncSession = component('SyncSession', Closed(sessionFields, 'A sync run over one or many instances'));
export const SyncSessionDetail = component('SyncSessionDetail', Closed({ ...sessionFields, records: Type.Array(SyncRecord) }));
export const SyncSessionPage = component(
  'SyncSessionPage',
  Closed({ items: Type.Array(SyncSession), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }),
);

export const BatchStarted = Closed({ session_id: Type.String({ format: 'uuid' }), total_instances: Type.Integer() });
export const CancelResult = Closed({
  session_id: Type.String({ format: 'uuid' }),
  status: Type.String(),
  skipped: Type.Integer({ description: 'instances not started: skipped' }),
  running: Type.Integer({ description: 'instances being aborted' }),
});

/** The original's answer to 同步容量, with what really happened added. */
export const ManualSync = component(
  'ManualSync',
  Closed({
    saved_count: Type.Integer(),
    databases_count: Type.Integer(),
    total_size_mb: Type.Number(),
    instance_id: Type.Integer(),
    instance_name: Type.String(),
    session_id: Type.String({ format: 'uuid' }),
    created_count: Type.Integer(),
    updated_count: Type.Integer(),
    deleted_count: Type.Integer(),
    restored_count: Type.Integer(),
    warnings: Type.Array(Type.String(), { description: "in the request's language" }),
    warning_msgs: Type.Array(KeyedMsg, { description: '`warnings` by key, in the same order' }),
  }),
);

/** POST /api/sync/capacity (request body; none at all = every active instance). Inline in the OpenAPI document. */
export const BatchSyncBody = Type.Object(
  { instance_ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 10000 })) },
  { additionalProperties: false },
);

/** GET /api/sync-sessions (query): the sessions page's filters and page (sync-sessions.page.ts). Inline in the OpenAPI document. */
export const SyncSessionListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    sync_type: Type.Optional(StringEnum(SYNC_TYPES)),
    status: Type.Optional(StringEnum(SESSION_STATUSES)),
    from: Type.Optional(Type.String({ format: 'date', description: 'YYYY-MM-DD' })),
    to: Type.Optional(Type.String({ format: 'date', description: 'YYYY-MM-DD' })),
  },
  { additionalProperties: false },
);
