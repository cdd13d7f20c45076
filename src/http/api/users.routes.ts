import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { actorOf } from '../access.js';
import { apiLocale, IdParams, Ok, ok } from '../envelope.js';
import { AuditEntry, CreateUserBody, Unlocked, UpdateUserBody, User } from './auth.schemas.js';
import { msg } from '../../client/shared/i18n/index.js';

export const usersRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/api/users',
      { config: { access: 'admin' }, schema: { tags: ['users'], operationId: 'listUsers', summary: 'List users', response: { 200: Ok(Type.Array(User)) } } },
      async () => ok(await ctx.auth.listUsers()),
    );
    app.post(
      '/api/users',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['users'],
          operationId: 'createUser',
          response: { 201: Ok(User, 'Created') },
          summary: 'Create a user',
          body: CreateUserBody,
        },
      },
      async (req, reply) => reply.status(201).send(ok(await ctx.auth.createUser(req.body, actorOf(req)))),
    );
    app.patch(
      '/api/users/:id',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['users'],
          operationId: 'updateUser',
          response: { 200: Ok(User) },
          summary: "Change a user's role, state, locale or password",
          params: IdParams,
          body: UpdateUserBody,
        },
      },
      async (req) => ok(await ctx.auth.updateUser(req.params.id, req.body, actorOf(req))),
    );
    app.post(
      '/api/users/:id/unlock',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['users'],
          operationId: 'unlockUser',
          summary: 'Lift the login delays failed logins put on a user (every client address); sessions are never touched',
          params: IdParams,
          response: { 200: Ok(Unlocked) },
        },
      },
      async (req) => ok(await ctx.auth.unlockUser(req.params.id, actorOf(req)), msg('api.user_unlocked'), apiLocale(req)),
    );
    app.get(
      '/api/audit',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['users'],
          operationId: 'listAudit',
          response: { 200: Ok(Type.Array(AuditEntry)) },
          summary: 'Audit log, newest first',
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), offset: Type.Optional(Type.Integer({ minimum: 0 })) }),
        },
      },
      async (req) => ok(await ctx.audit.list(req.query.limit ?? 100, req.query.offset ?? 0)),
    );
  };
