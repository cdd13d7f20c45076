/**
 * Server-rendered pages. Thin like the API routes: read through the same
 * services, render an eta view, leave the rest to the page's client module
 * (which calls the JSON API). Every page declares `config.access`; a page
 * request without a session is redirected to /login, a refused one gets an
 * error page with the server's message (never a JSON body).
 */
import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../context.js';
import { AppError } from '../../lib/errors.js';
import { HTTP_STATUS } from '../envelope.js';
import { CSS_DIR, DIST_DIR, FROM_SOURCES, REPO_ROOT } from './assets.js';
import { msg, msgText, t } from '../../client/shared/i18n/index.js';
import { frameworkErrorBody, validationMsg } from '../framework-errors.js';
import { renderPage, requestLocale } from './render.js';
import { instancePages } from './instances.pages.js';
import { capacityPages } from './capacity.pages.js';
import { syncSessionPages } from './sync-sessions.pages.js';
import { settingsPages } from './settings.pages.js';
import { tablePages } from './tables.pages.js';

/**
 * Static files, one route per folder (no wildcard: every URL shape is listed).
 * Vendor files come straight from node_modules: no CDN, works offline.
 */
const STATIC: { url: string; root: string; file: RegExp; maxAgeMs: number }[] = [
  { url: '/static/app/:file', root: DIST_DIR, file: /^[\w.-]+\.js$/, maxAgeMs: 0 },
  { url: '/static/app/chunks/:file', root: path.join(DIST_DIR, 'chunks'), file: /^[\w.-]+\.js$/, maxAgeMs: 0 },
  { url: '/static/css/:file', root: CSS_DIR, file: /^[\w.-]+\.css$/, maxAgeMs: 0 },
  {
    url: '/static/vendor/bootstrap/:dir/:file',
    root: path.join(REPO_ROOT, 'node_modules', 'bootstrap', 'dist'),
    file: /^(css\/[\w.-]+\.css|js\/[\w.-]+\.js)$/,
    maxAgeMs: 86_400_000,
  },
  {
    url: '/static/vendor/fontawesome/:dir/:file',
    root: path.join(REPO_ROOT, 'node_modules', '@fortawesome', 'fontawesome-free'),
    file: /^(css\/[\w.-]+\.css|webfonts\/[\w.-]+\.woff2)$/,
    maxAgeMs: 86_400_000,
  },
];

const NEXT_BASE = 'http://whalefall.invalid';

/** The compiled server's bundle, or why the pages cannot load their scripts. */
async function bundlePresent(): Promise<void> {
  if (!fs.existsSync(path.join(DIST_DIR, 'built.json'))) throw new Error(`the client bundle is missing in ${DIST_DIR}: run \`npm run build\``);
}

/**
 * Only a path on this site may be a redirect target after login. Decided by the WHATWG URL parser — the one
 * browsers use — rather than by prefixes: browsers strip tabs and newlines and read `\\` as `/`, so
 * `/%09/evil.example` arrives as `/\t/evil.example` and a browser goes to `//evil.example`. Anything with a
 * control character or a backslash is refused outright; what is left must resolve to our own origin.
 */
