/**
 * OpenAPI components: named response schemas, written once in TypeBox and
 * referenced from the routes.
 *
 * `component(name, schema)` records the schema under `#/components/schemas/<name>`
 * (the served document's components, see openapi.ts) and returns a `$ref` whose
 * static type is the schema's, so a route's `response` both documents the
 * shape and lets the TypeBox type provider check, at compile time, that the
 * handler returns it. Response schemas never serialise anything (serializer.ts
 * replaces the serializer with JSON.stringify): they are documentation that
 * the compiler and test/api/openapi-clients.test.ts hold to the truth.
 *
 * The schema modules (src/http/api/*.schemas.ts) register their components
 * when imported; a name registered twice with different schemas throws.
 *
 * The browser reads the schemas as types (src/client/shared/api-types.ts), so
 * this module and the schema modules import only TypeBox, src/domain/ and each
 * other: no Fastify, no Node, no services (`npm run typecheck` checks the
 * browser program without Node's types; scripts/check-cycles.ts keeps the line).
 */
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

const registry = new Map<string, TSchema>();

/** Register `schema` as `#/components/schemas/<name>`; returns a typed reference to it. */
export function component<T extends TSchema>(name: string, schema: T): TUnsafe<Static<T>> {
  const known = registry.get(name);
  if (known && known !== schema) throw new Error(`OpenAPI component ${name} registered twice`);
  registry.set(name, schema);
  return Type.Unsafe<Static<T>>({ $ref: `#/components/schemas/${name}` });
}

/** Every registered component, for the document's `components.schemas`. */
export function componentSchemas(): Record<string, TSchema> {
  return Object.fromEntries(registry);
}

/** A value or null (JSON Schema 2020-12: `anyOf` with `type: null`). */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** An object whose every field is listed: the document says so with `additionalProperties: false`. */
export const Closed = <P extends Parameters<typeof Type.Object>[0]>(properties: P, description?: string) =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });

/** A string that must be one of `values`: one `enum` keyword, so a wrong value gets one clear message. */
export function StringEnum<T extends string>(values: readonly T[]): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values] });
}

/** A message by key, for clients that render it in their own language. */
export const KeyedMsg = Type.Object({ key: Type.String(), params: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });
