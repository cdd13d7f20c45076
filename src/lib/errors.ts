/**
 * Two error families:
 * - AppError: a request the service refuses (bad input, not found, conflict…).
 *   The HTTP layer maps `kind` to a status; the CLI prints `message`.
 * - SyncError: why a collection failed, classified as DESIGN.md asks so that
 *   retries and the UI can tell a wrong password from a dead network.
 * Both take their text as a string or as a keyed message (`msg('api.sync.disabled')`):
 * `message` is then the zh-CN text (the API's own language) and `msg` keeps the key and
 * parameters, so the API can answer in the request's language and the UI in the user's.
 */
import { isMsg, msgText, type Msg } from '../client/shared/i18n/index.js';
import { stripControl } from './control-chars.js';

/**
 * Every `error_code` the API can answer, with its meaning: the one list. The OpenAPI `ErrorCode` component is
 * generated from it, docs/api.md's error table is checked against it (test/api/openapi.test.ts), and the compiler
 * holds every code the code can emit to it: AppError's kind and code, SyncErrorCode, the framework errors and
 * `errorBody` are typed `ErrorCode`. A failed sync or connection test answers with the failure's class
 * (SyncErrorCode: connection, timeout, auth…) so retries can tell them apart.
 */
export const ERROR_CODES = {
  validation: 'a field is missing, unknown or out of range (the message names it)',
  invalid_json: 'the body is not valid JSON (an empty body is accepted as {})',
  body_too_large: 'the body exceeds 1 MiB (an instance import: WHALEFALL_IMPORT_MAX_BYTES, default 10 MiB)',
  unsupported_media_type: 'the Content-Type has no parser (send application/json)',
  bad_content_length: 'the body size did not match Content-Length',
  bad_url: 'the URL has an invalid percent-escape or a parameter over the length limit',
  bad_request: 'the HTTP request itself is malformed',
  unauthorized: 'not signed in, or the bearer token is invalid, expired or revoked',
  forbidden: 'the role may not do this, or X-CSRFToken is missing on a cookie write',
  not_found: 'no such route or object',
  conflict: 'duplicate name, already syncing, or the object is in use',
  rate_limited: 'too many requests; retry after the time in the message',
  unavailable: 'this server lacks what the request needs (e.g. chromium for a PDF report)',
  sync_failed: 'the operation on the monitored server failed',
  connection: 'sync/test: the monitored server could not be reached (refused, DNS, TLS)',
  timeout: 'sync/test: the monitored server did not answer in time',
  auth: 'sync/test: the monitored server refused the credential',
  permission: 'sync/test: the credential lacks a privilege the collection needs',
  unsupported: 'sync/test: engine or server version not supported',
  data: 'sync/test: the server answered something that could not be read',
  request_timeout: 'the request took longer than the server allows',
  internal: 'an unexpected error; details are in the service log',
  // Refusals with their own code (AppError's third argument), so a client can branch on them.
  import_invalid: 'import: the file has errors, nothing was stored (the report is in `data`)',
  confirm_move: 'instance update: changing host or port needs confirm_move: true (the stored password would go to the new address)',
  last_admin: 'users: the last active admin cannot be demoted or disabled',
  token_from_token: 'tokens: a token is created from a browser session, never with a token',
  token_no_expiry: 'tokens: only an admin may create a token that never expires',
  discovery_disabled: 'discovery: the service runs without WHALEFALL_DISCOVERY=on',
  not_a_session: 'logout: the caller authenticated with an API token, which is not a session (revoke it with DELETE /api/tokens/:id)',
  login_throttled: 'login: too many failed logins for this account from this address (retry_after_seconds says when)',
  connection_cap: 'no connection slot to the monitored instance came free in time (the connection caps); retry after retry_after_seconds',
  cancelled: 'sync: the sync was cancelled (POST /api/sync-sessions/:id/cancel) before it finished; nothing of it was saved',
  interrupted: 'sync: the service was stopping and stopped the sync before it finished; nothing of it was saved (run it again)',
  lease_lost: "sync: the instance's lock passed to another process (this one's lease ran out); this run saved nothing",
  duplicate_server:
    'instances: the host and port (Oracle: and service) are registered already as `duplicates`; send confirm_duplicate: true to register it anyway',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** What a refusal is; each kind is an `ErrorCode` (the envelope's code when the error names no other). */
export type AppErrorKind =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  /** Too many requests: wait (`extra.retry_after_seconds`) and try again. */
  | 'rate_limited'
  /** A capability this server lacks (e.g. no chromium for a PDF): 503. */
  | 'unavailable'
  | 'sync_failed';

export class AppError extends Error {
  /** The message by key, when it was given one. */
  readonly msg?: Msg;
  constructor(
    readonly kind: AppErrorKind,
    message: string | Msg,
    readonly code?: ErrorCode,
    /** Extra fields for the response envelope (e.g. the failed sync's session_id). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(isMsg(message) ? msgText(message) : message);
    if (isMsg(message)) this.msg = message;
    this.name = 'AppError';
  }
}

export type SyncErrorCode = 'connection' | 'timeout' | 'auth' | 'permission' | 'unsupported' | 'data' | 'internal';
/** Why a sync record ended without its save: the collection's failure class, or the run stopped from outside. */
export type RecordErrorCode = SyncErrorCode | 'cancelled' | 'interrupted' | 'lease_lost';

/** Human explanation of each class (the seed's section 8, kept and extended). */
export const SYNC_ERROR_HINTS: Record<SyncErrorCode, string> = {
  connection: '数据库连接失败，请检查网络连接和实例状态',
  timeout: '容量同步超时，请稍后重试',
  auth: '认证失败，请检查连接凭据的用户名和密码',
  permission: '权限不足，请检查数据库用户权限',
  unsupported: '不支持的数据库类型或版本',
  data: '数据格式错误，请检查实例配置',
  internal: '容量同步失败',
};

export class SyncError extends Error {
  /** The message by key (a record stores it next to the text), when it was given one. */
  readonly msg?: Msg;
  constructor(
    readonly code: SyncErrorCode,
    message: string | Msg,
    options?: { cause?: unknown },
  ) {
    super(isMsg(message) ? msgText(message) : message, options);
    if (isMsg(message)) this.msg = message;
    this.name = 'SyncError';
  }

  /**
   * The same error as the services keep it: every secret masked and control characters / terminal escapes
   * stripped (serverText), in the text and in the key's parameters; the cause is kept.
   */
  scrubbed(secrets: readonly (string | undefined | null)[]): SyncError {
    return new SyncError(this.code, this.msg ? scrubMsg(this.msg, secrets) : serverText(this.message, secrets), { cause: this.cause });
  }

  /** Transient failures are worth a retry; the others will fail the same way again. */
  get transient(): boolean {
    return this.code === 'connection' || this.code === 'timeout';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Remove every occurrence of the given secrets from a message. Drivers do not
 * normally echo passwords, but a connection string in an error would: this is
 * the last line of defence before a message is stored, logged or returned.
 */
export function scrubSecrets(message: string, secrets: readonly (string | undefined | null)[]): string {
  let out = message;
  for (const s of secrets) {
    if (!s) continue;
    if (s.length >= SCRUB_ANYWHERE_LENGTH) {
      out = out.split(s).join('***');
      continue;
    }
    // A short secret is masked only where it stands alone: masking the "e" of "exist" (e***ist) would
    // point at the password instead of hiding it. Always '***', whatever the length.
    let from = 0;
    for (let at = out.indexOf(s, from); at >= 0; at = out.indexOf(s, from)) {
      const before = out.slice(0, at);
      const after = out.slice(at + s.length);
      if (WORD_END.test(before) || WORD_START.test(after)) {
        from = at + s.length;
        continue;
      }
      out = `${before}***${after}`;
      from = at + 3;
    }
  }
  return out;
}

/** `scrubSecrets` over every text parameter of a keyed message (nested ones included). */
export function scrubMsg(m: Msg, secrets: readonly (string | undefined | null)[]): Msg {
  if (!m.params) return m;
  const params: NonNullable<Msg['params']> = {};
  for (const [k, v] of Object.entries(m.params)) params[k] = isMsg(v) ? scrubMsg(v, secrets) : typeof v === 'string' ? serverText(v, secrets) : v;
  return { key: m.key, params };
}

/** Secrets at least this long are masked wherever they appear, inside words too. */
const SCRUB_ANYWHERE_LENGTH = 8;
const WORD_END = /[\p{L}\p{N}_]$/u;
const WORD_START = /^[\p{L}\p{N}_]/u;

/**
 * A monitored server's error text as the services keep it: secrets scrubbed, control characters and
 * terminal escapes stripped (lib/control-chars.ts). Every engine error entering a service passes here.
 */
export function serverText(message: string, secrets: readonly (string | undefined | null)[]): string {
  return stripControl(scrubSecrets(message, secrets), { multiline: true });
}