export function safeNext(next: unknown): string {
  const fallback = '/instances';
  if (typeof next !== 'string' || !next.startsWith('/') || next.length > 2048) return fallback;
  if ([...next].some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\u007f' || ch === '\\')) return fallback;
  let url: URL;
  try {
    url = new URL(next, NEXT_BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== NEXT_BASE || !url.pathname.startsWith('/') || url.pathname.startsWith('//')) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * A browser asking for a page (GET/HEAD wanting HTML), as opposed to a script or an API client: a mistyped page URL
 * gets the HTML 404 page, while `/api/…` (and the seed's JSON routes, /metrics, /static) keep their JSON or text
 * answers whatever the Accept header says.
 */
export function isPageNavigation(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url;
  if (/^\/(api|static|database-sizes|metrics|docs)(\/|\?|$)/.test(url)) return false;
  return (req.headers.accept ?? '').includes('text/html');
}

/** The HTML 404 page in the user's language (the path is shown as text, escaped by the view). */
export function notFoundPage(req: FastifyRequest, reply: FastifyReply, timeZone: string) {
  const locale = requestLocale(req);
  const path = req.url.split('?')[0]!.slice(0, 200);
  return renderPage(
    req,
    reply,
    timeZone,
    'error',
    { title: t(locale, 'error.not_found'), status: 404, message: t(locale, 'error.page_not_found', { path }) },
    404,
  );
}

export const pageRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    // The compiled server only serves the bundle `npm run build` made (its install dir may be read-only); under tsx
    // (tests, development) a stale bundle is rebuilt in the background. The bundle's routes wait; a failure is logged
    // and answered 500 there.
    const built = FROM_SOURCES ? import('./build.js').then((b) => b.ensureClientBuilt()) : bundlePresent();
    built.catch((err) => ctx.logger.error({ err }, 'client bundle unavailable'));
    // On a fresh clone the bundle's directory does not exist until the build writes it, and @fastify/static
    // warns at registration that its root must exist (the first start printed a warning): create it first. A
    // read-only install dir has it already (the bundle ships built); failing here is left to the build's error.
    try {
      fs.mkdirSync(DIST_DIR, { recursive: true });
    } catch {
      /* reported by the build */
    }
    await app.register(fastifyStatic, { root: DIST_DIR, serve: false });
    const tz = ctx.config.timeZone;

    // Page errors: log in first, or an error page in the user's language with the server's message.
    app.setErrorHandler((err: FastifyError | AppError, req: FastifyRequest, reply: FastifyReply) => {
      if (req.url.startsWith('/static/')) {
        const status = err instanceof AppError ? HTTP_STATUS[err.kind] : (err.statusCode ?? 500);
        return reply.status(status).type('text/plain; charset=utf-8').send(err.message);
      }
      if (err instanceof AppError && err.kind === 'unauthorized') {
        return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 302);
      }
      // A path parameter the route refuses (/instances/abc, a session id that is no uuid) names no page: the 404 page.
      if (!(err instanceof AppError) && err.validation && err.validationContext === 'params') return notFoundPage(req, reply, tz);
      // The message in the page's language, by key; never the validator's own words.
      const locale = requestLocale(req);
      let status = 500;
      let title = t(locale, 'error.title');
      let message = msgText(msg('api.http.internal'), locale);
      if (err instanceof AppError) {
        status = HTTP_STATUS[err.kind];
        if (status === 403) title = t(locale, 'error.forbidden');
        if (status === 404) title = t(locale, 'error.not_found');
        message = err.msg ? msgText(err.msg, locale) : err.message;
      } else if (err.validation) {
        status = 400;
        message = msgText(validationMsg(err), locale);
      } else if (err.statusCode && err.statusCode < 500) {
        const framework = frameworkErrorBody(err, locale);
        status = framework?.status ?? err.statusCode;
        message = framework?.body.error ?? err.message;
      } else {
        req.log.error({ err }, 'page failed');
      }
      return renderPage(req, reply, tz, 'error', { title, status, message }, status);
    });

    const hidden = { hide: true } as const;

    for (const st of STATIC) {
      app.get(
        st.url,
        { config: { access: 'public' }, schema: { ...hidden, summary: 'Static file (client bundle, stylesheet, Bootstrap, Font Awesome)' } },
        async (req, reply) => {
          if (st.root.startsWith(DIST_DIR)) await built;
          const params = req.params as { dir?: string; file: string };
          const file = params.dir === undefined ? params.file : `${params.dir}/${params.file}`;
          if (!st.file.test(file) || file.includes('..') || !fs.existsSync(path.join(st.root, file)))
            throw new AppError('not_found', msg('api.file_not_found', { url: req.url }));
          // The app's own files change with the code: revalidate (ETag); vendor files only change with an upgrade.
          return reply.sendFile(file, st.root, { maxAge: st.maxAgeMs, cacheControl: true });
        },
      );
    }

    app.get('/', { config: { access: 'public' }, schema: { ...hidden, summary: 'Home: the instance list, or the login page' } }, async (req, reply) =>
      reply.redirect(req.principal ? '/instances' : '/login', 302),
    );

    app.get(
      '/login',
      {
        config: { access: 'public' },
        schema: { ...hidden, summary: 'Login page', querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 2000 })) }) },
      },
      async (req, reply) => {
        return renderPage(req, reply, tz, 'login', { title: t(requestLocale(req), 'login.title'), script: 'login', next: safeNext(req.query.next) });
      },
    );

    await app.register(instancePages(ctx));
    await app.register(capacityPages(ctx));
    await app.register(syncSessionPages(ctx));
    await app.register(settingsPages(ctx));
    await app.register(tablePages(ctx));
  };
