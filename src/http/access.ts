/**
 * Who may call what. Every route declares `config.access`: 'public' or the
 * least role it needs. A route without one is refused at registration
 * (see app.ts), so a new route cannot ship without a rule.
 *
 * Cookie sessions must echo the session's CSRF token in `X-CSRFToken` on
 * writes; bearer tokens need not (a browser never sends them by itself).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';
import { roleAtLeast, type Principal, type Role } from '../services/auth.service.js';
import type { Actor } from '../services/audit.service.js';
import { msg } from '../client/shared/i18n/index.js';

export type Access = 'public' | Role;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyInstance {
    /** Every route as registered, with its access rule: the route table tests are generated from. */
    routeTable: RouteRule[];
  }
}

export interface RouteRule {
  method: string;
  url: string;
  access: Access | undefined;
}

export const SESSION_COOKIE = 'wf_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function checkAccess(req: FastifyRequest, _reply: FastifyReply, access: Access): void {
  if (access === 'public') return;
  const p = req.principal;
  if (!p) throw new AppError('unauthorized', msg('api.auth.required'));
  if (p.via === 'session' && !SAFE_METHODS.has(req.method)) {
    const header = req.headers['x-csrftoken'];
    if (typeof header !== 'string' || header !== p.csrfToken) {
      throw new AppError('forbidden', msg('api.auth.csrf'));
    }
  }
  if (!roleAtLeast(p.role, access)) throw new AppError('forbidden', msg('api.auth.role', { role: access }));
}

export function actorOf(req: FastifyRequest): Actor {
  return { userId: req.principal?.id ?? null, username: req.principal?.username ?? null, sourceIp: clientIp(req) };
}

/** The longest address the store keeps (`source_ip`, varchar(64)); an IPv6 address with its zone fits. */
const IP_MAX = 64;

/**
 * The client's address as the audit log and the sessions keep it. Behind `trust_proxy`, it is what the trusted hops
 * say in `X-Forwarded-For`, unchecked: a list that trusts the clients' own network lets a client write anything there.
 * Cut to what the store keeps, so such a value cannot fail the login's audit write (a 500 on a PostgreSQL store, and
 * no failure counted against the login delays).
 */
export function clientIp(req: FastifyRequest): string {
  return req.ip.length <= IP_MAX ? req.ip : req.ip.slice(0, IP_MAX);
}
