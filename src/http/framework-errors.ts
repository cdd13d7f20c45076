/**
 * What Fastify itself can refuse, answered in the API envelope.
 *
 * Fastify's own errors (`FST_ERR_*`, a bad URL, a malformed request line)
 * would otherwise reach the client as `{statusCode, code, error, message}` in
 * English with an undocumented code. Each one a client can cause is listed
 * here with a stable `error_code` (documented in the OpenAPI `ErrorCode`
 * component and docs/api.md) and a message by key (`api.http.*`): zh-CN in the
 * seed's format `中文 (English)`, English with Accept-Language: en.
 *
 * The JSON body parser also lives here: the original front end posts
 * `Content-Type: application/json` with no body at all (sync, test-connection,
 * logout). An empty body is `{}`; a body that is not JSON is `invalid_json`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../lib/errors.js';
import { DEFAULT_LOCALE, localeFromAcceptLanguage, msg, msgText, type Locale, type MessageKey, type Msg } from '../client/shared/i18n/index.js';

export interface FrameworkError {
  /** The documented, stable code clients branch on. */
  error_code: ErrorCode;
  status: number;
  /** The message (errors.ts, `api.http.*`): zh-CN `中文 (English)`, or English with Accept-Language: en. */
  key: MessageKey;
}

/** Fastify code → what the client receives. Codes a client cannot cause (500s) become `internal`. */
export const FRAMEWORK_ERRORS: Record<string, FrameworkError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { error_code: 'invalid_json', status: 400, key: 'api.http.invalid_json' },
  WF_INVALID_UTF8: { error_code: 'invalid_json', status: 400, key: 'api.http.invalid_utf8' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { error_code: 'invalid_json', status: 400, key: 'api.http.invalid_json' },
  FST_ERR_CTP_BODY_TOO_LARGE: { error_code: 'body_too_large', status: 413, key: 'api.http.body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { error_code: 'unsupported_media_type', status: 415, key: 'api.http.media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { error_code: 'bad_content_length', status: 400, key: 'api.http.content_length' },
  FST_ERR_BAD_URL: { error_code: 'bad_url', status: 400, key: 'api.http.bad_url' },
  FST_ERR_MAX_PARAM_LENGTH: { error_code: 'bad_url', status: 414, key: 'api.http.param_too_long' },
};

/** An error envelope with its key: `error` in `locale`, `message_key` + `params` for clients that translate. */
export function errorBody(m: Msg, errorCode: ErrorCode, locale: Locale = DEFAULT_LOCALE) {
  return { success: false as const, error: msgText(m, locale), error_code: errorCode, message_key: m.key, ...(m.params ? { params: m.params } : {}) };
}

/** The envelope for a Fastify error a client caused; undefined for errors that are ours (500). */
export function frameworkErrorBody(
  err: { code?: string; statusCode?: number; message: string },
  locale: Locale = DEFAULT_LOCALE,
  /** The route's body limit, when it is not the default 1 MiB (the import route's). */
  bodyLimit = 1024 * 1024,
): { status: number; body: ReturnType<typeof errorBody> } | undefined {
  const known = err.code ? FRAMEWORK_ERRORS[err.code] : undefined;
  if (known) {
    const params = known.key === 'api.http.body_too_large' ? { mib: Math.round((bodyLimit / 1024 / 1024) * 10) / 10 } : undefined;
    return { status: known.status, body: errorBody(msg(known.key, params), known.error_code, locale) };
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    // A client error we have not named yet: keep the status, say it in both languages, never leak a stack.
    return { status: err.statusCode, body: errorBody(msg('api.http.bad_request', { detail: err.message }), 'bad_request', locale) };
  }
  return undefined;
}

/** A request the schema refused (Ajv's first error): which field, and why, by key. */
export function validationMsg(err: { message: string; validationContext?: string; validation?: readonly AjvError[] }): Msg {
  const v = err.validation?.[0];
  const where = `${err.validationContext ?? 'body'}${v?.instancePath ?? ''}`;
  const p = (v?.params ?? {}) as Record<string, unknown>;
  const limit = Number(p.limit);
  // A union of literals (`days=7|30|90`): Ajv reports each branch's `const`; say them all, as for an enum.
  const consts = v?.keyword === 'const' ? (err.validation ?? []).filter((e) => e.keyword === 'const' && e.instancePath === v.instancePath) : [];
  const detail: Msg | string = consts.length
    ? msg('api.validation.enum', { where, values: consts.map((e) => String((e.params as { allowedValue?: unknown }).allowedValue)).join(' | ') })
    : v?.keyword === 'additionalProperties'
      ? msg('api.validation.unknown_field', { where, field: String(p.additionalProperty) })
      : v?.keyword === 'enum'
        ? msg('api.validation.enum', { where, values: (p.allowedValues as unknown[]).join(' | ') })
        : v?.keyword === 'required'
          ? msg('api.validation.missing', { where, field: String(p.missingProperty) })
          : v?.keyword === 'type'
            ? msg('api.validation.type', { where, type: String(p.type) })
            : v?.keyword === 'format'
              ? msg('api.validation.format', { where, format: p.format === 'date' ? 'YYYY-MM-DD' : String(p.format) })
              : v?.keyword === 'pattern'
                ? msg('api.validation.pattern', { where })
                : v && v.keyword in LIMIT_KEYS
                  ? msg(LIMIT_KEYS[v.keyword]!, { where, limit })
                  : msg('api.validation.other', { where, detail: v?.message ?? err.message });
  return msg('api.validation.invalid', { detail });
}
const LIMIT_KEYS: Record<string, MessageKey> = {
  minLength: 'api.validation.min_length',
  maxLength: 'api.validation.max_length',
  minimum: 'api.validation.minimum',
  maximum: 'api.validation.maximum',
  minItems: 'api.validation.min_items',
  maxItems: 'api.validation.max_items',
};
type AjvError = { keyword: string; instancePath?: string; params?: unknown; message?: string };

/** Fastify's `frameworkErrors` option: bad URLs and over-long parameters, before any route runs. */
export function onFrameworkError(err: Error & { code?: string; statusCode?: number }, req: FastifyRequest, reply: FastifyReply): void {
  const locale = localeFromAcceptLanguage(req.headers['accept-language']);
  const known = frameworkErrorBody(err, locale) ?? { status: 500, body: errorBody(msg('api.http.internal'), 'internal', locale) };
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
  // No request was parsed, but the parser hands over the bytes it refused (`rawPacket`): an Accept-Language header
  // among them is honoured. A timeout (nothing to read), or a header past the bytes received, gets the seed's
  // language, with the key for clients that translate.
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  const locale = localeFromRawRequest(Buffer.isBuffer(raw) ? raw : undefined);
  const [status, text, body] = timeout
    ? [408, 'Request Timeout', errorBody(msg('api.http.request_timeout'), 'request_timeout', locale)]
    : tooLarge
      ? [431, 'Request Header Fields Too Large', errorBody(msg('api.http.headers_too_large'), 'bad_request', locale)]
      : [400, 'Bad Request', errorBody(msg('api.http.malformed'), 'bad_request', locale)];
  const json = JSON.stringify(body);
  socket.write(
    `HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`,
  );
  socket.destroy();
}

/** The language an unparsed request asked for: its Accept-Language line, if the bytes hold one (first 16 KiB). */
export function localeFromRawRequest(raw: Buffer | undefined): Locale {
  if (!raw) return DEFAULT_LOCALE;
  const head = raw.subarray(0, 16 * 1024).toString('latin1');
  return localeFromAcceptLanguage(/(?:^|\r?\n)accept-language:[ \t]*([^\r\n]*)/i.exec(head)?.[1]);
}

/**
 * `application/json` body parser: an empty (or whitespace-only) body is `{}`;
 * anything else goes to Fastify's own parser (prototype-poisoning safe).
 * Register with `parseAs: 'buffer'`: the bytes are decoded here, strictly.
 */
export function jsonBodyParser(defaultParser: ContentTypeParserFn) {
  return (req: FastifyRequest, raw: Buffer, done: (err: Error | null, value?: unknown) => void): void => {
    let body: string;
    try {
      // Strict: bytes that are not UTF-8 are refused, not replaced with U+FFFD (a name would be stored changed).
      body = UTF8.decode(raw);
    } catch {
      done(Object.assign(new Error('invalid UTF-8'), { code: 'WF_INVALID_UTF8', statusCode: 400 }));
      return;
    }
    if (body.trim() === '') done(null, {});
    // Fastify's default JSON parser answers through `done` (its type also allows a promise-returning parser).
    else void defaultParser(req, body, done);
  };
}
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
type ContentTypeParserFn = (req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => void | Promise<unknown>;
