import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { actorOf, clientIp, SESSION_COOKIE } from '../access.js';
import { AppError } from '../../lib/errors.js';
import { apiLocale, IdParams, Ok, ok } from '../envelope.js';
import { CreateTokenBody, Login, LoginBody, Me, MyPreferences, MyPreferencesBody, Token, TokenCreated } from './auth.schemas.js';
import { msg } from '../../client/shared/i18n/index.js';

export const authRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/api/auth/login',
      {
        config: { access: 'public', rateLimit: { max: ctx.config.loginRateLimit, timeWindow: '1 minute' } },
        schema: {
          tags: ['auth'],
          operationId: 'login',
          security: [],
          response: { 200: Ok(Login, 'Logged in: the wf_session cookie is set') },
          summary: 'Log in; sets the session cookie and returns the CSRF token',
          body: LoginBody,
        },
      },
      async (req, reply) => {
        const r = await ctx.auth.login(req.body.username, req.body.password, clientIp(req));
        reply.setCookie(SESSION_COOKIE, r.token, {
          path: '/',
          httpOnly: true,
          sameSite: 'lax',
          secure: ctx.config.cookieSecure,
          expires: r.expiresAt,
        });
        return ok({ user: r.user, csrf_token: r.csrfToken, expires_at: r.expiresAt.toISOString() });
      },
    );

    app.post(
      '/api/auth/logout',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['auth'],
          operationId: 'logout',
          summary: 'End the cookie session (with a bearer token: 400 not_a_session; revoke a token with DELETE /api/tokens/:id)',
          response: { 200: Ok(Type.Null(), 'Logged out') },
        },
      },
      async (req, reply) => {
        await ctx.auth.logout(req.principal!, clientIp(req));
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return ok(null, msg('api.logged_out'), apiLocale(req));
      },
    );

    app.get(
      '/api/auth/me',
      {
        config: { access: 'viewer' },
        schema: { tags: ['auth'], operationId: 'getMe', summary: "The caller's user, role and CSRF token", response: { 200: Ok(Me) } },
      },
      async (req) => {
        const p = req.principal!;
        return ok({ id: p.id, username: p.username, role: p.role, locale: p.locale, via: p.via, csrf_token: p.csrfToken ?? null });
      },
    );

    app.patch(
      '/api/auth/me',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['auth'],
          operationId: 'updateMe',
          response: { 200: Ok(MyPreferences) },
          summary: "Change the caller's own preferences (the UI language, remembered per user)",
          body: MyPreferencesBody,
        },
      },
      async (req) => {
        const u = await ctx.auth.updateUser(req.principal!.id, { locale: req.body.locale }, actorOf(req));
        return ok({ id: u.id, username: u.username, role: u.role, locale: u.locale });
      },
    );

    // API tokens: anyone logged in manages their own; admins see everyone's.
    app.post(
      '/api/tokens',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['auth'],
          operationId: 'createToken',
          response: { 201: Ok(TokenCreated, 'Created: data.token is shown this once') },
          summary: 'Create a bearer token for scripts (shown once in data.token); from a logged-in browser session only, never with a token',
          description: `Without expires_in_days the token expires after ${ctx.config.tokenDefaultDays} days (WHALEFALL_TOKEN_DEFAULT_DAYS); expires_in_days: null (never) is for admins only.`,
          body: CreateTokenBody,
        },
      },
      async (req, reply) => {
        const p = req.principal!;
        if (p.via !== 'session') throw new AppError('forbidden', msg('api.auth.token_from_token'), 'token_from_token');
        const t = await ctx.auth.createToken(p.id, req.body, actorOf(req), { mayNeverExpire: p.role === 'admin' });
        return reply.status(201).send(ok(t, msg('api.token_created'), apiLocale(req)));
      },
    );
    app.get(
      '/api/tokens',
      {
        config: { access: 'viewer' },
        schema: { tags: ['auth'], operationId: 'listTokens', summary: 'List API tokens (own; admin: all)', response: { 200: Ok(Type.Array(Token)) } },
      },
      async (req) => {
        const p = req.principal!;
        return ok(await ctx.auth.listTokens(p.role === 'admin' ? undefined : p.id));
      },
    );
    app.delete(
      '/api/tokens/:id',
      {
        config: { access: 'viewer' },
        schema: { tags: ['auth'], operationId: 'revokeToken', summary: 'Revoke an API token', params: IdParams, response: { 200: Ok(Type.Null(), 'Revoked') } },
      },
      async (req) => {
        const p = req.principal!;
        await ctx.auth.revokeToken(req.params.id, actorOf(req), p.role === 'admin' ? undefined : p.id);
        return ok(null, msg('api.token_revoked'), apiLocale(req));
      },
    );
  };
