/**
 * buildApp(ctx): the Fastify factory used by `serve` and by tests.
 * Routes stay thin (validate → service → reply); this file wires plugins,
 * authentication, the access rule of every route and the error envelope.
 */
import Fastify, { type FastifyError } from 'fastify';
import { AjvCompiler } from '@fastify/ajv-compiler';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Context } from '../context.js';
import { AppError } from '../lib/errors.js';
import { checkAccess, SESSION_COOKIE, type RouteRule } from './access.js';
import { documentErrors, swaggerOptions } from './openapi.js';
import { closeQueries } from './closed-queries.js';
import { documentOnlyResponses } from './serializer.js';
import { VERSION } from '../services/processes.service.js';
import { apiLocale, HTTP_STATUS } from './envelope.js';
import { msg } from '../client/shared/i18n/index.js';
import { errorBody, frameworkErrorBody, jsonBodyParser, onClientError, onFrameworkError, validationMsg } from './framework-errors.js';
import { exportRoutes } from './api/export.routes.js';
import { metricsRoutes } from './api/metrics.routes.js';
import { statisticsRoutes } from './api/statistics.routes.js';
import { reportsRoutes } from './api/reports.routes.js';
import { alertsRoutes } from './api/alerts.routes.js';
import { authRoutes } from './api/auth.routes.js';
import { credentialsRoutes } from './api/credentials.routes.js';
import { healthRoutes } from './api/health.routes.js';
import { instancesRoutes } from './api/instances.routes.js';
import { seedRoutes } from './api/seed.routes.js';
import { settingsRoutes } from './api/settings.routes.js';
import { syncRoutes } from './api/sync.routes.js';
import { usersRoutes } from './api/users.routes.js';
import { isPageNavigation, notFoundPage, pageRoutes } from './pages/pages.routes.js';
import { fleetRoutes } from './api/fleet.routes.js';
import { tablesRoutes } from './api/tables.routes.js';
import { compositionRoutes } from './api/composition.routes.js';

const AJV_OPTIONS = { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } as const;

