import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { actorOf } from '../access.js';
import { apiLocale, IdParams, Ok, ok } from '../envelope.js';
import { CreateCredentialBody, Credential, UpdateCredentialBody } from './auth.schemas.js';
import { msg } from '../../client/shared/i18n/index.js';

export const credentialsRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const base = { tags: ['credentials'] };
    app.get(
      '/api/credentials',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'listCredentials',
          summary: 'List credentials (password never returned)',
          response: { 200: Ok(Type.Array(Credential)) },
        },
      },
      async () => ok(await ctx.credentials.list()),
    );
    app.post(
      '/api/credentials',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'createCredential',
          response: { 201: Ok(Credential, 'Created') },
          summary: 'Create a credential (password write-only)',
          body: CreateCredentialBody,
        },
      },
      async (req, reply) => reply.status(201).send(ok(await ctx.credentials.create(req.body, actorOf(req)))),
    );
    app.get(
      '/api/credentials/:id',
      {
        config: { access: 'admin' },
        schema: { ...base, operationId: 'getCredential', summary: 'One credential', params: IdParams, response: { 200: Ok(Credential) } },
      },
      async (req) => ok(await ctx.credentials.get(req.params.id)),
    );
    app.patch(
      '/api/credentials/:id',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'updateCredential',
          response: { 200: Ok(Credential) },
          summary: 'Update a credential',
          params: IdParams,
          body: UpdateCredentialBody,
        },
      },
      async (req) => ok(await ctx.credentials.update(req.params.id, req.body, actorOf(req))),
    );
    app.delete(
      '/api/credentials/:id',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'deleteCredential',
          summary: 'Delete a credential no instance uses',
          params: IdParams,
          response: { 200: Ok(Type.Null(), 'Deleted') },
        },
      },
      async (req) => {
        await ctx.credentials.delete(req.params.id, actorOf(req));
        return ok(null, msg('api.credential_deleted'), apiLocale(req));
      },
    );
  };
