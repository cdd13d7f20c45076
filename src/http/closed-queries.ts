/**
 * Unknown query parameters are refused on every API route (`validation`, "unknown field"), as api.md says: a filter
 * the route does not have (`/api/audit?user_id=2`) must not answer as if it had applied it. Most routes closed their
 * querystring schema themselves; the others (no schema, or one without `additionalProperties: false`) let any
 * parameter through silently. `closeQueries` is an onRoute hook (registered in buildApp before the route plugins):
 * under /api it closes each route's querystring, or gives a route without one an empty closed schema. The seed's
 * paths are left as they were (the original front end's requests pass unchanged), and so are the probes and /metrics.
 */
import type { RouteOptions } from 'fastify';

export function closeQueries(route: RouteOptions): void {
  if (!route.url.startsWith('/api/')) return;
  const schema = (route.schema ??= {});
  const q = schema.querystring as { type?: string; additionalProperties?: unknown } | undefined;
  if (q === undefined) schema.querystring = { type: 'object', properties: {}, additionalProperties: false };
  else if (q.type === 'object' && q.additionalProperties === undefined) schema.querystring = { ...q, additionalProperties: false };
}
