/**
 * What Fastify itself can refuse, answered in the API envelope.
 *
 * Fastify's own errors (`FST_ERR_*`, a bad URL, a malformed request line)
 * would otherwise reach the client as `{statusCode, code, error, message}` in
 * English with an undocumented code. Each one a client can cause is listed
 * here with a stable `error_code` (documented in the OpenAPI `ErrorCode`
 * component and docs/api.md) and a zh-CN + English message, in the seed's
 * format `中文 (English)`.
 *
 * The JSON body parser also lives here: the original front end posts
 * `Content-Type: application/json` with no body at all (sync, test-connection,
 * logout). An empty body is `{}`; a body that is not JSON is `invalid_json`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface FrameworkError {
  /** The documented, stable code clients branch on. */
  error_code: string;
  status: number;
  zh: string;
  en: string;
}

/** Fastify code → what the client receives. Codes a client cannot cause (500s) become `internal`. */
export const FRAMEWORK_ERRORS: Record<string, FrameworkError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { error_code: 'invalid_json', status: 400, zh: '请求体不是有效的 JSON', en: 'request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { error_code: 'invalid_json', status: 400, zh: '请求体不是有效的 JSON', en: 'request body is not valid JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { error_code: 'body_too_large', status: 413, zh: '请求体过大（上限 1 MiB）', en: 'request body too large (limit 1 MiB)' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    error_code: 'unsupported_media_type',
    status: 415,
    zh: '不支持的 Content-Type，请使用 application/json',
    en: 'unsupported Content-Type, use application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    error_code: 'bad_content_length',
    status: 400,
    zh: '请求体长度与 Content-Length 不符',
    en: 'request body size did not match Content-Length',
  },
  FST_ERR_BAD_URL: { error_code: 'bad_url', status: 400, zh: 'URL 含有无效的编码', en: 'the URL contains an invalid escape' },
  FST_ERR_MAX_PARAM_LENGTH: { error_code: 'bad_url', status: 414, zh: 'URL 参数过长', en: 'a URL parameter is too long' },
};

/**
 * Every `error_code` the API can answer, with its meaning: the OpenAPI
 * `ErrorCode` component and docs/api.md are generated from / checked against
 * this list. A failed sync or connection test answers with the failure's
 * class (SyncErrorCode: connection, timeout, auth…) so retries can tell them apart.
 */
export const ERROR_CODES: Record<string, string> = {
  validation: 'a field is missing, unknown or out of range (the message names it)',
  invalid_json: 'the body is not valid JSON (an empty body is accepted as {})',
  body_too_large: 'the body exceeds 1 MiB',
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
  login_throttled: 'login: too many failed logins for this account from this address (retry_after_seconds says when)',
  connection_cap: 'no connection slot to the monitored instance came free in time (the connection caps); retry after retry_after_seconds',
};

/** The envelope for a Fastify error a client caused; undefined for errors that are ours (500). */
export function frameworkErrorBody(err: { code?: string; statusCode?: number; message: string }): { status: number; body: { success: false; error: string; error_code: string } } | undefined {
  const known = err.code ? FRAMEWORK_ERRORS[err.code] : undefined;
  if (known) return { status: known.status, body: { success: false, error: `${known.zh} (${known.en})`, error_code: known.error_code } };
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    // A client error we have not named yet: keep the status, say it in both languages, never leak a stack.
    return { status: err.statusCode, body: { success: false, error: `请求无效 (bad request: ${err.message})`, error_code: 'bad_request' } };
  }
  return undefined;
}

/** Fastify's `frameworkErrors` option: bad URLs and over-long parameters, before any route runs. */
export function onFrameworkError(err: Error & { code?: string; statusCode?: number }, _req: FastifyRequest, reply: FastifyReply): void {
  const known = frameworkErrorBody(err) ?? {
    status: 500,
    body: { success: false as const, error: '服务器内部错误 (internal error)，详情见服务日志', error_code: 'internal' },
  };
  void reply.status(known.status).send(known.body);
}

/**
 * The HTTP parser refused the request (malformed request line, header too
 * large, timeout): answer in the envelope on the raw socket, as Fastify's
 * default handler does in its own shape.
 */
export function onClientError(err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const [status, text, body] = timeout
    ? [408, 'Request Timeout', { success: false, error: '请求超时 (request timeout)', error_code: 'request_timeout' }]
    : tooLarge
      ? [431, 'Request Header Fields Too Large', { success: false, error: '请求头过大 (request headers too large)', error_code: 'bad_request' }]
      : [400, 'Bad Request', { success: false, error: 'HTTP 请求格式错误 (malformed HTTP request)', error_code: 'bad_request' }];
  const json = JSON.stringify(body);
  socket.write(
    `HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`,
  );
  socket.destroy();
}

/**
 * `application/json` body parser: an empty (or whitespace-only) body is `{}`;
 * anything else goes to Fastify's own parser (prototype-poisoning safe).
 * Register with `parseAs: 'string'`.
 */
export function jsonBodyParser(defaultParser: ContentTypeParserFn) {
  return (req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void): void => {
    if (body.trim() === '') done(null, {});
    else defaultParser(req, body, done);
  };
}
type ContentTypeParserFn = (req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => void;
