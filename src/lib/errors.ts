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
    readonly code?: string,
    /** Extra fields for the response envelope (e.g. the failed sync's session_id). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(isMsg(message) ? msgText(message) : message);
    if (isMsg(message)) this.msg = message;
    this.name = 'AppError';
  }
}

export type SyncErrorCode = 'connection' | 'timeout' | 'auth' | 'permission' | 'unsupported' | 'data' | 'internal';

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
