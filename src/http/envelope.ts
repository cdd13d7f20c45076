/** The seed's response envelope: `{success: true, data}` / `{success: false, error}`. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { ERROR_CODES, type AppErrorKind } from '../lib/errors.js';
import { DEFAULT_LOCALE, localeFromAcceptLanguage, msgText, type Locale, type Msg } from '../client/shared/i18n/index.js';
import { component, StringEnum } from './components.js';

/** Routes take StringEnum with the envelope helpers (it lives in components.ts, which the browser's types read). */
export { StringEnum };

/** The HTTP status of each kind of AppError (API envelope, pages and static files alike). */
export const HTTP_STATUS: Record<AppErrorKind, number> = {
  validation: 400,
  sync_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

/**
 * `{success: true, [message], data}`. A keyed message adds `message_key` and
 * `params` (the UI renders them in its own language) and its `message` is in
 * `locale` (`apiLocale(req)`: zh-CN, the seed's language, unless the request
 * prefers English).
 */
export function ok<T>(data: T, message?: string | Msg, locale: Locale = DEFAULT_LOCALE) {
  if (message === undefined) return { success: true as const, data };
  if (typeof message === 'string') return { success: true as const, message, data };
  return { success: true as const, message: msgText(message, locale), message_key: message.key, ...(message.params ? { params: message.params } : {}), data };
}

/** The language of the API's `message`/`error`: English only when Accept-Language prefers it. */
export function apiLocale(req: FastifyRequest): Locale {
  return localeFromAcceptLanguage(req.headers['accept-language']);
}

const OK_HEAD = Buffer.from('{"success":true,"data":');
const OK_TAIL = Buffer.from('}');

/**
 * `ok(data)` as UTF-8 JSON text, for data already serialised in pieces (`dataJson`, joined, must be valid JSON):
 * sent as a stream of those pieces with their total length, so a large answer is never copied into one buffer.
 */
export function okJson(reply: FastifyReply, dataJson: Buffer[]): FastifyReply {
  const parts = [OK_HEAD, ...dataJson, OK_TAIL];
  return reply
    .type('application/json; charset=utf-8')
    .header(
      'content-length',
      parts.reduce((n, b) => n + b.length, 0),
    )
    .send(Readable.from(parts, { objectMode: false }));
}

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

/** The fields every envelope may carry besides its payload: the message and its translation key. */
const messageFields = {
  message: Type.Optional(Type.String({ description: 'what happened, for people (Chinese, with the English in parentheses where given)' })),
  message_key: Type.Optional(Type.String({ description: 'the i18n key of `message`/`error`, for clients that translate it' })),
  params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the values the message was formatted with' })),
};

/** Every documented `error_code`, each with its meaning (`ERROR_CODES` in src/lib/errors.ts). */
export const ErrorCode = component(
  'ErrorCode',
  Type.Unsafe<string>({
    type: 'string',
    description: 'machine-readable reason; stable: clients branch on it',
    oneOf: Object.entries(ERROR_CODES).map(([code, meaning]) => ({ const: code, description: meaning })),
  }),
);

/**
 * `{success: false, error, error_code}`: every error answer. Open to further
 * fields: a failed sync adds `session_id`, a refused import its report in `data`,
 * a throttled login `retry_after_seconds`.
 */
export const ErrorEnvelope = component(
  'ErrorEnvelope',
  Type.Object(
    {
      success: Type.Literal(false),
      error: Type.String({ description: 'human-readable reason (Chinese, with the English in parentheses)' }),
      error_code: ErrorCode,
      message_key: messageFields.message_key,
      params: messageFields.params,
    },
    { additionalProperties: true },
  ),
);

/** `{success: true, data}`: the shape of every success answer (`data` is the operation's own schema). */
export const OkEnvelope = component(
  'OkEnvelope',
  Type.Object(
    { success: Type.Literal(true), ...messageFields, data: Type.Unknown({ description: "the operation's result" }) },
    { additionalProperties: false },
  ),
);

/** The success envelope around `data`: the OkEnvelope component, its `data` the operation's own schema. */
export function Ok<T extends TSchema>(data: T, description = 'OK') {
  return Type.Intersect([OkEnvelope, Type.Object({ data })], { 'x-response-description': description });
}

/** A document body (CSV, YAML, the Prometheus exposition, a PDF) in any of the given media types. */
export function Text(mediaTypes: string | readonly string[], description: string) {
  // Sent as a string, a Buffer or streamed: documented as a string.
  const schema = Type.Unsafe<string | Buffer | Readable>({ type: 'string' });
  return { description, content: Object.fromEntries([mediaTypes].flat().map((m) => [m, { schema }])) };
}

/** `Ok(data)` as JSON, or with `?format=csv` the same rows as CSV (src/lib/csv.ts). */
export function OkOrCsv<T extends TSchema>(data: T, description = 'JSON; with format=csv, the CSV (UTF-8 BOM)') {
  return { description, content: { 'application/json': { schema: Ok(data) }, 'text/csv': { schema: Type.String() } } };
}

/**
 * `Ok(data)` for a route that sends the envelope already serialised (`okJson`): the same document, and a
 * static type that also admits the Buffer. The compiler cannot check those bytes: the API test validates them.
 */
export function OkJson<T extends TSchema>(data: T, description = 'OK') {
  const schema = Ok(data, description);
  return Type.Unsafe<Static<typeof schema> | Buffer>(schema);
}
