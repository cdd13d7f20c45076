/**
 * What a sync tells its user, in the seed's words (DESIGN.md): the API's
 * `message`/`error` of the sync routes and the error text of a record, as
 * keyed messages (the texts in both languages: client/shared/i18n/messages/api.ts).
 * `msgText(m)` gives the zh-CN text the API and the record's
 * `error_message` carry; the key and parameters go along for the UI.
 */
import { msg, type Msg } from '../../client/shared/i18n/index.js';

export const MSG = {
  disabled: msg('api.sync.disabled'),
  noCredential: msg('api.sync.no_credential'),
  noActive: msg('api.sync.no_active'),
  noIds: msg('api.v.instance_ids_empty'),
  notFound: (id: number) => msg('api.instance_not_found', { id }),
  sessionNotFound: (id: string) => msg('api.session_not_found', { id }),
  busy: (name: string) => msg('api.sync.busy', { name }),
  queued: (name: string) => msg('api.sync.queued', { name }),
  success: (count: number) => msg('api.sync.success', { count }),
  /** `cause`: the engine's keyed cause, or the text of an older record without one. */
  unreachable: (name: string, dbType: string, cause: Msg | string) => msg('api.sync.unreachable', { name, db_type: dbType, cause }),
  failed: (cause: Msg | string) => msg('api.sync.failed', { cause }),
  empty: msg('api.sync.empty'),
  excluded: (count: number) => msg('api.sync.excluded', { count }),
  unmeasured: (count: number, names: string[]) => msg('api.sync.unmeasured', { count, names: names.join(', ') }),
  deleted: msg('api.sync.deleted'),
  jobGivenUp: (runs: number | null, cause: string | null) => msg('api.sync.job_given_up', { runs: runs ?? '?', cause: cause ?? '?' }),
  cancelledSkip: msg('api.sync.cancelled_skip'),
  cancelledAbort: msg('api.sync.cancelled_abort'),
  shutdownSkip: msg('api.sync.shutdown_skip'),
  shutdownAbort: msg('api.sync.shutdown_abort'),
  stopping: msg('api.sync.stopping'),
  capInstance: (name: string, cap: number) => msg('api.sync.cap_instance', { name, cap }),
  capGlobal: (cap: number) => msg('api.sync.cap_global', { cap }),
  notRunning: (status: string) => msg('api.sync.not_running', { status }),
};
