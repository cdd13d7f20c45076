/**
 * OpenAPI: every route documents its error answers. `documentErrors` is an
 * onRoute hook (register it in buildApp BEFORE the route plugins) that adds
 * the envelope `{success:false, error, error_code}` for the error statuses a
 * route can give, when the route does not already declare them.
 *
 * Only error statuses are added, never a 2xx: Fastify serializes replies with
 * the response schema of their status, and a 200 schema would strip every
 * field it does not list from success bodies. The error schema itself allows
 * additional properties, so extra envelope fields (e.g. `session_id` of a
 * failed sync) pass through intact.
 */
import type { RouteOptions } from 'fastify';

export const ErrorEnvelope = {
  type: 'object',
  required: ['success', 'error', 'error_code'],
  properties: {
    success: { type: 'boolean', enum: [false] },
    error: { type: 'string', description: 'human-readable reason (Chinese, with English in parentheses)' },
    error_code: { type: 'string', description: 'machine-readable code: validation, not_found, conflict, unauthorized, forbidden, a sync error class…' },
  },
  additionalProperties: true,
} as const;

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (validation) or the operation failed (e.g. sync_failed)',
  401: 'Not authenticated, or invalid/expired/revoked bearer token',
  403: 'Authenticated but the role is insufficient, or missing X-CSRFToken on a cookie write',
  404: 'Not found',
  409: 'Conflict (duplicate name, instance already syncing, …)',
  500: 'Internal error (details in the service log)',
};

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function err(status: number) {
  return { ...ErrorEnvelope, description: DESCRIPTIONS[status] };
}

/** The error statuses a route can answer, from its access rule, method and URL. */
export function errorStatuses(route: Pick<RouteOptions, 'method' | 'url' | 'config'>): number[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const access = (route.config as { access?: string } | undefined)?.access;
  const out = [400];
  if (access !== 'public') out.push(401, 403);
  if (route.url.includes(':')) out.push(404);
  if (methods.some((m) => WRITE.has(m))) out.push(409);
  out.push(500);
  return out;
}

export function documentErrors(route: RouteOptions): void {
  // swagger-ui's own routes carry no access rule and serve static documentation.
  if (route.url.startsWith('/docs') || !route.config || !('access' in route.config)) return;
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const response = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
  for (const status of errorStatuses(route)) {
    if (!(String(status) in response) && !(status in response)) response[String(status)] = err(status);
  }
  route.schema = { ...schema, response };
}
