/**
 * Rendering a page: one Eta instance over src/http/pages/views, and the values every
 * view gets in `it` (the caller, the locale, `t`, the formatters, the client
 * module to load). Views escape every `<%= %>` (autoEscape); `<%~ %>` is used
 * only for the layout body and for JSON built by `json()` below.
 */
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { roleAtLeast, type Role } from '../../services/auth.service.js';
import { formatters } from '../../client/shared/format.js';
import { pickLocale, t, type Locale, type Params } from '../../client/shared/i18n/index.js';
import { NAV, NAV_EXPAND } from './nav.js';
import { VIEWS_DIR } from './assets.js';

const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: process.env.NODE_ENV === 'production', autoTrim: [false, 'nl'] });

/** The cookie that remembers the language before login (and after logout). */
export const LANG_COOKIE = 'wf_lang';

export function requestLocale(req: FastifyRequest): Locale {
  return pickLocale(req.principal?.locale, req.cookies[LANG_COOKIE]);
}

export interface PageOptions {
  /** Browser title (already translated). */
  title: string;
  /** Navbar item to highlight. */
  nav?: string;
  /** The client entry to load: src/client/<script>.page.ts. */
  script?: string;
  /** Extra values for the view. */
  [key: string]: unknown;
}

export function pageContext(req: FastifyRequest, timeZone: string, opts: PageOptions) {
  const locale = requestLocale(req);
  const p = req.principal;
  return {
    ...opts,
    locale,
    timeZone,
    user: p ? { id: p.id, username: p.username, role: p.role } : null,
    csrf: p?.csrfToken ?? '',
    t: (key: string, params?: Params) => t(locale, key, params),
    can: (role: Role) => !!p && roleAtLeast(p.role, role),
    navItems: () => (p ? NAV.filter((n) => roleAtLeast(p.role, n.role)) : []),
    /** The breakpoint from which the navbar is one row (nav.ts). */
    navExpand: NAV_EXPAND[locale],
    fmt: formatters(locale, timeZone),
    /** JSON safe inside a <script type="application/json"> block. */
    json: (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026'),
  };
}

export function renderPage(req: FastifyRequest, reply: FastifyReply, timeZone: string, view: string, opts: PageOptions, status = 200) {
  const html = eta.render(view, pageContext(req, timeZone, opts));
  return reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
}
