/**
 * The OpenAPI 3.1 document served at /docs/json (@fastify/swagger):
 * `swaggerOptions()` gives its info, license, servers, tags and components;
 * `documentErrors` is an onRoute hook (register it in buildApp BEFORE the
 * route plugins) that adds the ErrorEnvelope for the error statuses a route
 * can give, when the route does not already declare them.
 *
 * Success answers are documented by each route's own `response` (the 2xx
 * schemas in src/http/api/*.schemas.ts). They never alter what is sent:
 * buildApp serialises every reply with JSON.stringify, so no field is
 * stripped (Fastify's schema serializer would drop every field a schema does
 * not list) and error bodies keep their extra fields (`session_id` of a
 * failed sync…).
 */
import type { RouteOptions } from 'fastify';
import { componentSchemas } from './components.js';
import { ErrorEnvelope } from './envelope.js';
import { SESSION_COOKIE } from './access.js';

/** Every tag an operation may carry, in the order the document lists them. */
export const TAGS: Record<string, string> = {
  auth: 'Log in and out, the caller, API tokens',
  users: 'Users and the audit log (admin)',
  credentials: 'Stored connection credentials (admin; passwords write-only)',
  instances: 'The registry of monitored database instances, their databases and history',
  fleet: 'Bulk onboarding: import, export, connection tests, discovery',
  sync: 'Capacity sync: batch runs and their sessions',
  seed: "The original service's paths, kept byte-compatible",
  statistics: 'Estate statistics, series, forecasts, runway',
  reports: 'The monthly capacity report (HTML, CSV, PDF)',
  tables: 'Table-level sizes',
  composition: "Where an instance's bytes went",
  alerts: 'Alert events and their deliveries',
  'alert-rules': 'Alert rules and their channels',
  settings: 'Schedules, timeouts, retention (admin)',
  export: 'CSV exports of the raw history',
  metrics: 'Prometheus exposition',
  health: 'Liveness and readiness probes',
};

/** @fastify/swagger's options: an OpenAPI 3.1 document. `version` is the package's. */
export function swaggerOptions(version: string) {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Whalefall API',
        version,
        description:
          '鲸落 database capacity service. Every answer is the envelope `{success: true, data}` or `{success: false, error, error_code}` ' +
          '(components OkEnvelope, ErrorEnvelope, ErrorCode). Authenticate with `Authorization: Bearer <token>`, or the session cookie plus the `X-CSRFToken` header on writes.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: '/', description: 'this Whalefall service (the origin serving /docs)' }],
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          bearer: {
            type: 'http' as const,
            scheme: 'bearer',
            description: 'an API token (`whalefall tokens create`, or POST /api/tokens from a browser session)',
          },
          cookie: {
            type: 'apiKey' as const,
            in: 'cookie' as const,
            name: SESSION_COOKIE,
            description: 'the session cookie set by POST /api/auth/login; writes also need the X-CSRFToken header',
          },
        },
        schemas: componentSchemas(),
      },
      security: [{ bearer: [] }, { cookie: [] }] as Record<string, string[]>[],
    },
  };
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (validation) or the operation failed (e.g. sync_failed)',
  401: 'Not authenticated, or invalid/expired/revoked bearer token',
  403: 'Authenticated but the role is insufficient, or missing X-CSRFToken on a cookie write',
  404: 'Not found',
  409: 'Conflict (duplicate name, instance already syncing, …)',
  413: 'The body is too large (body_too_large)',
  415: 'No parser for the Content-Type (unsupported_media_type)',
  429: 'Too many requests, or no connection slot to the monitored instance came free (rate_limited, login_throttled, connection_cap)',
  500: 'Internal error (details in the service log)',
};

/** A body or query field naming objects by id or name (`instance_id`, `ids`, `names`…): an unknown one is a 404. */
const NAMES_OBJECTS = /(^|_)ids?$|^names$/;

function namesObjects(schema: unknown): boolean {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props !== undefined && Object.keys(props).some((k) => NAMES_OBJECTS.test(k));
}

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function err(status: number) {
  return { ...ErrorEnvelope, 'x-response-description': DESCRIPTIONS[status] };
}

/**
 * The error statuses a route can answer, from its access rule, method, URL and request schema: every route 400 and
 * 500; a non-public one 401 and 403 (a public write, the login, 401); one naming objects (a `:param`, or ids or names in its body or query) 404; a
 * write 409, 413, 415 and 429 (a throttled login, a connection cap, a rate limit). A route declares any other status
 * itself (the PDF report's 503).
 */
export function errorStatuses(route: Pick<RouteOptions, 'method' | 'url' | 'config'> & { schema?: unknown }): number[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const access = (route.config as { access?: string } | undefined)?.access;
  const schema = route.schema as { body?: unknown; querystring?: unknown } | undefined;
  const write = methods.some((m) => WRITE.has(m));
  const out = [400];
  // A public write is the login: a wrong password is its 401.
  if (access !== 'public') out.push(401, 403);
  else if (write) out.push(401);
  if (route.url.includes(':') || namesObjects(schema?.body) || namesObjects(schema?.querystring)) out.push(404);
  if (write) out.push(409, 413, 415, 429);
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
