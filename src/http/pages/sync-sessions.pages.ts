/** /sync-sessions and /sync-sessions/:id: shells; the client module lists, pages and polls GET /api/sync-sessions[/:id]. */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { t } from '../../client/shared/i18n/index.js';
import { renderPage, requestLocale } from './render.js';

export const syncSessionPages =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tz = ctx.config.timeZone;
    app.get('/sync-sessions', { config: { access: 'viewer' }, schema: { hide: true, summary: 'Sync sessions page' } }, async (req, reply) =>
      renderPage(req, reply, tz, 'sync-sessions', { title: t(requestLocale(req), 'nav.sync_sessions'), nav: 'sync_sessions', script: 'sync-sessions' }),
    );
    app.get(
      '/sync-sessions/:id',
      {
        config: { access: 'viewer' },
        schema: { hide: true, summary: 'Sync session detail page', params: Type.Object({ id: Type.String({ format: 'uuid' }) }) },
      },
      async (req, reply) => {
        const session = await ctx.capacity.session(req.params.id); // 404 page when unknown
        return renderPage(req, reply, tz, 'sync-session', {
          title: t(requestLocale(req), 'sessions.detail_title'),
          nav: 'sync_sessions',
          script: 'sync-session',
          sessionId: session.session_id,
        });
      },
    );
  };
