/**
 * How replies with a response schema are serialised: as without one
 * (JSON.stringify). The schemas are documentation (components.ts).
 */

/**
 * Make response schemas documentation only on `app`: replies are JSON.stringify'd as without a schema.
 * Fastify's schema serializer would drop every field a schema does not list, and cannot resolve the
 * components' `$ref`s outside the served document. Every Fastify instance that registers routes with
 * response schemas calls this (buildApp; the worker's health and metrics port).
 *
 * The body leaves as UTF-8 bytes, encoded here once: JSON.stringify's result for a large body is a string of
 * joined parts, which Fastify's Content-Length (Buffer.byteLength) flattens into a copy and the socket write
 * encodes into another — on the instances page (33 KB) ~30 KB less allocated per request (issue #22 item 4).
 */
export function documentOnlyResponses(app: { setSerializerCompiler(compiler: () => (data: unknown) => string): unknown }): void {
  // Fastify takes a Buffer wherever it takes a string payload; its serializer type only names the string.
  app.setSerializerCompiler(() => (data) => Buffer.from(JSON.stringify(data)) as unknown as string);
}