export async function buildApp(ctx: Context) {
  const app = Fastify({
    loggerInstance: ctx.logger,
    trustProxy: ctx.config.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    // A client that sends a body byte a minute must not hold a socket forever (Fastify's defaults are 0: none).
    requestTimeout: ctx.config.httpRequestTimeoutMs,
    connectionTimeout: ctx.config.httpConnectionTimeoutMs,
    keepAliveTimeout: ctx.config.httpKeepAliveTimeoutMs,
    maxRequestsPerSocket: ctx.config.httpMaxRequestsPerSocket,
    // Node checks request deadlines only every connectionsCheckingInterval (30 s by default): check often enough
    // that a 30 s limit means about 30 s, and make the headers deadline no longer than the whole request's.
    http:
      ctx.config.httpRequestTimeoutMs > 0
        ? {
            connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(ctx.config.httpRequestTimeoutMs / 4))),
            headersTimeout: Math.min(60_000, ctx.config.httpRequestTimeoutMs),
          }
        : {},
    // Bad URLs and malformed requests are answered in the envelope too (framework-errors.ts).
    frameworkErrors: onFrameworkError,
    clientErrorHandler: onClientError,
    ajv: { customOptions: AJV_OPTIONS },
    schemaController: {
      compilersFactory: {
        // Query strings and path params are text: coerce them. JSON bodies are typed: never coerce.
        buildValidator(externalSchemas, ajvOptions) {
          const coercing = AjvCompiler()(externalSchemas, ajvOptions ?? { customOptions: AJV_OPTIONS });
          const strict = AjvCompiler()(externalSchemas, { customOptions: { ...AJV_OPTIONS, coerceTypes: false } });
          return (route) => (route.httpPart === 'body' ? strict(route) : coercing(route));
        },
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The original front end posts `Content-Type: application/json` with no body: that is `{}`.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, jsonBodyParser(app.getDefaultJsonParser('error', 'error')));

  // Every route must say who may call it. The /docs routes (@fastify/swagger-ui: the pages and the OpenAPI document,
  // no data) are public: they are given the rule here, as the plugin cannot declare one.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, access: 'public' };
    if (route.config?.access === undefined) {
      throw new Error(`route ${[route.method].flat().join(',')} ${route.url} has no access rule (config.access)`);
    }
  });

  app.addHook('onRoute', documentErrors);
  app.addHook('onRoute', closeQueries);
  // Response schemas document the API (openapi.ts); they never shape what is sent.
  documentOnlyResponses(app);

  // The route table (method, url, access) for tests and tools; HEAD mirrors included.
  const routeTable: RouteRule[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, access: route.config?.access });
  });

  // Set before any plugin registers routes (swagger-ui's /docs among them), so that every route answers errors in the envelope.
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      const retry = err.extra?.retry_after_seconds;
      if (typeof retry === 'number') void reply.header('retry-after', String(Math.max(1, Math.ceil(retry))));
      const body = err.msg
        ? errorBody(err.msg, err.code ?? err.kind, apiLocale(req))
        : { success: false, error: err.message, error_code: err.code ?? err.kind };
      return reply.status(HTTP_STATUS[err.kind]).send({ ...body, ...err.extra });
    }
    const fe = err;
    const locale = apiLocale(req);
    if (fe.validation) return reply.status(400).send(errorBody(validationMsg(fe), 'validation', locale));
    const framework = frameworkErrorBody(fe, locale, req.routeOptions.bodyLimit);
    if (framework) return reply.status(framework.status).send(framework.body);
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorBody(msg('api.http.internal'), 'internal', locale));
  });
  await app.register(cookie);
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, c) => new AppError('rate_limited', msg('api.http.rate_limited', { seconds: Math.ceil(c.ttl / 1000) })),
  });
  await app.register(swagger, swaggerOptions(VERSION));
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list' },
    staticCSP: true,
    // swagger-ui's own CSP allows framing by the same origin: no page of Whalefall may be framed.
    transformStaticCSP: (header) => header.replace(/frame-ancestors [^;]*/, "frame-ancestors 'none'"),
  });

  // Who is calling: a bearer token, else the session cookie.
  app.addHook('onRequest', async (req) => {
    const auth = req.headers.authorization;
    // /metrics has its own token (WHALEFALL_METRICS_TOKEN), checked by its route.
    if (auth?.startsWith('Bearer ') && req.routeOptions.url !== '/metrics') {
      req.principal = await ctx.auth.fromBearer(auth.slice(7).trim());
      // A public route answers the same whatever a client or a proxy attaches: a bad token there is no caller, as an
      // expired session cookie is (a probe forwarding a stale header must not see the service down).
      if (!req.principal && req.routeOptions.config?.access !== 'public') throw new AppError('unauthorized', msg('api.auth.bad_token'));
      return;
    }
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) req.principal = await ctx.auth.fromSessionCookie(sid);
  });
  // Decide access before the body is parsed or validated; unknown routes fall through to the 404 handler.
  app.addHook('onRequest', async (req, reply) => {
    if (req.is404) return;
    const access = req.routeOptions.config?.access;
    if (access) checkAccess(req, reply, access);
    else throw new AppError('forbidden', msg('api.auth.no_rule'));
  });

  app.setNotFoundHandler((req, reply) => {
    // A mistyped page URL in a browser: the HTML page, not raw JSON. API clients (and /api/… in a browser) keep JSON.
    if (isPageNavigation(req)) return notFoundPage(req, reply, ctx.config.timeZone);
    return reply.status(404).send(errorBody(msg('api.route_not_found', { method: req.method, path: req.url.split('?')[0]! }), 'not_found', apiLocale(req)));
  });

  await app.register(healthRoutes(ctx));
  await app.register(authRoutes(ctx));
  await app.register(usersRoutes(ctx));
  await app.register(credentialsRoutes(ctx));
  await app.register(instancesRoutes(ctx));
  await app.register(syncRoutes(ctx));
  await app.register(seedRoutes(ctx));
  await app.register(settingsRoutes(ctx));
  await app.register(metricsRoutes(ctx));
  await app.register(exportRoutes(ctx));
  await app.register(statisticsRoutes(ctx));
  await app.register(reportsRoutes(ctx));
  await app.register(alertsRoutes(ctx));
  await app.register(pageRoutes(ctx));
  await app.register(fleetRoutes(ctx));
  await app.register(tablesRoutes(ctx));
  await app.register(compositionRoutes(ctx));
  return app;
}
