import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import type { Context } from '../../context.js';

export const healthRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/healthz', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Liveness: the process answers' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Readiness: the store is reachable' } }, async (_req, reply) => {
    try {
      await sql`SELECT 1`.execute(ctx.store.db);
      return { status: 'ready', store: ctx.store.dialect };
    } catch {
      return reply.status(503).send({ status: 'unavailable', store: ctx.store.dialect });
    }
  });
};
