import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import type { Context } from '../../context.js';
import { migrationState } from '../../store/migrations/index.js';

export const healthRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/healthz', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Liveness: the process answers' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Readiness: the store is reachable and its schema is this version’s (no migration pending)' } }, async (_req, reply) => {
    try {
      await sql`SELECT 1`.execute(ctx.store.db);
    } catch {
      return reply.status(503).send({ status: 'unavailable', store: ctx.store.dialect, reason: 'store unreachable' });
    }
    try {
      const m = await migrationState(ctx.store.db);
      if (m.pending.length || m.unknown.length) {
        const reason = m.pending.length ? `migrations pending: ${m.pending.join(', ')}` : `store is newer than this version: ${m.unknown.join(', ')}`;
        return reply.status(503).send({ status: 'unavailable', store: ctx.store.dialect, reason });
      }
    } catch {
      return reply.status(503).send({ status: 'unavailable', store: ctx.store.dialect, reason: 'store unreachable' });
    }
    return { status: 'ready', store: ctx.store.dialect };
  });
};
